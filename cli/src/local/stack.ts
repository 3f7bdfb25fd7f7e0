/**
 * The embedded default: a local worker (workerd via `wrangler dev`, state under `.state/`),
 * the demo base model registered, two demo tenants with a variant each and their banks
 * uploaded, and one CPU runner connected. Idempotent across restarts: tenants' keys and ids
 * are kept in `.state/demo.json`, and re-registering or re-uploading the same bytes is a no-op.
 * The model served is the trained package in `models/emoji32-base` when it exists, otherwise a
 * random-weight package of the same architecture written to `.state/models/`.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { encodeBank, MaskBank, parseLayoutJson, type MaskLayout } from '@maskunet/mask-store';
import { SeededRandom, parseModelConfig, type ModelPackageConfig } from '@maskunet/gpu-runner';
import { writeEmoji32RandomModel } from '@maskunet/trainer';
import { startLocalWorker } from './worker-process';
import { MaskUnetApiError, MaskUnetClient } from '@maskunet/client';
import { startLocalRunner, type LocalRunner } from './runner';

export interface DemoTenant {
  readonly name: string;
  readonly tenantId: string;
  readonly apiKey: string;
  readonly variantId: string;
  readonly variantName: string;
  readonly bankId: string;
}

export interface LocalStack {
  readonly url: string;
  readonly adminKey: string;
  readonly model: ModelPackageConfig;
  readonly modelDir: string;
  readonly tenants: readonly DemoTenant[];
  readonly runner: LocalRunner;
  stop(): Promise<void>;
}

export interface LocalStackOptions {
  readonly root: string;
  readonly port?: number;
  readonly persistTo?: string;
  readonly log?: (line: string) => void;
  readonly stdio?: 'inherit' | 'ignore';
}

/** The model directory `npm start` serves, creating the random stand-in when needed. */
export async function demoModelDir(root: string, log: (line: string) => void): Promise<string> {
  const trained = join(root, 'models', 'emoji32-base');
  if (existsSync(join(trained, 'model.json'))) return trained;
  const random = join(root, '.state', 'models', 'emoji32-random');
  if (!existsSync(join(random, 'model.json'))) {
    log('no trained model in models/emoji32-base yet: writing the random-weight emoji32 stand-in');
    await writeEmoji32RandomModel(random, 0);
  }
  return random;
}

/**
 * Demo banks: the model package's own `banks/*.mkb` (learned masks) when it ships some,
 * else two seeded random banks of 4 timestep buckets at the paper's ~6.6% zeros.
 */
async function demoBanks(
  modelDir: string,
  layout: MaskLayout,
  model: ModelPackageConfig,
): Promise<{ name: string; bytes: Uint8Array }[]> {
  const bankDir = join(modelDir, 'banks');
  if (existsSync(bankDir)) {
    const files = (await readdir(bankDir)).filter((f) => f.endsWith('.mkb')).sort();
    if (files.length > 0)
      return Promise.all(
        files.slice(0, 2).map(async (f) => ({
          name: f.replace(/\.mkb$/, ''),
          bytes: new Uint8Array(await readFile(join(bankDir, f))),
        })),
      );
  }
  return Promise.all(
    ['sparse', 'dense'].map(async (name, k) => {
      const random = new SeededRandom(7 + k, 'demo-bank');
      const p = k === 0 ? 0.066 : 0.2;
      const bank = await encodeBank({
        layout,
        masks: model.defaults.bucketEdges
          .slice(1)
          .map(() =>
            layout.layers.map((l) =>
              Uint8Array.from({ length: l.shape[0] * l.shape[1] }, () => (random.uniform() < p ? 0 : 1)),
            ),
          ),
        bucketEdges: model.defaults.bucketEdges,
        modelId: model.id,
        meta: { demo: true, method: 'random', zeroFraction: p },
      });
      return { name: `random-${name}`, bytes: bank.bytes };
    }),
  );
}

export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const log = options.log ?? (() => undefined);
  const persistTo = options.persistTo ?? join(options.root, '.state');
  const modelDir = await demoModelDir(options.root, log);
  const model = parseModelConfig(await readFile(join(modelDir, 'model.json'), 'utf8'));
  const layout = parseLayoutJson(await readFile(join(modelDir, 'layout.json'), 'utf8'));
  log(`model ${model.id} from ${modelDir}`);
  const worker = await startLocalWorker({
    persistTo,
    stdio: options.stdio ?? 'ignore',
    ...(options.port === undefined ? {} : { port: options.port }),
  });
  let runner: LocalRunner | null = null;
  try {
    log(`worker listening on ${worker.url}`);
    const admin = new MaskUnetClient({ baseUrl: worker.url, apiKey: worker.adminKey });
    await admin.registerModel({
      id: model.id,
      layout,
      config: {
        sampleSize: model.unet.sample_size,
        timesteps: model.scheduler.numTrainTimesteps,
        bucketEdges: model.defaults.bucketEdges,
        defaults: {
          steps: model.defaults.steps,
          guidance: model.defaults.guidance,
          sampler: model.defaults.sampler,
        },
      },
    });
    const tenants = await seedTenants(
      worker.url,
      admin,
      model,
      await demoBanks(modelDir, layout, model),
      join(persistTo, 'demo.json'),
      log,
    );
    runner = await startLocalRunner({ workerUrl: worker.url, token: worker.runnerToken, modelDir, log });
    await runner.client.waitFor('open', 60_000);
    log(`runner ${runner.client.runnerId} connected (${runner.model.pipeline.backend})`);
    const started = runner;
    return {
      url: worker.url,
      adminKey: worker.adminKey,
      model,
      modelDir,
      tenants,
      runner: started,
      async stop() {
        await started.stop();
        await worker.stop();
      },
    };
  } catch (error) {
    await runner?.stop();
    await worker.stop();
    throw error;
  }
}

async function seedTenants(
  url: string,
  admin: MaskUnetClient,
  model: ModelPackageConfig,
  banks: { name: string; bytes: Uint8Array }[],
  statePath: string,
  log: (line: string) => void,
): Promise<DemoTenant[]> {
  let saved: DemoTenant[] = [];
  if (existsSync(statePath))
    saved = (JSON.parse(await readFile(statePath, 'utf8')) as { tenants: DemoTenant[] }).tenants;
  const names = ['acme', 'globex'];
  const tenants: DemoTenant[] = [];
  for (const [index, name] of names.entries()) {
    const bank = banks[index % banks.length]!;
    const bankId = (await MaskBank.open(bank.bytes)).id;
    let tenant = saved.find((t) => t.name === name && t.variantName === bank.name);
    if (tenant !== undefined) {
      // The key must still work against this state (a wiped .state makes old keys stale).
      const client = new MaskUnetClient({ baseUrl: url, apiKey: tenant.apiKey });
      try {
        await client.listVariants();
      } catch (error) {
        if (!(error instanceof MaskUnetApiError) || error.status !== 401) throw error;
        tenant = undefined;
      }
    }
    if (tenant === undefined) {
      const created = await admin.createTenant(name);
      const client = new MaskUnetClient({ baseUrl: url, apiKey: created.apiKey });
      const variant = await client.createVariant(model.id, bank.name, index === 0 ? 'public' : 'private');
      tenant = {
        name,
        tenantId: created.tenant.id,
        apiKey: created.apiKey,
        variantId: variant.id,
        variantName: bank.name,
        bankId,
      };
      log(`created tenant ${name} with variant ${bank.name}`);
    }
    const client = new MaskUnetClient({ baseUrl: url, apiKey: tenant.apiKey });
    const uploaded = await client.uploadBank(tenant.variantId, bank.bytes);
    tenants.push({ ...tenant, bankId: uploaded.bankId });
  }
  await mkdir(join(statePath, '..'), { recursive: true });
  await writeFile(statePath, JSON.stringify({ tenants }, null, 2) + '\n');
  return tenants;
}
