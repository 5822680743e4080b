const base = require('./jest.base');

/**
 * Integration tests: real PostgreSQL and Redis. Each file gets its own database
 * (cloned from a migrated template) and its own Redis key prefix, so files run
 * in parallel. The global setup also compiles the application into dist-test/
 * for the tests that run it as a process (SIGTERM, bad config).
 */
module.exports = {
  ...base,
  testRegex: 'test/integration/.*\\.int-spec\\.ts$',
  globalSetup: '<rootDir>/test/helpers/global-setup-integration.js',
  testTimeout: 60000,
  maxWorkers: 2,
};
