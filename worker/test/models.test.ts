/**
 * Base models: admin registration (idempotent for identical input, 409 for a change),
 * reading with the layout hash and runner summary, and input validation.
 */
import { describe, expect, it } from 'vitest';
import { layoutHash } from '@maskunet/mask-store';
import type { Model } from '@maskunet/contract';
import {
  ADMIN_KEY,
  RUNNER_TOKEN,
  SMALL_LAYOUT,
  OTHER_LAYOUT,
  call,
  createTenant,
  errorCode,
  json,
  unique,
} from './helpers';

const config = { sampleSize: 64, bucketEdges: [0, 500, 1000] };

describe('models', () => {
  it('registers a model and reads it back with its layout hash and no runners', async () => {
    const id = unique('sd');
    const res = await call('POST', '/v1/models', {
      token: ADMIN_KEY,
      json: { id, layout: SMALL_LAYOUT, config },
    });
    expect(res.status).toBe(201);
    const model = await json<Model>(res);
    expect(model).toMatchObject({
      id,
      layoutHash: await layoutHash(SMALL_LAYOUT),
      bucketEdges: [0, 500, 1000],
      sampleSize: 64,
      timesteps: 1000,
      runners: { count: 0, backends: [] },
    });
    expect(model.layout.layers).toHaveLength(2);

    const tenant = await createTenant();
    const one = await call('GET', `/v1/models/${id}`, { token: tenant.apiKey });
    expect(one.status).toBe(200);
    expect(await json<Model>(one)).toEqual(model);
    const list = await call('GET', '/v1/models', { token: RUNNER_TOKEN });
    expect((await json<{ models: Model[] }>(list)).models.map((m) => m.id)).toContain(id);
  });

  it('is idempotent for identical input and refuses a change with 409', async () => {
    const id = unique('sd');
    expect(
      (await call('POST', '/v1/models', { token: ADMIN_KEY, json: { id, layout: SMALL_LAYOUT, config } }))
        .status,
    ).toBe(201);
    const same = await call('POST', '/v1/models', {
      token: ADMIN_KEY,
      json: { id, layout: SMALL_LAYOUT, config },
    });
    expect(same.status).toBe(200);
    const changed = await call('POST', '/v1/models', {
      token: ADMIN_KEY,
      json: { id, layout: OTHER_LAYOUT, config },
    });
    expect(changed.status).toBe(409);
    expect(await errorCode(changed)).toBe('model_exists');
  });

  it('validates id, layout and config', async () => {
    const cases: unknown[] = [
      { id: 'has space', layout: SMALL_LAYOUT, config },
      { id: unique('m'), layout: { layers: [] }, config },
      { id: unique('m'), layout: { layers: [{ name: 'a', shape: [0, 4] }] }, config },
      { id: unique('m'), layout: SMALL_LAYOUT, config: {} },
      { id: unique('m'), layout: SMALL_LAYOUT, config: { sampleSize: 64, bucketEdges: [0, 700, 600, 1000] } },
      { id: unique('m'), layout: SMALL_LAYOUT, config: { sampleSize: 64, bucketEdges: [0, 999] } },
    ];
    for (const body of cases) {
      const res = await call('POST', '/v1/models', { token: ADMIN_KEY, json: body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(await errorCode(res)).toBe('invalid_request');
    }
  });

  it('needs the admin key to register and any key to read', async () => {
    const tenant = await createTenant();
    const asTenant = await call('POST', '/v1/models', {
      token: tenant.apiKey,
      json: { id: unique('m'), layout: SMALL_LAYOUT, config },
    });
    expect(asTenant.status).toBe(403);
    expect((await call('GET', '/v1/models')).status).toBe(401);
    const missing = await call('GET', '/v1/models/nope', { token: tenant.apiKey });
    expect(missing.status).toBe(404);
    expect(await errorCode(missing)).toBe('model_not_found');
  });
});
