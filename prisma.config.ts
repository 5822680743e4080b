import { defineConfig } from 'prisma/config';

// Prisma 7 does not read .env by itself, and env('DATABASE_URL') throws when the
// variable is unset, even for `prisma generate`: fall back to the local default.
export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: {
    url: process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/zaphub',
  },
});
