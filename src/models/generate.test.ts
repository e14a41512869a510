// Sampling helpers, and generation/classification through a fixed (B,T) window matching an unpadded forward.

import { describe, expect, it } from 'vitest';
import { randomBert, randomGpt2 } from '../../tests/helpers/randomModel';
import { CpuBackend } from '../tensor/cpu';
import { Rng } from '../tensor/rng';
import { encoderBatch, uploadEncoderBatch } from './batch';
import { parseConfig } from './config';
import { argmax, classify, generate, sampleToken, softmax, type EncoderModel, type Gpt2Model } from './generate';
import { instantiate } from './load';
import type { TextTokenizer } from './tokenizer';

const V = 23;
/** One token per character: 'a' -> 0, 'b' -> 1, ...; the last id is end-of-text. */
const charTok: TextTokenizer = {
  encode: (t) => ({ ids: [...t].map((c) => (c.charCodeAt(0) - 97 + V) % (V - 1)), typeIds: [...t].map(() => 0) }),
  decode: (ids) => ids.map((i) => String.fromCharCode(97 + i)).join(''),
  padId: 0, eosId: V - 1, vocabSize: V,
};

function tinyGpt(be: CpuBackend): Gpt2Model {
  const config = parseConfig({ model_type: 'gpt2', vocab_size: V, n_positions: 32, n_embd: 16, n_layer: 2, n_head: 2 });
  return instantiate(be, config, charTok, { tensors: randomGpt2({ V, P: 32, C: 16, L: 2 }), initialized: [], ignored: [] }, 'tiny') as Gpt2Model;
}

describe('sampleToken', () => {
  const logits = Float32Array.from([0.1, 2.5, -1, 2.4, 0]);

  it('is greedy at temperature 0 and with top-k 1', () => {
    expect(sampleToken(logits, 0, 0, new Rng(1))).toBe(1);
    expect(sampleToken(logits, 5, 1, new Rng(1))).toBe(1);
    expect(argmax([3, 7, 7, 1])).toBe(1);
  });

  it('samples only among the top k, in proportion to softmax(logits / T)', () => {
    const rng = new Rng(7), counts = new Array(5).fill(0);
    for (let i = 0; i < 4000; i++) counts[sampleToken(logits, 1, 2, rng)]++;
    expect(counts[0] + counts[2] + counts[4]).toBe(0);
    const p1 = 1 / (1 + Math.exp(2.4 - 2.5));
    expect(counts[1] / 4000).toBeCloseTo(p1, 1);
  });

  it('softmax sums to one and keeps the order', () => {
    const p = softmax([1, 3, 2]);
    expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(argmax(p)).toBe(1);
  });
});

describe('generate (GPT-2, no KV cache)', () => {
  it('greedy decoding through a padded (B,T) window equals argmax of the unpadded forward', async () => {
    const be = new CpuBackend(), model = tinyGpt(be);
    const prompt = 'hello';
    const got = await generate(be, model, prompt, { maxTokens: 5, temperature: 0, topK: 0, seed: 1 }, { B: 2, T: 12 });
    // Reference: forward exactly the context each time, read the last position.
    const ctx = charTok.encode(prompt).ids, ref: number[] = [];
    for (let n = 0; n < 5; n++) {
      const ids = be.fromArray(Int32Array.from(ctx), [ctx.length]);
      const logits = (await be.read(model.net.forward(ids, 1, ctx.length))) as Float32Array;
      const next = argmax(logits.subarray((ctx.length - 1) * V, ctx.length * V));
      if (next === V - 1) break;
      ctx.push(next);
      ref.push(next);
    }
    expect(got).toBe(charTok.decode(ref));
  });

  it('is reproducible for a seed and keeps to the window when the text outgrows it', async () => {
    const be = new CpuBackend(), model = tinyGpt(be), opts = { maxTokens: 10, temperature: 1, topK: 5, seed: 3 };
    const a = await generate(be, model, 'abcdef', opts, { B: 1, T: 4 });
    const b = await generate(be, model, 'abcdef', opts, { B: 1, T: 4 });
    expect(a).toBe(b);
    expect(a.length).toBeLessThanOrEqual(10);
  });
});

describe('classify (encoders)', () => {
  it('returns probabilities equal to the softmax of an unpadded forward', async () => {
    const be = new CpuBackend();
    const config = parseConfig({ model_type: 'bert', vocab_size: 29, hidden_size: 16, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 32, max_position_embeddings: 16 }, { numLabels: 3 });
    const tok: TextTokenizer = { ...charTok, encode: (t) => ({ ids: [2, ...[...t].map((c) => 4 + (c.charCodeAt(0) % 20)), 3], typeIds: Array(t.length + 2).fill(0) }), vocabSize: 29 };
    const model = instantiate(be, config, tok, { tensors: randomBert({ V: 29, P: 16, C: 16, L: 2, F: 32, labels: 3, variant: 'bert' }), initialized: [], ignored: [] }, 'tiny') as EncoderModel;
    const p = await classify(be, model, 'spam', { B: 3, T: 10 });
    expect(p).toHaveLength(3);
    expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
    const ref = softmax((await be.read(model.net.forward(uploadEncoderBatch(be, model.arch.clsBatch(model.config, [tok.encode('spam')]))))) as Float32Array);
    p.forEach((v, i) => expect(v).toBeCloseTo(ref[i], 5));
  });
});
