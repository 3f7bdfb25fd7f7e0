/**
 * The typed SDK (browsers and Node): one `MaskUnetClient` per API key, methods per route of
 * the worker's API v1, errors as `MaskUnetApiError` carrying the server's stable code. Types
 * come from `@maskunet/contract` (`import type` only, so neither zod nor the schemas are
 * bundled into a page that uses the SDK).
 */
import type {
  CreateTenantResponse,
  GenerateEvents,
  GenerateRequest,
  Job,
  UploadBankResponse,
  Variant,
  VariantList,
  Visibility,
} from '@maskunet/contract';
import { CodedError } from '@maskunet/mask-store';
import { readSse } from './sse';

export class MaskUnetApiError extends CodedError {
  override readonly name = 'MaskUnetApiError';
  constructor(
    readonly status: number,
    code: string,
    message: string,
    readonly retryAfterSeconds: number | null = null,
  ) {
    super(code, `${status} ${code}: ${message}`, { prefixCode: false });
  }
}

/** The body of POST /v1/generate (optional fields may be left out or null). */
export type GenerateParams = Readonly<GenerateRequest>;

export type GenerateEvent = {
  [E in keyof GenerateEvents]: { event: E; data: GenerateEvents[E] };
}[keyof GenerateEvents];

export interface ClientOptions {
  readonly baseUrl: string;
  readonly apiKey: string;
  readonly fetch?: typeof fetch;
}

export class MaskUnetClient {
  private readonly baseUrl: string;
  private readonly fetcher: typeof fetch;

  constructor(private readonly options: ClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/$/, '');
    this.fetcher = options.fetch ?? fetch.bind(globalThis);
  }

  /** Sends a request with the key; throws MaskUnetApiError for any non-2xx/304 answer. */
  async request(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    headers.set('authorization', `Bearer ${this.options.apiKey}`);
    const response = await this.fetcher(`${this.baseUrl}${path}`, { ...init, headers });
    if (response.ok || response.status === 304) return response;
    let code = 'http_error';
    let message = response.statusText;
    try {
      const body = (await response.json()) as { error?: { code?: string; message?: string } };
      code = body.error?.code ?? code;
      message = body.error?.message ?? message;
    } catch {
      // Not a JSON error body (a proxy's page): keep the status text.
    }
    const retry = response.headers.get('retry-after');
    throw new MaskUnetApiError(response.status, code, message, retry === null ? null : Number(retry));
  }

  async json<T>(path: string, init: RequestInit = {}): Promise<T> {
    const headers = new Headers(init.headers);
    if (init.body !== undefined && !headers.has('content-type'))
      headers.set('content-type', 'application/json');
    return (await (await this.request(path, { ...init, headers })).json()) as T;
  }

  createTenant(name: string): Promise<CreateTenantResponse> {
    return this.json('/v1/tenants', { method: 'POST', body: JSON.stringify({ name }) });
  }

  registerModel(body: { id: string; layout: unknown; config: unknown }): Promise<unknown> {
    return this.json('/v1/models', { method: 'POST', body: JSON.stringify(body) });
  }

  createVariant(model: string, name: string, visibility: Visibility = 'private'): Promise<Variant> {
    return this.json('/v1/variants', { method: 'POST', body: JSON.stringify({ model, name, visibility }) });
  }

  listVariants(): Promise<VariantList> {
    return this.json('/v1/variants');
  }

  uploadBank(variantId: string, bank: Uint8Array): Promise<UploadBankResponse> {
    return this.json(`/v1/variants/${encodeURIComponent(variantId)}/banks`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: bank as Uint8Array<ArrayBuffer>,
    });
  }

  async downloadBank(bankId: string, from?: string): Promise<Uint8Array> {
    const query = from === undefined ? '' : `?from=${encodeURIComponent(from)}`;
    return new Uint8Array(await (await this.request(`/v1/banks/${bankId}${query}`)).arrayBuffer());
  }

  /** Generates with SSE progress; yields every event and ends after `done` or `error`. */
  async *generateEvents(params: GenerateParams, signal?: AbortSignal): AsyncGenerator<GenerateEvent> {
    const response = await this.request('/v1/generate', {
      method: 'POST',
      headers: { accept: 'text/event-stream', 'content-type': 'application/json' },
      body: JSON.stringify(params),
      ...(signal === undefined ? {} : { signal }),
    });
    if (response.body === null)
      throw new MaskUnetApiError(response.status, 'no_stream', 'the server sent no event stream');
    for await (const message of readSse(response.body)) {
      const event = { event: message.event, data: JSON.parse(message.data) as unknown } as GenerateEvent;
      yield event;
      if (event.event === 'done' || event.event === 'error') return;
    }
  }

  /** Generates and returns the PNG, reporting progress; throws on an `error` event. */
  async generate(
    params: GenerateParams,
    onEvent?: (event: GenerateEvent) => void,
  ): Promise<{ jobId: string; png: Uint8Array; done: GenerateEvents['done'] }> {
    for await (const event of this.generateEvents(params)) {
      onEvent?.(event);
      if (event.event === 'error') throw new MaskUnetApiError(500, event.data.code, event.data.message);
      if (event.event === 'done') {
        const url = event.data.imageUrl;
        const path = /^https?:/.test(url) ? new URL(url).pathname : url;
        const png = new Uint8Array(await (await this.request(path)).arrayBuffer());
        return { jobId: event.data.jobId, png, done: event.data };
      }
    }
    throw new MaskUnetApiError(502, 'stream_ended', 'the event stream ended before the job finished');
  }

  getJob(jobId: string): Promise<Job> {
    return this.json(`/v1/jobs/${encodeURIComponent(jobId)}`);
  }
}
