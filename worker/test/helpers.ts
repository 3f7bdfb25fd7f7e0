/**
 * Shared pieces of the workerd tests: requests through the real worker entry (the same
 * module instance that `SELF` and the Durable Object bindings use), tenants and models
 * created through the API itself, and small deterministic banks built with mask-store's
 * encoder inside workerd.
 */
import { exports } from 'cloudflare:workers';
import { encodeBank, type MaskBank, type MaskLayout } from '@maskunet/mask-store';
import type { CreateTenantResponse, Model } from '@maskunet/contract';

export const ADMIN_KEY = 'test-admin-key';
export const RUNNER_TOKEN = 'test-runner-token';
export const BASE = 'https://edge.test';

export interface CallOptions {
  token?: string | null;
  json?: unknown;
  body?: BodyInit;
  headers?: Record<string, string>;
}

export async function call(method: string, path: string, options: CallOptions = {}): Promise<Response> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== undefined && options.token !== null)
    headers.Authorization = `Bearer ${options.token}`;
  let body = options.body;
  if (options.json !== undefined) {
    headers['Content-Type'] ??= 'application/json';
    body = JSON.stringify(options.json);
  }
  return exports.default.fetch(new Request(`${BASE}${path}`, { method, headers, body }));
}

/** JSON body of a response, typed by the caller (tests assert on its fields). */
export function json<T = Record<string, unknown>>(res: Response): Promise<T> {
  return res.json<T>();
}

export async function errorCode(res: Response): Promise<string> {
  return (await json<{ error: { code: string } }>(res)).error.code;
}

let counter = 0;
/** A name unique within the test file (storage is shared across the tests of one file). */
export function unique(prefix: string): string {
  counter += 1;
  return `${prefix}-${counter}-${Math.random().toString(36).slice(2, 8)}`;
}

export interface TestTenant {
  readonly id: string;
  readonly apiKey: string;
}

export async function createTenant(limits?: {
  jobsPerMinute?: number;
  bankBytesQuota?: number;
}): Promise<TestTenant> {
  const res = await call('POST', '/v1/tenants', {
    token: ADMIN_KEY,
    json: { name: unique('tenant'), limits },
  });
  if (res.status !== 201) throw new Error(`tenant creation failed: ${res.status} ${await res.text()}`);
  const body = await json<CreateTenantResponse>(res);
  return { id: body.tenant.id, apiKey: body.apiKey };
}

export const SMALL_LAYOUT: MaskLayout = {
  layers: [
    { name: 'up_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q', shape: [8, 16] },
    { name: 'up_blocks.1.attentions.0.transformer_blocks.0.attn1.to_k', shape: [4, 8] },
  ],
};

export const OTHER_LAYOUT: MaskLayout = {
  layers: [{ name: 'up_blocks.2.attentions.0.transformer_blocks.0.attn1.to_q', shape: [8, 8] }],
};

export async function registerModel(layout: MaskLayout = SMALL_LAYOUT, id = unique('model')): Promise<Model> {
  const res = await call('POST', '/v1/models', {
    token: ADMIN_KEY,
    json: { id, layout, config: { sampleSize: 64, bucketEdges: [0, 500, 1000] } },
  });
  if (res.status !== 201) throw new Error(`model registration failed: ${res.status} ${await res.text()}`);
  return json<Model>(res);
}

/** Deterministic pseudo-random masks (mulberry32), `keep` = probability of a 1. */
function masks(layout: MaskLayout, buckets: number, seed: number, keep: number): Uint8Array[][] {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return Array.from({ length: buckets }, () =>
    layout.layers.map((layer) => {
      const mask = new Uint8Array(layer.shape[0] * layer.shape[1]);
      for (let i = 0; i < mask.length; i++) mask[i] = next() < keep ? 1 : 0;
      return mask;
    }),
  );
}

export async function makeBank(
  options: { layout?: MaskLayout; seed?: number; buckets?: number; keep?: number; parent?: MaskBank } = {},
): Promise<MaskBank> {
  const layout = options.layout ?? SMALL_LAYOUT;
  const buckets = options.buckets ?? 2;
  return encodeBank(
    { layout, masks: masks(layout, buckets, options.seed ?? 1, options.keep ?? 0.8), modelId: 'test' },
    options.parent === undefined ? {} : { parent: options.parent },
  );
}

export async function createVariant(
  tenant: TestTenant,
  model: string,
  visibility: 'private' | 'public' = 'private',
): Promise<string> {
  const res = await call('POST', '/v1/variants', {
    token: tenant.apiKey,
    json: { model, name: unique('variant'), visibility },
  });
  if (res.status !== 201) throw new Error(`variant creation failed: ${res.status} ${await res.text()}`);
  return (await json<{ id: string }>(res)).id;
}

export async function uploadBank(
  tenant: TestTenant,
  variantId: string,
  bytes: Uint8Array,
): Promise<Response> {
  return call('POST', `/v1/variants/${variantId}/banks`, {
    token: tenant.apiKey,
    body: new Uint8Array(bytes),
    headers: { 'Content-Type': 'application/octet-stream' },
  });
}

export async function bytesOf(res: Response): Promise<Uint8Array> {
  return new Uint8Array(await res.arrayBuffer());
}
