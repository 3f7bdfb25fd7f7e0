// The word-level tokenizer, its vocabulary file, and the CLIP-style text encoder running in
// onnxruntime-node: shapes, determinism, causality and the typed refusals.
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  BOS_ID,
  EOS_ID,
  OP_VOCABULARY,
  PAD_ID,
  TEXT_ENCODER_IO,
  TINY_TEXT_ENCODER_CONFIG,
  UNK_ID,
  Vocabulary,
  buildTextEncoder,
  buildVocabulary,
  formatVocabulary,
  isModelError,
  modelGraph,
  parseVocabulary,
  randomTextEncoderWeights,
  splitWords,
  textEncoderParameters,
  writeModel,
} from '../src/index';

const corpus = [
  'A red apple on a table',
  'a green apple, a red car!',
  'Red-eyed tree frog; the frog is green.',
  'Café au lait',
];

describe('vocabulary', () => {
  it('splits on non-alphanumerics after NFKC and lower-casing', () => {
    expect(splitWords('Red-eyed  tree_frog, ＦＵＬＬ width; café 42x')).toEqual([
      'red',
      'eyed',
      'tree',
      'frog',
      'full',
      'width',
      'café',
      '42x',
    ]);
  });

  it('ranks words by frequency with deterministic ties, within maxSize', () => {
    const vocabulary = buildVocabulary(corpus, { maxSize: 8, maxLength: 8 });
    expect(vocabulary.tokens).toEqual(['[PAD]', '[UNK]', '[BOS]', '[EOS]', 'a', 'red', 'apple', 'frog']);
    expect(buildVocabulary(corpus, { minCount: 2 }).tokens.slice(4)).toEqual([
      'a',
      'red',
      'apple',
      'frog',
      'green',
    ]);
  });

  it('encodes [BOS] words [EOS] [PAD]… to the fixed length, unknown words as [UNK]', () => {
    const vocabulary = buildVocabulary(corpus, { maxSize: 8, maxLength: 8 });
    const a = vocabulary.idOf('a');
    const red = vocabulary.idOf('red');
    expect(vocabulary.encode('A RED zebra')).toEqual([
      BOS_ID,
      a,
      red,
      UNK_ID,
      EOS_ID,
      PAD_ID,
      PAD_ID,
      PAD_ID,
    ]);
    expect(vocabulary.encode('a a a a a a a a a a')).toEqual([BOS_ID, a, a, a, a, a, a, EOS_ID]);
    expect(vocabulary.decode(vocabulary.encode('A red zebra'))).toBe('a red [UNK]');
    const batch = vocabulary.encodeBatch(['red', '']);
    expect([...batch]).toEqual([2n, 5n, 3n, 0n, 0n, 0n, 0n, 0n, 2n, 3n, 0n, 0n, 0n, 0n, 0n, 0n]);
  });

  it('round-trips through its file format and refuses malformed files', () => {
    const vocabulary = buildVocabulary(corpus, { maxLength: 12 });
    const back = parseVocabulary(formatVocabulary(vocabulary));
    expect(back.tokens).toEqual(vocabulary.tokens);
    expect(back.maxLength).toBe(12);
    const refusals = [
      'not json',
      '{"format":"other","max_length":8,"tokens":[]}',
      '{"format":"maskunet-vocab-v1","max_length":8,"tokens":["[UNK]","[PAD]","[BOS]","[EOS]"]}',
      '{"format":"maskunet-vocab-v1","max_length":8,"tokens":["[PAD]","[UNK]","[BOS]","[EOS]","a","a"]}',
      '{"format":"maskunet-vocab-v1","max_length":8,"tokens":["[PAD]","[UNK]","[BOS]","[EOS]","two words"]}',
      '{"format":"maskunet-vocab-v1","max_length":2,"tokens":["[PAD]","[UNK]","[BOS]","[EOS]"]}',
    ];
    for (const text of refusals) {
      expect(() => parseVocabulary(text)).toThrow(/bad_vocabulary/);
    }
    expect(() => parseVocabulary(formatVocabulary(vocabulary), { maxTokens: 5 })).toThrow(/limit_exceeded/);
    expect(() => vocabulary.encode('x'.repeat(5000))).toThrow(/limit_exceeded/);
  });
});

describe('text encoder in onnxruntime-node (CPU)', () => {
  const config = TINY_TEXT_ENCODER_CONFIG;
  const vocabulary = Vocabulary.fromTokens(
    ['[PAD]', '[UNK]', '[BOS]', '[EOS]', ...Array.from({ length: config.vocab_size - 4 }, (_, i) => `w${i}`)],
    config.max_position_embeddings,
  );
  let session: ort.InferenceSession;

  beforeAll(async () => {
    const built = buildTextEncoder(config, { weights: randomTextEncoderWeights(config, 3) });
    session = await ort.InferenceSession.create(writeModel(built.model), { intraOpNumThreads: 2 });
  });
  afterAll(async () => {
    await session.release();
  });

  async function encode(texts: string[]): Promise<ort.Tensor> {
    const ids = new ort.Tensor('int64', vocabulary.encodeBatch(texts), [texts.length, vocabulary.maxLength]);
    const result = await session.run({ [TEXT_ENCODER_IO.inputIds]: ids });
    return result[TEXT_ENCODER_IO.output]!;
  }

  it('gives finite [2, 16, 48] hidden states that depend on the prompt', async () => {
    const output = await encode(['w1 w2 w3', 'w4']);
    expect(output.dims).toEqual([2, 16, 48]);
    const data = output.data as Float32Array;
    expect(data.every(Number.isFinite)).toBe(true);
    // Position 1 holds w1 in one prompt and w4 in the other.
    const row = (sample: number, position: number): Float32Array =>
      data.subarray((sample * 16 + position) * 48, (sample * 16 + position + 1) * 48);
    expect(Math.max(...row(0, 1).map((v, i) => Math.abs(v - row(1, 1)[i]!)))).toBeGreaterThan(1e-3);
    // The final LayerNorm has γ=1, β=0 at init, so every position has mean 0 (float32 sums of 48).
    const first = row(0, 0);
    expect(Math.abs(first.reduce((a, v) => a + v, 0) / 48)).toBeLessThan(1e-5);
  });

  it('is causal: a later word does not change earlier positions', async () => {
    const output = await encode(['w1 w2 w3', 'w1 w2 w9']);
    const data = output.data as Float32Array;
    // Positions 0–2 ([BOS] w1 w2) see the same tokens; float32 runs of one session are
    // bit-identical per row here, 1e-6 allows for batch-dependent kernel choices.
    for (let i = 0; i < 3 * 48; i++) expect(Math.abs(data[i]! - data[16 * 48 + i]!)).toBeLessThan(1e-6);
    let later = 0;
    for (let i = 3 * 48; i < 4 * 48; i++) later = Math.max(later, Math.abs(data[i]! - data[16 * 48 + i]!));
    expect(later).toBeGreaterThan(1e-3);
  });

  it('has CLIP parameter names, deterministic weights and only vocabulary ops', () => {
    const names = textEncoderParameters(config).map((p) => p.name);
    expect(names).toContain('text_model.embeddings.token_embedding.weight');
    expect(names).toContain('text_model.encoder.layers.1.self_attn.q_proj.weight');
    expect(names).toContain('text_model.final_layer_norm.bias');
    const a = randomTextEncoderWeights(config, 3).get('text_model.encoder.layers.0.mlp.fc1.weight')!;
    const b = randomTextEncoderWeights(config, 3).get('text_model.encoder.layers.0.mlp.fc1.weight')!;
    expect(Buffer.from(a.data.buffer).equals(Buffer.from(b.data.buffer))).toBe(true);
    const graph = modelGraph(buildTextEncoder(config, { parameters: 'inputs' }).model);
    const allowed = new Set<string>(OP_VOCABULARY);
    expect(graph.node.filter((n) => !allowed.has(n.opType ?? ''))).toEqual([]);
  });

  it('rejects an inconsistent config', () => {
    try {
      buildTextEncoder({ ...config, num_attention_heads: 5 }, { parameters: 'inputs' });
      expect.unreachable();
    } catch (error) {
      expect(isModelError(error, 'bad_config')).toBe(true);
    }
  });
});
