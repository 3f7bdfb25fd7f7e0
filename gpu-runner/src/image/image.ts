/**
 * Image plumbing shared by training data, generation output and evaluation: RGBA → RGB on a
 * white background, box downsampling by an integer factor, and conversion between 8-bit
 * interleaved RGB and the model's float CHW tensors in [-1, 1]. Isomorphic (no PNG codec here).
 */

export interface RgbImage {
  readonly width: number;
  readonly height: number;
  /** Interleaved RGB, 8 bits per channel. */
  readonly data: Uint8Array;
}

/**
 * Composites interleaved pixels with `channels` (1–4; alpha last for 2 and 4) onto white.
 * 16-bit input is accepted as `Uint16Array`.
 */
export function compositeOnWhite(
  pixels: Uint8Array | Uint8ClampedArray | Uint16Array,
  width: number,
  height: number,
  channels: number,
): RgbImage {
  if (pixels.length !== width * height * channels)
    throw new RangeError('pixels does not match width × height × channels');
  const max = pixels instanceof Uint16Array ? 65535 : 255;
  const out = new Uint8Array(width * height * 3);
  const hasAlpha = channels === 2 || channels === 4;
  const colour = channels >= 3 ? 3 : 1;
  for (let i = 0; i < width * height; i++) {
    const alpha = hasAlpha ? pixels[i * channels + channels - 1]! / max : 1;
    for (let c = 0; c < 3; c++) {
      const value = pixels[i * channels + (colour === 3 ? c : 0)]! / max;
      out[i * 3 + c] = Math.round(255 * (value * alpha + (1 - alpha)));
    }
  }
  return { width, height, data: out };
}

/** Averages `factor × factor` blocks (exact for integer factors; no aliasing of thin strokes). */
export function downsample(image: RgbImage, factor: number): RgbImage {
  if (!Number.isInteger(factor) || factor < 1 || image.width % factor !== 0 || image.height % factor !== 0) {
    throw new RangeError(`factor must be a positive integer dividing ${image.width}×${image.height}`);
  }
  const width = image.width / factor;
  const height = image.height / factor;
  const out = new Uint8Array(width * height * 3);
  const area = factor * factor;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++) {
        let sum = 0;
        for (let dy = 0; dy < factor; dy++) {
          for (let dx = 0; dx < factor; dx++)
            sum += image.data[((y * factor + dy) * image.width + x * factor + dx) * 3 + c]!;
        }
        out[(y * width + x) * 3 + c] = Math.round(sum / area);
      }
    }
  }
  return { width, height, data: out };
}

/** RGB bytes → float CHW in [-1, 1], written into `out` at `offset` (elements). */
export function imageToTensor(
  image: RgbImage,
  out = new Float32Array(3 * image.width * image.height),
  offset = 0,
): Float32Array {
  const plane = image.width * image.height;
  for (let i = 0; i < plane; i++) {
    for (let c = 0; c < 3; c++) out[offset + c * plane + i] = image.data[i * 3 + c]! / 127.5 - 1;
  }
  return out;
}

/** Float CHW in [-1, 1] (clamped) → RGB bytes. */
export function tensorToImage(tensor: Float32Array, width: number, height: number, offset = 0): RgbImage {
  const plane = width * height;
  const data = new Uint8Array(plane * 3);
  for (let i = 0; i < plane; i++) {
    for (let c = 0; c < 3; c++) {
      const value = (tensor[offset + c * plane + i]! + 1) * 127.5;
      data[i * 3 + c] = Math.max(0, Math.min(255, Math.round(value)));
    }
  }
  return { width, height, data };
}

/** Nearest-neighbour upscale, for looking at 32×32 samples. */
export function upscale(image: RgbImage, factor: number): RgbImage {
  const width = image.width * factor;
  const height = image.height * factor;
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const source = (Math.floor(y / factor) * image.width + Math.floor(x / factor)) * 3;
      data.set(image.data.subarray(source, source + 3), (y * width + x) * 3);
    }
  }
  return { width, height, data };
}

/** Tiles equally sized images into a grid with `columns` columns and a 1-pixel white gutter. */
export function tileImages(images: readonly RgbImage[], columns: number, gutter = 1): RgbImage {
  const first = images[0];
  if (first === undefined) throw new RangeError('images is empty');
  const rows = Math.ceil(images.length / columns);
  const width = columns * first.width + (columns + 1) * gutter;
  const height = rows * first.height + (rows + 1) * gutter;
  const data = new Uint8Array(width * height * 3).fill(255);
  images.forEach((image, index) => {
    const x0 = gutter + (index % columns) * (first.width + gutter);
    const y0 = gutter + Math.floor(index / columns) * (first.height + gutter);
    for (let y = 0; y < image.height; y++) {
      data.set(
        image.data.subarray(y * image.width * 3, (y + 1) * image.width * 3),
        ((y0 + y) * width + x0) * 3,
      );
    }
  });
  return { width, height, data };
}
