// One Vitest run for the whole repository: the Node-side packages, the worker inside workerd
// (@cloudflare/vitest-pool-workers: real D1, R2 and Durable Objects from wrangler.toml,
// with test-sized limits below), and the cross-package end-to-end tests under test/ (Node,
// `wrangler dev` + the real runner client).
import { defineConfig } from 'vitest/config';
import { cloudflareTest, readD1Migrations } from '@cloudflare/vitest-pool-workers';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'node',
          include: [
            'mask-store/test/**/*.test.ts',
            'contract/test/**/*.test.ts',
            'gpu-runner/test/**/*.test.ts',
            'client/test/**/*.test.ts',
            'cli/test/**/*.test.ts',
            'trainer/test/**/*.test.ts',
            'worker/test/unit/**/*.test.ts',
          ],
          environment: 'node',
          testTimeout: 60_000,
        },
      },
      {
        plugins: [
          cloudflareTest(async () => ({
            wrangler: { configPath: './wrangler.toml' },
            miniflare: {
              bindings: {
                TEST_MIGRATIONS: await readD1Migrations('./worker/migrations'),
                ADMIN_KEY: 'test-admin-key',
                RUNNER_TOKEN: 'test-runner-token',
                // Small enough that the limit tests stay small and the timer tests fast.
                MAX_BANK_BYTES: '65536',
                MAX_JSON_BYTES: '65536',
                MAX_PROMPT_CHARS: '200',
                QUEUE_LIMIT: '3',
                JOB_TIMEOUT_MS: '4000',
                RUNNER_HEARTBEAT_TIMEOUT_MS: '1500',
                SSE_KEEPALIVE_MS: '250',
                MAX_DELTA_WEIGHTS: '100000',
                LOG_LEVEL: 'error',
              },
            },
          })),
        ],
        test: {
          name: 'workerd',
          include: ['worker/test/**/*.test.ts'],
          exclude: ['worker/test/unit/**'],
          setupFiles: ['./worker/test/apply-migrations.ts'],
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/**/*.test.ts'],
          environment: 'node',
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
