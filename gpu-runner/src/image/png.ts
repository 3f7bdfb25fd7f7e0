/** PNG encode/decode through fast-png (pure JS, so it runs in Node, workers and browsers). */
import { decode, encode } from 'fast-png';
import { compositeOnWhite, type RgbImage } from './image';

/** Decodes a PNG and composites it onto white. */
export function decodePng(bytes: Uint8Array): RgbImage {
  const png = decode(bytes);
  if (png.palette !== undefined) {
    if (png.depth !== 8) throw new RangeError(`palette PNGs of depth ${png.depth} are not supported`);
    const palette = png.palette;
    const indices = png.data as Uint8Array;
    const rgba = new Uint8Array(png.width * png.height * 4);
    for (let i = 0; i < png.width * png.height; i++) {
      const entry = palette[indices[i]!] ?? [0, 0, 0, 0];
      rgba.set([entry[0] ?? 0, entry[1] ?? 0, entry[2] ?? 0, entry[3] ?? 255], i * 4);
    }
    return compositeOnWhite(rgba, png.width, png.height, 4);
  }
  const pixels =
    png.data instanceof Uint16Array
      ? png.data
      : new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.byteLength);
  return compositeOnWhite(pixels, png.width, png.height, png.channels);
}

/** Encodes an RGB image as an 8-bit PNG. */
export function encodePng(image: RgbImage): Uint8Array {
  return encode({ width: image.width, height: image.height, data: image.data, channels: 3, depth: 8 });
}
