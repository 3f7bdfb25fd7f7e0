/**
 * Secrets and identifiers: random ids (`ten_…`, `var_…`, `job_…`, `key_…`), API keys
 * (`mk_` + 43 base64url characters = 256 random bits), their SHA-256 digests, and a
 * constant-time comparison so a failed check takes as long as a successful one.
 */
import { sha256Hex } from '@maskunet/mask-store';

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

/** `prefix_` + 26 base32 characters (130 random bits). */
export function randomId(prefix: 'ten' | 'var' | 'job' | 'key' | 'req'): string {
  const bytes = crypto.getRandomValues(new Uint8Array(26));
  let out = `${prefix}_`;
  for (const byte of bytes) out += BASE32[byte & 31];
  return out;
}

function base64Url(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** The shape every key has; anything else is refused before hashing. */
export const API_KEY_PATTERN = /^mk_[A-Za-z0-9_-]{43}$/;

/** Characters of the key after `mk_` used as a database lookup index (not as the secret). */
const LOOKUP_CHARS = 12;

export function generateApiKey(): string {
  return `mk_${base64Url(crypto.getRandomValues(new Uint8Array(32)))}`;
}

export function apiKeyLookup(apiKey: string): string {
  return apiKey.slice(3, 3 + LOOKUP_CHARS);
}

export async function sha256Text(text: string): Promise<string> {
  return sha256Hex(new TextEncoder().encode(text));
}

/** Equality of two strings whose running time depends only on their lengths. */
export function constantTimeEqual(a: string, b: string): boolean {
  const length = Math.max(a.length, b.length);
  let diff = a.length ^ b.length;
  for (let i = 0; i < length; i++) diff |= (a.charCodeAt(i) || 0) ^ (b.charCodeAt(i) || 0);
  return diff === 0;
}

/** Compares a presented secret with the configured one through their digests (equal lengths). */
export async function secretMatches(presented: string, configured: string | undefined): Promise<boolean> {
  if (configured === undefined || configured.length === 0) return false;
  const [left, right] = await Promise.all([sha256Text(presented), sha256Text(configured)]);
  return constantTimeEqual(left, right);
}
