const base = require('./jest.base');

/** End-to-end tests over HTTP (and real Baileys against the sandbox). */
module.exports = {
  ...base,
  testRegex: 'test/e2e/.*\\.e2e-spec\\.ts$',
  globalSetup: '<rootDir>/test/helpers/global-setup.js',
  testTimeout: 90000,
  maxWorkers: 2,
};
