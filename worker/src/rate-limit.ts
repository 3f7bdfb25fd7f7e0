/**
 * Per-tenant job rate limit: a fixed one-minute window counted in D1 with one atomic upsert
 * that only increments while under the limit, so concurrent requests on different isolates
 * cannot overshoot it. A refused request gets the seconds until the window rolls over.
 */
const WINDOW_MS = 60_000;

export type RateDecision = { readonly ok: true } | { readonly ok: false; readonly retryAfterSeconds: number };

export async function takeJobSlot(
  db: D1Database,
  tenantId: string,
  perMinute: number,
  now = Date.now(),
): Promise<RateDecision> {
  const windowStart = now - (now % WINDOW_MS);
  const [, taken] = await db.batch<{ count: number }>([
    db
      .prepare(`DELETE FROM rate_windows WHERE tenant_id = ? AND window_start < ?`)
      .bind(tenantId, windowStart),
    db
      .prepare(
        `INSERT INTO rate_windows (tenant_id, window_start, count) VALUES (?1, ?2, 1)
         ON CONFLICT (tenant_id, window_start) DO UPDATE SET count = count + 1 WHERE count < ?3
         RETURNING count`,
      )
      .bind(tenantId, windowStart, perMinute),
  ]);
  if ((taken?.results.length ?? 0) > 0) return { ok: true };
  return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((windowStart + WINDOW_MS - now) / 1000)) };
}
