/**
 * Authentication and the checks built on it. `authenticate()` reads `Authorization: Bearer`
 * once per request and sets the caller: the admin (ADMIN_KEY), a runner (RUNNER_TOKEN), a
 * tenant (an `mk_` API key, found by its lookup prefix and confirmed by comparing SHA-256
 * digests in constant time), or anonymous when no token is sent. A token that is sent but
 * matches nothing is a 401 everywhere, even on routes that allow anonymous reads.
 */
import type { Context, MiddlewareHandler } from 'hono';
import type { AppEnv, Principal, TenantPrincipal } from './context';
import { API_KEY_PATTERN, apiKeyLookup, constantTimeEqual, secretMatches, sha256Text } from './crypto';
import { ApiError } from './errors';

const CHALLENGE = { 'WWW-Authenticate': 'Bearer realm="maskunet"' };

function unauthorized(message: string): ApiError {
  return new ApiError(401, 'unauthorized', message, CHALLENGE);
}

interface KeyRow {
  id: string;
  tenant_id: string;
  key_hash: string;
  jobs_per_minute: number | null;
  bank_bytes_quota: number | null;
}

async function resolveToken(env: Env, token: string): Promise<Principal | null> {
  if (API_KEY_PATTERN.test(token)) {
    const presentedHash = await sha256Text(token);
    const { results } = await env.DB.prepare(
      `SELECT k.id, k.tenant_id, k.key_hash, t.jobs_per_minute, t.bank_bytes_quota
         FROM api_keys k JOIN tenants t ON t.id = k.tenant_id
        WHERE k.lookup = ? AND k.revoked_at IS NULL`,
    )
      .bind(apiKeyLookup(token))
      .all<KeyRow>();
    for (const row of results) {
      if (constantTimeEqual(row.key_hash, presentedHash)) {
        return {
          kind: 'tenant',
          tenantId: row.tenant_id,
          keyId: row.id,
          jobsPerMinute: row.jobs_per_minute,
          bankBytesQuota: row.bank_bytes_quota,
        };
      }
    }
    return null;
  }
  // Both secrets are always compared, so timing does not say which one nearly matched.
  const [admin, runner] = await Promise.all([
    secretMatches(token, env.ADMIN_KEY),
    secretMatches(token, env.RUNNER_TOKEN),
  ]);
  if (admin) return { kind: 'admin' };
  if (runner) return { kind: 'runner' };
  return null;
}

/** Sets `principal` from the Authorization header; refuses malformed or unknown tokens. */
export function authenticate(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const header = c.req.header('Authorization');
    if (header === undefined) {
      c.set('principal', { kind: 'anonymous' });
      return next();
    }
    const match = /^Bearer\s+(\S{1,512})$/i.exec(header.trim());
    if (match === null) throw unauthorized('Authorization must be "Bearer <token>"');
    const principal = await resolveToken(c.env, match[1]!);
    if (principal === null) throw unauthorized('unknown or revoked token');
    c.set('principal', principal);
    return next();
  };
}

/** The calling tenant, or 401 (no token) / 403 (admin or runner token). */
export function requireTenant(c: Context<AppEnv>): TenantPrincipal {
  const principal = c.get('principal');
  if (principal.kind === 'tenant') return principal;
  if (principal.kind === 'anonymous') throw unauthorized('this route needs a tenant API key');
  throw new ApiError(403, 'forbidden', 'this route needs a tenant API key');
}

export function requireAdmin(c: Context<AppEnv>): void {
  const principal = c.get('principal');
  if (principal.kind === 'admin') return;
  if (principal.kind === 'anonymous') throw unauthorized('this route needs the admin key');
  throw new ApiError(403, 'forbidden', 'this route needs the admin key');
}

export function requireRunner(c: Context<AppEnv>): void {
  const principal = c.get('principal');
  if (principal.kind === 'runner') return;
  if (principal.kind === 'anonymous') throw unauthorized('this route needs the runner token');
  throw new ApiError(403, 'forbidden', 'this route needs the runner token');
}

/** Any authenticated caller (tenant, admin or runner). */
export function requireAuthenticated(c: Context<AppEnv>): Exclude<Principal, { kind: 'anonymous' }> {
  const principal = c.get('principal');
  if (principal.kind === 'anonymous') throw unauthorized('this route needs a bearer token');
  return principal;
}
