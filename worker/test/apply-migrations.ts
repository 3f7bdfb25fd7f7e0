/**
 * Setup file of the workerd test project: applies worker/migrations to the test D1 database
 * (read in Node by vitest.config.ts, passed in as the TEST_MIGRATIONS binding). Idempotent:
 * applied migrations are recorded in d1_migrations.
 */
import { applyD1Migrations } from 'cloudflare:test';
import { env } from 'cloudflare:workers';

await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
