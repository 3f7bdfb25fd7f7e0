// One Vitest run for the Node-side packages; the worker's workerd project joins this list
// when the worker package gains its tests (it needs @cloudflare/vitest-pool-workers).
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'node',
          include: ['mask-store/test/**/*.test.ts', 'gpu-runner/test/**/*.test.ts', 'client/test/**/*.test.ts'],
          environment: 'node',
          testTimeout: 60_000,
        },
      },
    ],
  },
});
