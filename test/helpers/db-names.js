// Where tests find PostgreSQL and Redis. Override with TEST_DATABASE_URL /
// TEST_REDIS_URL; the defaults are the local services of a development machine.
const TEMPLATE_DB = 'zaphub_test_template';
const adminUrl = () => process.env.TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const redisUrl = () => process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
module.exports = { TEMPLATE_DB, adminUrl, redisUrl };
