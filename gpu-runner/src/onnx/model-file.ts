/**
 * Node-only: reading an ONNX model file together with its external-data files from the
 * same directory. Kept apart from `model-io.ts` so the isomorphic core never imports
 * `node:` modules; it is exported through the package's `./node` entry, not its index.
 * External data is read by ranges with a file handle because Node's `readFile` stops at
 * 2 GiB and an SD-class fp32 U-Net's single data file is larger than that.
 */
import { open, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

import { readModel, resolveExternalData, type ExternalDataOptions } from './model-io';
import type { ModelProto } from './proto';

/**
 * Reads `path` and loads any external initializer data from files beside it.
 * @throws ModelError `malformed_model` for undecodable bytes and the codes of
 *   {@link resolveExternalData}; a missing model file rejects with Node's ENOENT error.
 */
export async function readModelFile(path: string, options: ExternalDataOptions = {}): Promise<ModelProto> {
  const model = readModel(await readFile(path));
  const directory = dirname(path);
  await resolveExternalData(
    model,
    async (location, offset, length) => {
      const handle = await open(join(directory, location), 'r');
      try {
        const buffer = new Uint8Array(length);
        let filled = 0;
        while (filled < length) {
          const { bytesRead } = await handle.read(buffer, filled, length - filled, offset + filled);
          if (bytesRead === 0) break;
          filled += bytesRead;
        }
        return filled === length ? buffer : buffer.subarray(0, filled);
      } finally {
        await handle.close();
      }
    },
    options,
  );
  return model;
}
