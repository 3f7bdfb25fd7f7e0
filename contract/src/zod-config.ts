/**
 * Configures zod before any schema of the contract exists (every schema module imports this
 * first). `jitless`: zod 4 otherwise compiles a fast path for object schemas with
 * `new Function`, which Workers (and `wrangler dev`) refuse and strict browser CSPs report even
 * when the probe's throw is caught. Our messages are small, so the interpreted path costs
 * nothing that matters, and every runtime (workerd, Node runner, browser page) takes the same
 * path. The setting is process-wide (zod keeps it on `globalThis`); it only turns an
 * optimisation off, so other zod users in the same process lose nothing but that.
 *
 * The schema modules import zod as `import * as z from 'zod'`: a bundler can then keep only
 * the parts they use. (Re-exporting one `z` binding from here would hand bundlers the whole
 * namespace object — locales, JSON-schema conversion, the compiler — about 600 KiB.)
 */
import { config } from 'zod';

config({ jitless: true });
