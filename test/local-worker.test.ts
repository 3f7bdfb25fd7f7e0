/** The local worker launcher refuses a busy port instead of talking to whatever listens there. */
import { createServer } from 'node:net';
import { startLocalWorker } from '@maskunet/cli/local';
import { describe, expect, it } from 'vitest';
import { freePort } from './helpers';

describe('startLocalWorker', () => {
  it('rejects a port something already listens on, before starting wrangler', async () => {
    const port = await freePort();
    const squatter = createServer();
    await new Promise<void>((resolve) => squatter.listen(port, '127.0.0.1', resolve));
    try {
      await expect(startLocalWorker({ port, stdio: 'ignore' })).rejects.toThrow(
        `port ${port} on 127.0.0.1 is already in use`,
      );
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
  });
});
