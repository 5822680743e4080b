// Offline-capable `prisma migrate deploy | dev | diff`.
//
// The Prisma CLI downloads a native schema engine on first use, which fails on
// machines without internet. This script drives Prisma's own WebAssembly schema
// engine (@prisma/schema-engine-wasm, pinned to the CLI's engine hash) through
// the @prisma/adapter-pg driver adapter instead, so the same path works offline,
// in CI and in the Docker image.
//
//   node scripts/prisma-migrate.mjs deploy            apply pending migrations
//   node scripts/prisma-migrate.mjs dev --name <n>    create + apply a migration from schema changes
//   node scripts/prisma-migrate.mjs diff              print the SQL of the whole schema
//
// Reads DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/zaphub) and
// creates the database when it does not exist yet.
import { readFileSync, readdirSync, existsSync, mkdirSync, writeFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { PrismaPg } from '@prisma/adapter-pg';
import { bindMigrationAwareSqlAdapterFactory } from '@prisma/driver-adapter-utils';
import * as wasmBindings from '@prisma/schema-engine-wasm/schema_engine_bg';

const require = createRequire(import.meta.url);
const root = process.cwd();
const schemaPath = path.join(root, 'prisma', 'schema.prisma');
const migrationsDir = path.join(root, 'prisma', 'migrations');
const databaseUrl = process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/zaphub';

// @prisma/adapter-pg 7.10 cannot deserialize Postgres' internal "char" type
// (OID 18), which the engine's introspection queries return (pg_class.relkind).
// pg already delivers those values as strings, so report them as text (OID 25).
const PgResult = require('pg/lib/result.js');
const originalAddFields = PgResult.prototype.addFields;
PgResult.prototype.addFields = function addFields(fields) {
  for (const field of fields) if (field.dataTypeID === 18) field.dataTypeID = 25;
  return originalAddFields.call(this, fields);
};

function loadEngine() {
  const dir = path.dirname(require.resolve('@prisma/schema-engine-wasm/schema_engine_bg'));
  const module = new WebAssembly.Module(readFileSync(path.join(dir, 'schema_engine_bg.wasm')));
  const instance = new WebAssembly.Instance(module, { './schema_engine_bg.js': wasmBindings });
  wasmBindings.__wbg_set_wasm(instance.exports);
  instance.exports.__wbindgen_start();
}

// Discrete fields rather than a connection string: the shadow database is
// reached by overriding `database`, which a connection string would win over.
function pgConfig() {
  const url = new URL(databaseUrl);
  return {
    host: url.hostname,
    port: Number(url.port || 5432),
    user: decodeURIComponent(url.username || 'postgres'),
    password: url.password ? decodeURIComponent(url.password) : undefined,
    database: decodeURIComponent(url.pathname.slice(1)),
  };
}

async function onAdminDb(cfg, sql, params = []) {
  const client = new pg.Client({ ...cfg, database: 'postgres' });
  await client.connect();
  try {
    return await client.query(sql, params);
  } finally {
    await client.end();
  }
}

async function ensureDatabase(cfg) {
  const found = await onAdminDb(cfg, 'SELECT 1 FROM pg_database WHERE datname = $1', [cfg.database]);
  if (found.rowCount === 0) {
    await onAdminDb(cfg, `CREATE DATABASE "${cfg.database.replaceAll('"', '""')}"`).catch((e) => {
      // Created concurrently by another replica: 42P04, or 23505 when both
      // CREATE DATABASE statements ran at the same moment.
      if (e.code !== '42P04' && e.code !== '23505') throw e;
    });
    console.log(`created database ${cfg.database}`);
  }
}

function migrationsList() {
  const dirs = existsSync(migrationsDir)
    ? readdirSync(migrationsDir).filter((d) => statSync(path.join(migrationsDir, d)).isDirectory()).sort()
    : [];
  const lockPath = path.join(migrationsDir, 'migration_lock.toml');
  return {
    baseDir: migrationsDir,
    lockfile: { path: 'migration_lock.toml', content: existsSync(lockPath) ? readFileSync(lockPath, 'utf8') : null },
    shadowDbInitScript: '',
    migrationDirectories: dirs.map((dir) => {
      const file = path.join(migrationsDir, dir, 'migration.sql');
      return {
        path: dir,
        migrationFile: {
          path: 'migration.sql',
          content: existsSync(file)
            ? { tag: 'ok', value: readFileSync(file, 'utf8') }
            : { tag: 'error', value: 'missing migration.sql' },
        },
      };
    }),
  };
}

const openAdapters = [];

// PrismaPg 7.10 drops its shadow database before closing that database's pool
// ("is being accessed by other users"), so the shadow database is managed here.
function adapterFactory(cfg) {
  const main = new PrismaPg(cfg);
  return {
    provider: main.provider,
    adapterName: main.adapterName,
    async connect() {
      const adapter = await main.connect();
      openAdapters.push(adapter);
      return adapter;
    },
    async connectToShadowDb() {
      const name = `prisma_migrate_shadow_db_${randomUUID().replaceAll('-', '')}`;
      await onAdminDb(cfg, `CREATE DATABASE "${name}"`);
      const shadow = await new PrismaPg({ ...cfg, database: name }).connect();
      const dispose = shadow.dispose.bind(shadow);
      shadow.dispose = async () => {
        await dispose();
        await onAdminDb(cfg, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      };
      return shadow;
    },
  };
}

const filters = { externalTables: [], externalEnums: [] };

async function main() {
  const [command, ...rest] = process.argv.slice(2);
  const cfg = pgConfig();
  await ensureDatabase(cfg);
  loadEngine();
  const schema = readFileSync(schemaPath, 'utf8');
  const engine = await wasmBindings.SchemaEngine.new(
    { datamodels: [[schemaPath, schema]] },
    (log) => process.env.DEBUG && console.error(log),
    bindMigrationAwareSqlAdapterFactory(adapterFactory(cfg)),
  );
  try {
    if (command === 'deploy') {
      const { appliedMigrationNames } = await engine.applyMigrations({ migrationsList: migrationsList(), filters });
      console.log(appliedMigrationNames.length ? `applied: ${appliedMigrationNames.join(', ')}` : 'no pending migrations');
    } else if (command === 'dev') {
      const name = rest[rest.indexOf('--name') + 1] ?? 'migration';
      const diagnostic = await engine.devDiagnostic({ migrationsList: migrationsList(), filters });
      if (diagnostic.action.tag === 'reset') throw new Error(`database needs a reset: ${diagnostic.action.reason}`);
      await engine.applyMigrations({ migrationsList: migrationsList(), filters });
      const out = await engine.createMigration({
        draft: false,
        migrationName: name,
        migrationsList: migrationsList(),
        schema: { files: [{ path: schemaPath, content: schema }] },
        filters,
      });
      if (out.migrationScript === null) {
        console.log('already in sync, no migration created');
      } else {
        const dir = path.join(migrationsDir, out.generatedMigrationName);
        mkdirSync(dir, { recursive: true });
        writeFileSync(path.join(dir, `migration.${out.extension}`), out.migrationScript);
        const lock = path.join(migrationsDir, 'migration_lock.toml');
        if (!existsSync(lock)) writeFileSync(lock, `# Please do not edit this file manually\nprovider = "${out.connectorType}"\n`);
        const { appliedMigrationNames } = await engine.applyMigrations({ migrationsList: migrationsList(), filters });
        console.log(`created and applied: ${appliedMigrationNames.join(', ')}`);
      }
    } else if (command === 'diff') {
      const res = await engine.diff({
        from: { tag: 'empty' },
        to: { tag: 'schemaDatamodel', files: [{ path: schemaPath, content: schema }] },
        script: true,
        shadowDatabaseUrl: null,
        exitCode: null,
        filters,
      });
      process.stdout.write(res.stdout ?? '');
    } else {
      throw new Error('usage: prisma-migrate.mjs deploy | dev --name <name> | diff');
    }
  } finally {
    engine.free?.();
    await Promise.all(openAdapters.map((a) => a.dispose()));
  }
}

// Exit explicitly: pools held inside the engine would keep the process alive ~10 s.
main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
