/**
 * The emoji training data (Node only): every base emoji and skin-tone variant that has an
 * image in `emoji-datasource-google` (Noto Emoji, Apache-2.0) or `emoji-datasource-twitter`
 * (Twemoji, CC-BY 4.0), with a prompt built from its name and `emojilib` keywords, its
 * category and subcategory (kept for evaluation), and a seeded held-out split by base emoji
 * (skin-tone variants stay with their base, so no held-out face leaks in through a variant).
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { decodePng, downsample, imageToTensor } from '@maskunet/gpu-runner';

const require = createRequire(import.meta.url);

export type EmojiStyle = 'google' | 'twitter';

export interface EmojiEntry {
  /** Unified code points, e.g. `1F44D-1F3FB`. */
  readonly id: string;
  /** The base emoji's unified code points (itself for a base emoji). */
  readonly baseId: string;
  /** Lower-case name, e.g. `thumbs up sign, medium skin tone`. */
  readonly name: string;
  /** emojilib keywords of the base emoji (may be empty). */
  readonly keywords: readonly string[];
  readonly category: string;
  readonly subcategory: string;
  /** Image file name inside the style's `img/<style>/64/` folder. */
  readonly image: string;
  readonly split: 'train' | 'heldout';
}

interface DatasourceEntry {
  name: string | null;
  short_name: string;
  unified: string;
  image: string;
  category: string;
  subcategory: string;
  has_img_google: boolean;
  has_img_twitter: boolean;
  skin_variations?: Record<
    string,
    { unified: string; image: string; has_img_google: boolean; has_img_twitter: boolean }
  >;
}

const SKIN_TONES: Record<string, string> = {
  '1F3FB': 'light',
  '1F3FC': 'medium-light',
  '1F3FD': 'medium',
  '1F3FE': 'medium-dark',
  '1F3FF': 'dark',
};

function skinToneName(key: string): string {
  const tones = key.split('-').map((part) => SKIN_TONES[part] ?? part.toLowerCase());
  return tones.length === 1 ? `${tones[0]!} skin tone` : `${tones.join(' and ')} skin tones`;
}

function emojiChar(unified: string): string {
  return String.fromCodePoint(...unified.split('-').map((hex) => parseInt(hex, 16)));
}

/** FNV-1a of a string then a splitmix step: a stable per-emoji hash for the split. */
function stableHash(text: string, seed: number): number {
  let h = 0x811c9dc5 ^ seed;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

export interface CatalogOptions {
  readonly style?: EmojiStyle;
  /** Fraction of base emoji held out. Default 0.1. */
  readonly heldoutFraction?: number;
  /** Seed of the split. Default 2025. */
  readonly splitSeed?: number;
}

/** Folder of the 64 px PNGs of a style. */
export function emojiImageDir(style: EmojiStyle): string {
  const packageJson = require.resolve(`emoji-datasource-${style}/package.json`);
  return join(dirname(packageJson), 'img', style, '64');
}

/** The installed data packages' versions: the "data version" of a training record. */
export function emojiDataVersion(): Record<string, string> {
  const version = (name: string): string => (require(`${name}/package.json`) as { version: string }).version;
  return {
    'emoji-datasource-google': version('emoji-datasource-google'),
    'emoji-datasource-twitter': version('emoji-datasource-twitter'),
    emojilib: version('emojilib'),
  };
}

/** Lists all emoji of a style with prompts, labels and split. */
export function emojiCatalog(options: CatalogOptions = {}): EmojiEntry[] {
  const style = options.style ?? 'google';
  const fraction = options.heldoutFraction ?? 0.1;
  const seed = options.splitSeed ?? 2025;
  const data = require(`emoji-datasource-${style}/emoji.json`) as DatasourceEntry[];
  const keywords = require('emojilib') as Record<string, string[]>;
  const hasImage = (entry: { has_img_google: boolean; has_img_twitter: boolean }): boolean =>
    style === 'google' ? entry.has_img_google : entry.has_img_twitter;
  const entries: EmojiEntry[] = [];
  for (const base of data) {
    const char = emojiChar(base.unified);
    const words = keywords[char] ?? keywords[char.replace(/\uFE0F/g, '')] ?? [];
    const name = (base.name ?? base.short_name.replace(/_/g, ' ')).toLowerCase();
    const split = stableHash(base.unified, seed) / 2 ** 32 < fraction ? 'heldout' : 'train';
    const common = {
      baseId: base.unified,
      keywords: words.map((w) => w.replace(/_/g, ' ').trim()).filter((w) => w.length > 0),
      category: base.category,
      subcategory: base.subcategory,
      split,
    } as const;
    if (hasImage(base)) entries.push({ id: base.unified, name, image: base.image, ...common });
    for (const [tone, variant] of Object.entries(base.skin_variations ?? {})) {
      if (!hasImage(variant)) continue;
      entries.push({
        id: variant.unified,
        name: `${name}, ${skinToneName(tone)}`,
        image: variant.image,
        ...common,
      });
    }
  }
  return entries;
}

/** Loads one entry's image at `size` px (a divisor of 64), as float CHW in [-1, 1]. */
export async function loadEmojiTensor(
  entry: EmojiEntry,
  style: EmojiStyle,
  size = 32,
): Promise<Float32Array> {
  const image = decodePng(new Uint8Array(await readFile(join(emojiImageDir(style), entry.image))));
  if (image.width !== 64 || image.height !== 64)
    throw new RangeError(`${entry.image} is ${image.width}×${image.height}, not 64×64`);
  return imageToTensor(downsample(image, 64 / size));
}
