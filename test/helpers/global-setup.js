// Migrates the template database once per Jest run; each test file then clones
// it (CREATE DATABASE ... TEMPLATE), which takes milliseconds.
const { execFileSync } = require('node:child_process');
const path = require('node:path');
const { adminUrl, TEMPLATE_DB } = require('./db-names');

module.exports = async () => {
  const url = new URL(adminUrl());
  url.pathname = `/${TEMPLATE_DB}`;
  execFileSync(process.execPath, [path.join(__dirname, '..', '..', 'scripts', 'prisma-migrate.mjs'), 'deploy'], {
    env: { ...process.env, DATABASE_URL: url.toString() },
    stdio: 'pipe',
    cwd: path.join(__dirname, '..', '..'),
  });
};
