const base = require('./jest.base');

/** Unit tests live beside the code as *.spec.ts and need no PostgreSQL or Redis. */
module.exports = { ...base, testRegex: 'src/.*\\.spec\\.ts$' };
