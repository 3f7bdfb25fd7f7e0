// Test-only bindings (declared in the root vitest.config.ts, not in wrangler.toml).
declare namespace Cloudflare {
  interface Env {
    TEST_MIGRATIONS: import('cloudflare:test').D1Migration[];
  }
}
