/**
 * The Hono environment type of the app: the generated `Env` bindings (worker-configuration.d.ts)
 * and the per-request variables the middleware sets — request id, logger, caller identity.
 */
import type { Logger } from './log';

/** Who is calling, as established by the bearer token (or its absence). */
export type Principal =
  | { readonly kind: 'anonymous' }
  | { readonly kind: 'admin' }
  | { readonly kind: 'runner' }
  | {
      readonly kind: 'tenant';
      readonly tenantId: string;
      readonly keyId: string;
      readonly jobsPerMinute: number | null;
      readonly bankBytesQuota: number | null;
    };

export type TenantPrincipal = Extract<Principal, { kind: 'tenant' }>;

export interface AppEnv {
  Bindings: Env;
  Variables: {
    requestId: string;
    log: Logger;
    principal: Principal;
  };
}
