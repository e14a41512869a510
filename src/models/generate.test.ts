// Sampling helpers; generation through the KV cache against a full forward per token (greedy, sampled, with a LoRA
// adapter, EOS ids, the positions limit); end-of-sequence ids from the model files; classification through a fixed
// (B,T) window matching an unpadded forward.

import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { randArray } from '../../tests/helpers/check';
import { fullForwardGenerate } from '../../tests/helpers/fullGenerate';
import { randomBert, randomGpt2 } from '../../tests/helpers/randomModel';
import { AdapterSet } from '../peft/adapters';
import { CpuBackend } from '../tensor/cpu';
import { Rng } from '../tensor/rng';
import { uploadEncoderBatch } from './batch';
import { ConfigError, parseConfig } from './config';
import {
  argmax,
  classify,
  type EncoderModel,
  eosIds,
  type Gpt2Model,
  generate,
  generateIds,
  readEosIds,
  sampleToken,
  softmax,
} from './generate';
import { instantiate, loadModel } from './load';
import { dirSource } from './node';
import { DownloadError, type ModelSource } from './sources';
import type { TextTokenizer } from './tokenizer';

const V = 23;
/** One token per character: 'a' -> 0, 'b' -> 1, ...; the last id is end-of-text. */
const charTok: TextTokenizer = {
  encode: (t) => ({ ids: [...t].map((c) => (c.charCodeAt(0) - 97 + V) % (V - 1)), typeIds: [...t].map(() => 0) }),
  decode: (ids) => ids.map((i) => String.fromCharCode(97 + i)).join(''),
  padId: 0,
  eosId: V - 1,
  vocabSize: V,
};

function tinyGpt(be: CpuBackend): Gpt2Model {
  const config = parseConfig({ model_type: 'gpt2', vocab_size: V, n_positions: 32, n_embd: 16, n_layer: 2, n_head: 2 });
  return instantiate(
    be,
    config,
    charTok,
    { tensors: randomGpt2({ V, P: 32, C: 16, L: 2 }), initialized: [], ignored: [] },
    'tiny',
  ) as Gpt2Model;
}

describe('sampleToken', () => {
  const logits = Float32Array.from([0.1, 2.5, -1, 2.4, 0]);

  it('is greedy at temperature 0 and with top-k 1', () => {
    expect(sampleToken(logits, 0, 0, new Rng(1))).toBe(1);
    expect(sampleToken(logits, 5, 1, new Rng(1))).toBe(1);
    expect(argmax([3, 7, 7, 1])).toBe(1);
  });

  it('samples only among the top k, in proportion to softmax(logits / T)', () => {
    const rng = new Rng(7),
      counts = new Array(5).fill(0);
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

const MODELS = join(dirname(fileURLToPath(import.meta.url)), '../../public/models');

async function gpt2Tiny(be: CpuBackend): Promise<Gpt2Model> {
  return (await loadModel(dirSource(join(MODELS, 'gpt2-tiny')), be)) as Gpt2Model;
}

const greedy = { maxTokens: 12, temperature: 0, topK: 0, seed: 1 };

describe('generate (KV cache)', () => {
  it('greedy decoding equals a full forward per token (random tiny model and gpt2-tiny)', async () => {
    const be = new CpuBackend();
    const tiny = tinyGpt(be),
      prompt = charTok.encode('hello').ids;
    const ref = await fullForwardGenerate(be, tiny.net, prompt, { ...greedy, maxTokens: 5 }, [V - 1]);
    expect(await generateIds(be, tiny, prompt, { ...greedy, maxTokens: 5 })).toEqual(ref);
    const gpt = await gpt2Tiny(be),
      ids = gpt.tokenizer.encode('The cat sat on the').ids;
    const want = await fullForwardGenerate(be, gpt.net, ids, greedy, [1023]);
    expect(want.length).toBeGreaterThan(3);
    expect(await generateIds(be, gpt, ids, greedy)).toEqual(want);
    expect(await generate(be, gpt, 'The cat sat on the', greedy)).toBe(gpt.tokenizer.decode(want));
  });

  it('with a LoRA adapter equals the full forward with the same adapter, and differs from the base', async () => {
    const be = new CpuBackend(),
      gpt = await gpt2Tiny(be),
      ids = gpt.tokenizer.encode('Once upon a time').ids;
    const base = await generateIds(be, gpt, ids, greedy);
    const set = new AdapterSet(be, gpt.net.linears(), { method: 'lora', R0: 4, alpha: 8, dropout: 0.1, seed: 1 });
    set.training = false;
    be.write(set.theta, randArray(set.size, 5, -0.1, 0.1));
    const want = await fullForwardGenerate(be, gpt.net, ids, greedy, [1023]);
    expect(await generateIds(be, gpt, ids, greedy)).toEqual(want);
    expect(want).not.toEqual(base);
  });

  it('samples as the full forward does for the same seed, reproducibly; another seed differs', async () => {
    const be = new CpuBackend(),
      gpt = await gpt2Tiny(be),
      ids = gpt.tokenizer.encode('A').ids;
    const opts = { maxTokens: 15, temperature: 1.5, topK: 50, seed: 3 };
    const a = await generateIds(be, gpt, ids, opts);
    expect(a).toEqual(await fullForwardGenerate(be, gpt.net, ids, opts, [1023]));
    expect(await generateIds(be, gpt, ids, opts)).toEqual(a);
    expect(await generateIds(be, gpt, ids, { ...opts, seed: 4 })).not.toEqual(a);
  });

  it("stops before any id of generation_config.json's eos_token_id list", async () => {
    const be = new CpuBackend(),
      gpt = await gpt2Tiny(be),
      ids = gpt.tokenizer.encode('The cat sat on the').ids;
    const all = await generateIds(be, gpt, ids, greedy);
    const eos = eosIds(JSON.stringify({ eos_token_id: [1000, all[3]] }), gpt.config.raw, gpt.tokenizer);
    expect(eos).toEqual([1000, all[3]]);
    expect(await generateIds(be, gpt, ids, { ...greedy, eosIds: eos })).toEqual(all.slice(0, all.indexOf(all[3])));
  });

  it("stops when the model's positions are used up, and keeps the last positions of a longer prompt", async () => {
    const be = new CpuBackend(),
      model = tinyGpt(be),
      P = 32;
    const prompt = Array.from({ length: P - 2 }, (_, i) => i % 20);
    const out = await generateIds(be, model, prompt, { ...greedy, maxTokens: 10, eosIds: [] });
    // Positions P-2 and P-1 take two fed-back tokens; the third is sampled from position P-1's logits.
    expect(out).toEqual(await fullForwardGenerate(be, model.net, prompt, { ...greedy, maxTokens: 10 }, []));
    expect(out).toHaveLength(3);
    const long = Array.from({ length: P + 5 }, (_, i) => (i * 7) % 20);
    expect(await generateIds(be, model, long, { ...greedy, maxTokens: 1, eosIds: [] })).toEqual(
      await fullForwardGenerate(be, model.net, long.slice(-P), { ...greedy, maxTokens: 1 }, []),
    );
  });

  it('refuses bad options with the field named', async () => {
    const be = new CpuBackend(),
      model = tinyGpt(be);
    await expect(generateIds(be, model, [1], { ...greedy, maxTokens: -1 })).rejects.toThrow(/maxTokens must be/);
    await expect(generateIds(be, model, [1], { ...greedy, topK: 1.5 })).rejects.toThrow(/topK must be/);
  });
});

describe('eosIds', () => {
  const tok = { ...charTok, eosId: 7 };
  it('reads generation_config.json (int or list), else config.json, else the tokenizer', () => {
    expect(eosIds('{"eos_token_id": 5}', { eos_token_id: 3 }, tok)).toEqual([5]);
    expect(eosIds('{"eos_token_id": [5, 6]}', {}, tok)).toEqual([5, 6]);
    expect(eosIds('{"do_sample": true}', { eos_token_id: [3, 4] }, tok)).toEqual([3, 4]);
    expect(eosIds(null, { eos_token_id: 3 }, tok)).toEqual([3]);
    expect(eosIds(null, {}, tok)).toEqual([7]);
    expect(eosIds(null, {}, { ...tok, eosId: null })).toEqual([]);
  });

  it('names the file and field of a bad value', () => {
    const err = (() => {
      try {
        eosIds('{"eos_token_id": "x"}', {}, tok);
      } catch (e) {
        return e;
      }
    })() as ConfigError;
    expect(err).toBeInstanceOf(ConfigError);
    expect([err.file, err.field]).toEqual(['generation_config.json', 'eos_token_id']);
    expect(() => eosIds('not json', {}, tok)).toThrow(/generation_config.json: not valid JSON/);
    expect(() => eosIds(null, { eos_token_id: [-1] }, tok)).toThrow(/config.json: eos_token_id must be/);
  });

  it('readEosIds takes generation_config.json from the model folder; an HTML fallback page is absent', async () => {
    const be = new CpuBackend(),
      model = tinyGpt(be);
    const src = (text: string | null): ModelSource => ({
      name: 'm',
      get: async () => (text === null ? null : new TextEncoder().encode(text)),
    });
    expect(await readEosIds(src('{"eos_token_id": [1, 2]}'), model)).toEqual([1, 2]);
    expect(await readEosIds(src('<!doctype html><html></html>'), model)).toEqual([V - 1]);
    expect(await readEosIds(src(null), model)).toEqual([V - 1]);
    // What urlSource throws for a 200 text/html answer (a dev server's page fallback for a missing file).
    const html: ModelSource = {
      name: 'm',
      get: async () => {
        throw new DownloadError('generation_config.json', 'u', 'HTML');
      },
    };
    expect(await readEosIds(html, model)).toEqual([V - 1]);
    await expect(readEosIds(src('{"eos_token_id": "x"}'), model)).rejects.toThrow(
      /generation_config.json: eos_token_id/,
    );
  });
});

describe('classify (encoders)', () => {
  it('returns probabilities equal to the softmax of an unpadded forward', async () => {
    const be = new CpuBackend();
    const config = parseConfig(
      {
        model_type: 'bert',
        vocab_size: 29,
        hidden_size: 16,
        num_hidden_layers: 2,
        num_attention_heads: 2,
        intermediate_size: 32,
        max_position_embeddings: 16,
      },
      { numLabels: 3 },
    );
    const tok: TextTokenizer = {
      ...charTok,
      encode: (t) => ({
        ids: [2, ...[...t].map((c) => 4 + (c.charCodeAt(0) % 20)), 3],
        typeIds: Array(t.length + 2).fill(0),
      }),
      vocabSize: 29,
    };
    const model = instantiate(
      be,
      config,
      tok,
      {
        tensors: randomBert({ V: 29, P: 16, C: 16, L: 2, F: 32, labels: 3, variant: 'bert' }),
        initialized: [],
        ignored: [],
      },
      'tiny',
    ) as EncoderModel;
    const p = await classify(be, model, 'spam', { B: 3, T: 10 });
    expect(p).toHaveLength(3);
    expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
    const batch = uploadEncoderBatch(be, model.arch.clsBatch(model.config, [tok.encode('spam')]));
    const ref = softmax((await be.read(model.net.forward(batch))) as Float32Array);
    p.forEach((v, i) => expect(v).toBeCloseTo(ref[i], 5));
  });
});
