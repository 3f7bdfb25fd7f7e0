/**
 * The text encoder's word-level tokenizer and its vocabulary. Text is NFKC-normalised,
 * lower-cased and split on anything that is not a Unicode letter or digit; each word maps
 * to its id or `[UNK]`. A sequence is `[BOS] words… [EOS]` padded with `[PAD]` (id 0) to the
 * vocabulary's fixed `max_length`, words past the limit dropped. The vocabulary file is JSON
 * (`{"format":"maskunet-vocab-v1","max_length":16,"tokens":[…]}`), the token's index its id;
 * {@link buildVocabulary} derives one from a corpus by word frequency.
 */
import { ModelError } from '../onnx/errors';

export const VOCABULARY_FORMAT = 'maskunet-vocab-v1';

/** Special tokens and their fixed ids (the first four entries of every vocabulary). */
export const SPECIAL_TOKENS = Object.freeze({ pad: '[PAD]', unk: '[UNK]', bos: '[BOS]', eos: '[EOS]' });
export const PAD_ID = 0;
export const UNK_ID = 1;
export const BOS_ID = 2;
export const EOS_ID = 3;
const SPECIALS = [SPECIAL_TOKENS.pad, SPECIAL_TOKENS.unk, SPECIAL_TOKENS.bos, SPECIAL_TOKENS.eos];

export interface VocabularyLimits {
  /** Most tokens in a vocabulary, specials included. Default 262,144. */
  readonly maxTokens: number;
  /** Longest vocabulary file accepted by {@link parseVocabulary}, in UTF-16 units. Default 16 Mi. */
  readonly maxFileLength: number;
  /** Longest prompt {@link Vocabulary.encode} accepts, in UTF-16 units. Default 4096. */
  readonly maxPromptLength: number;
  /** Largest `max_length`. Default 512. */
  readonly maxSequenceLength: number;
}

export const DEFAULT_VOCABULARY_LIMITS: VocabularyLimits = Object.freeze({
  maxTokens: 262_144,
  maxFileLength: 16 * 1024 * 1024,
  maxPromptLength: 4096,
  maxSequenceLength: 512,
});

const WORD = /^[\p{L}\p{N}]+$/u;

/** The words of `text`: NFKC, lower-case, split on non-letters and non-digits. */
export function splitWords(text: string): string[] {
  return text
    .normalize('NFKC')
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter((w) => w.length > 0);
}

function bad(why: string): never {
  throw new ModelError('bad_vocabulary', why);
}

export class Vocabulary {
  private readonly ids: ReadonlyMap<string, number>;

  private constructor(
    /** Tokens by id. */
    readonly tokens: readonly string[],
    /** Fixed sequence length, `[BOS]` and `[EOS]` included. */
    readonly maxLength: number,
    readonly limits: VocabularyLimits,
  ) {
    this.ids = new Map(tokens.map((token, id) => [token, id]));
  }

  /**
   * A vocabulary from its token list (the four specials first, then distinct words).
   * @throws ModelError `bad_vocabulary` for misplaced specials, duplicates, tokens that are
   *   not single words, or a `maxLength` below 3; `limit_exceeded` past a limit.
   */
  static fromTokens(
    tokens: readonly string[],
    maxLength: number,
    limits?: Partial<VocabularyLimits>,
  ): Vocabulary {
    const resolved = { ...DEFAULT_VOCABULARY_LIMITS, ...limits };
    if (tokens.length > resolved.maxTokens) {
      throw new ModelError(
        'limit_exceeded',
        `${tokens.length} tokens exceed maxTokens ${resolved.maxTokens}`,
      );
    }
    if (!Number.isSafeInteger(maxLength) || maxLength < 3)
      bad(`max_length must be an integer ≥ 3, got ${maxLength}`);
    if (maxLength > resolved.maxSequenceLength) {
      throw new ModelError('limit_exceeded', `max_length ${maxLength} exceeds ${resolved.maxSequenceLength}`);
    }
    SPECIALS.forEach((special, id) => {
      if (tokens[id] !== special) bad(`token ${id} must be ${special}`);
    });
    const seen = new Set<string>();
    tokens.forEach((token, id) => {
      if (typeof token !== 'string') bad(`token ${id} is not a string`);
      if (id >= SPECIALS.length && !WORD.test(token))
        bad(`token ${id} ${JSON.stringify(token)} is not a word`);
      if (id >= SPECIALS.length && splitWords(token)[0] !== token)
        bad(`token ${id} ${token} is not normalised`);
      if (seen.has(token)) bad(`token ${JSON.stringify(token)} appears twice`);
      seen.add(token);
    });
    return new Vocabulary(Object.freeze([...tokens]), maxLength, resolved);
  }

  /** Number of tokens (the text encoder's `vocab_size`). */
  get size(): number {
    return this.tokens.length;
  }

  /** The id of a normalised word, or `[UNK]`'s. */
  idOf(word: string): number {
    return this.ids.get(word) ?? UNK_ID;
  }

  /**
   * Token ids of one prompt, exactly `maxLength` long.
   * @throws ModelError `limit_exceeded` for a prompt longer than `limits.maxPromptLength`.
   */
  encode(text: string): number[] {
    if (text.length > this.limits.maxPromptLength) {
      throw new ModelError(
        'limit_exceeded',
        `prompt of ${text.length} characters exceeds ${this.limits.maxPromptLength}`,
      );
    }
    const words = splitWords(text).slice(0, this.maxLength - 2);
    const ids = [BOS_ID, ...words.map((w) => this.idOf(w)), EOS_ID];
    while (ids.length < this.maxLength) ids.push(PAD_ID);
    return ids;
  }

  /** Token ids of a batch as the int64 `[B, maxLength]` data of the encoder's `input_ids`. */
  encodeBatch(texts: readonly string[]): BigInt64Array {
    const out = new BigInt64Array(texts.length * this.maxLength);
    texts.forEach((text, row) => {
      this.encode(text).forEach((id, column) => {
        out[row * this.maxLength + column] = BigInt(id);
      });
    });
    return out;
  }

  /** The words of an id sequence, specials left out (for logs and tests). */
  decode(ids: Iterable<number | bigint>): string {
    const words: string[] = [];
    for (const id of ids) {
      const index = Number(id);
      if (index >= SPECIALS.length) words.push(this.tokens[index] ?? SPECIAL_TOKENS.unk);
      else if (index === UNK_ID) words.push(SPECIAL_TOKENS.unk);
    }
    return words.join(' ');
  }
}

export interface BuildVocabularyOptions {
  /** Most tokens, the four specials included. Default 4096. */
  readonly maxSize?: number;
  /** Words seen fewer times are left out. Default 1. */
  readonly minCount?: number;
  /** Fixed sequence length. Default 16. */
  readonly maxLength?: number;
}

/**
 * The most frequent words of `corpus` (ties broken by code-unit order, so the result is
 * deterministic), after the four specials.
 */
export function buildVocabulary(corpus: Iterable<string>, options: BuildVocabularyOptions = {}): Vocabulary {
  const maxSize = options.maxSize ?? 4096;
  const minCount = options.minCount ?? 1;
  if (!Number.isSafeInteger(maxSize) || maxSize < SPECIALS.length) {
    throw new RangeError(`options.maxSize must be an integer ≥ ${SPECIALS.length}, got ${maxSize}`);
  }
  const counts = new Map<string, number>();
  for (const text of corpus) {
    for (const word of splitWords(text)) counts.set(word, (counts.get(word) ?? 0) + 1);
  }
  const words = [...counts]
    .filter(([, count]) => count >= minCount)
    .sort(([a, ca], [b, cb]) => cb - ca || (a < b ? -1 : a > b ? 1 : 0))
    .slice(0, maxSize - SPECIALS.length)
    .map(([word]) => word);
  return Vocabulary.fromTokens([...SPECIALS, ...words], options.maxLength ?? 16);
}

/**
 * Parses a vocabulary file.
 * @throws ModelError `bad_vocabulary` for malformed JSON or content, `limit_exceeded` past a limit.
 */
export function parseVocabulary(text: string, limits?: Partial<VocabularyLimits>): Vocabulary {
  const maxFileLength = limits?.maxFileLength ?? DEFAULT_VOCABULARY_LIMITS.maxFileLength;
  if (text.length > maxFileLength) {
    throw new ModelError(
      'limit_exceeded',
      `vocabulary file of ${text.length} characters exceeds ${maxFileLength}`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    bad(`not JSON: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null) bad('a vocabulary file is a JSON object');
  const { format, max_length: maxLength, tokens } = parsed as Record<string, unknown>;
  if (format !== VOCABULARY_FORMAT) bad(`format must be ${VOCABULARY_FORMAT}, got ${JSON.stringify(format)}`);
  if (typeof maxLength !== 'number') bad('max_length must be a number');
  if (!Array.isArray(tokens)) bad('tokens must be an array');
  if (!tokens.every((t): t is string => typeof t === 'string')) bad('tokens must be strings');
  return Vocabulary.fromTokens(tokens, maxLength, limits);
}

/** The vocabulary file for `vocabulary`, one token per line. */
export function formatVocabulary(vocabulary: Vocabulary): string {
  const tokens = vocabulary.tokens.map((t) => `    ${JSON.stringify(t)}`).join(',\n');
  return `{\n  "format": "${VOCABULARY_FORMAT}",\n  "max_length": ${vocabulary.maxLength},\n  "tokens": [\n${tokens}\n  ]\n}\n`;
}
