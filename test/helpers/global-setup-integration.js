// Integration tier: the migrated template database (global-setup.js) plus the
// compiled application for tests that run it as a real process.
const migrateTemplate = require('./global-setup');
const { buildForTests } = require('./build-for-tests');

module.exports = async () => {
  await migrateTemplate();
  buildForTests();
};
