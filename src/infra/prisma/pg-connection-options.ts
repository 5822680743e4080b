/**
 * How every PostgreSQL pool of the process connects (Prisma's adapter and
 * the webhook deliveries' own pool). connectionTimeoutMillis bounds getting
 * a connection; query_timeout bounds a pooled connection whose server
 * stopped answering (without it a request hangs until TCP gives up, minutes
 * later). Both surface as errors the HTTP filter answers with 503 + Retry-After.
 */
export const PG_CONNECTION_OPTIONS = { connectionTimeoutMillis: 2000, query_timeout: 10_000, keepAlive: true } as const;
