/**
 * Runtime checks of what runners send. A runner is trusted with jobs but its messages are
 * still parsed field by field: a malformed message closes the socket with a protocol error
 * instead of corrupting the dispatcher's state. Returns the typed message or a reason.
 */
import type { RunnerToDispatcher } from '../contract/runner-protocol';

const RUNNER_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const BANK_ID = /^[0-9a-f]{64}$/;
const CODE = /^[a-z0-9_]{1,64}$/;
/** Backend names such as `node-cpu`, `web-webgpu`. */
const BACKEND = /^[a-z0-9_-]{1,64}$/;
const MAX_BANKS = 4096;

type Parsed = { ok: true; message: RunnerToDispatcher } | { ok: false; reason: string };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isCount(value: unknown, min: number, max: number): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= min && value <= max;
}

function isBankList(value: unknown): value is string[] {
  return (
    Array.isArray(value) &&
    value.length <= MAX_BANKS &&
    value.every((id) => typeof id === 'string' && BANK_ID.test(id))
  );
}

function isTimings(value: unknown): boolean {
  if (!isRecord(value)) return false;
  const finite = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v) && v >= 0;
  return finite(value.bankFetchMs) && finite(value.stepsMs) && finite(value.encodeMs);
}

/** Parses one text frame. `maxChars` bounds the frame before JSON.parse touches it. */
export function parseRunnerMessage(text: string, maxChars: number): Parsed {
  if (text.length > maxChars) return { ok: false, reason: `message longer than ${maxChars} characters` };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'message is not JSON' };
  }
  if (!isRecord(value)) return { ok: false, reason: 'message is not an object' };
  const bad = (field: string): Parsed => ({ ok: false, reason: `${String(value.type)}.${field} is invalid` });
  const jobFields = (): Parsed | null => {
    if (typeof value.jobId !== 'string' || value.jobId.length > 64) return bad('jobId');
    if (!isCount(value.attempt, 1, 1000)) return bad('attempt');
    return null;
  };
  switch (value.type) {
    case 'hello':
      if (typeof value.runnerId !== 'string' || !RUNNER_ID.test(value.runnerId)) return bad('runnerId');
      if (typeof value.model !== 'string' || value.model.length > 64) return bad('model');
      if (typeof value.backend !== 'string' || !BACKEND.test(value.backend)) return bad('backend');
      if (!isCount(value.capacity, 1, 64)) return bad('capacity');
      if (!isBankList(value.banks)) return bad('banks');
      if (typeof value.protocol !== 'number') return bad('protocol');
      return { ok: true, message: value as unknown as RunnerToDispatcher };
    case 'heartbeat':
      if (typeof value.load !== 'number' || !(value.load >= 0 && value.load <= 1)) return bad('load');
      if (!isBankList(value.banks)) return bad('banks');
      return { ok: true, message: value as unknown as RunnerToDispatcher };
    case 'progress':
      return (
        jobFields() ??
        (!isCount(value.total, 1, 100_000)
          ? bad('total')
          : !isCount(value.step, 0, value.total)
            ? bad('step')
            : typeof value.timestep !== 'number' || !Number.isFinite(value.timestep)
              ? bad('timestep')
              : { ok: true, message: value as unknown as RunnerToDispatcher })
      );
    case 'result':
      return (
        jobFields() ??
        (typeof value.pngBase64 !== 'string'
          ? bad('pngBase64')
          : !isTimings(value.timings)
            ? bad('timings')
            : typeof value.backend !== 'string' || !BACKEND.test(value.backend)
              ? bad('backend')
              : { ok: true, message: value as unknown as RunnerToDispatcher })
      );
    case 'failed':
      return (
        jobFields() ??
        (typeof value.code !== 'string' || !CODE.test(value.code)
          ? bad('code')
          : typeof value.message !== 'string'
            ? bad('message')
            : typeof value.retryable !== 'boolean'
              ? bad('retryable')
              : { ok: true, message: value as unknown as RunnerToDispatcher })
      );
    default:
      return { ok: false, reason: `unknown message type ${JSON.stringify(value.type)}` };
  }
}

/** Decodes standard base64; null when it is not valid base64. */
export function decodeBase64(text: string): Uint8Array | null {
  try {
    const binary = atob(text);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes;
  } catch {
    return null;
  }
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

export function isPng(bytes: Uint8Array): boolean {
  return bytes.length > PNG_SIGNATURE.length && PNG_SIGNATURE.every((byte, i) => bytes[i] === byte);
}
