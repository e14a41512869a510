// Llama-family generation through the KV cache on the CPU backend, for each causal fixture (GQA + llama3 rope, Qwen2
// biases + untied head, Qwen3 head_dim + q/k norm, BF16, single kv head) and the demo model: prefill and every decode
// step at positions pos.. equal the training forward's last-position logits; greedy tokens equal a full forward per
// token, base and with a LoRA adapter on q_proj/v_proj; several rows at once; the cache's limits.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/models/config';
import { eosIds, generate, generateIds } from '../../src/models/generate';
import { loadTokenizer } from '../../src/models/tokenizer';
import type { Llama } from '../../src/nn/llamaCausal';
import type { Backend } from '../../src/tensor/backend';
import { CpuBackend } from '../../src/tensor/cpu';
import { expectClose } from '../helpers/check';
import { fullForwardGenerate } from '../helpers/fullGenerate';
import { LLAMA_DECODERS, llamaModel, loraQv, promptIds } from '../helpers/llamaNet';

const greedy = { maxTokens: 10, temperature: 0, topK: 0, seed: 1 };

/** Last-position logits of the training forward over B rows of `ids` (B*T). */
async function forwardLast(be: Backend, net: Llama, ids: number[], B: number): Promise<Float32Array> {
  const T = ids.length / B,
    V = net.vocabSize;
  const t = be.fromArray(Int32Array.from(ids), [B * T], 'ids');
  const all = (await be.read(net.forward(t, B, T))) as Float32Array;
  be.dispose(t);
  const out = new Float32Array(B * V);
  for (let b = 0; b < B; b++) out.set(all.subarray((b * T + T - 1) * V, (b * T + T) * V), b * V);
  return out;
}

describe.each(LLAMA_DECODERS)('Llama KV-cache decoding (cpu, %s)', (_, dir) => {
  it("prefill and each decode step at its position equal the training forward's last-position logits", async () => {
    const be = new CpuBackend(),
      { net } = llamaModel(be, dir),
      V = net.vocabSize;
    const ctx = promptIds(6, V),
      cache = net.createCache(1, 12);
    expect(cache.layout).toEqual({ layers: net.cfg.layers, KVH: net.cfg.kvHeads, D: net.cfg.headDim });
    let got = (await be.read(net.prefill(cache, Int32Array.from(ctx), ctx.length))) as Float32Array;
    for (let step = 0; ; step++) {
      expectClose(got, await forwardLast(be, net, ctx, 1), 1e-5, 1e-5, `logits after ${ctx.length} tokens`);
      expect(cache.length).toBe(ctx.length);
      if (step === 5) break;
      ctx.push((step * 53 + 7) % V);
      got = (await be.read(net.decodeStep(cache, Int32Array.of(ctx[ctx.length - 1])))) as Float32Array;
    }
    cache.dispose();
  });

  it("two rows at once: prefill of 3 tokens, then steps, equal each row's forward", async () => {
    const be = new CpuBackend(),
      { net } = llamaModel(be, dir),
      V = net.vocabSize;
    const rows = [promptIds(3, V), promptIds(4, V).slice(1).reverse()],
      cache = net.createCache(2, 6);
    let got = await be.read(net.prefill(cache, Int32Array.from(rows.flat()), 3));
    for (let step = 0; ; step++) {
      expectClose(got, await forwardLast(be, net, rows.flat(), 2), 1e-5, 1e-5, `two rows, step ${step}`);
      if (step === 2) break;
      rows.forEach((r, b) => r.push((step * 31 + b * 17 + 5) % V));
      got = await be.read(
        net.decodeStep(
          cache,
          Int32Array.from(rows, (r) => r[r.length - 1]),
        ),
      );
    }
    cache.dispose();
  });

  it('greedy generateIds equals a full forward per token, base and with LoRA on q_proj/v_proj', async () => {
    const be = new CpuBackend(),
      model = llamaModel(be, dir),
      net = model.net,
      prompt = promptIds(5, net.vocabSize);
    const opts = { ...greedy, eosIds: [] };
    const base = await generateIds(be, model, prompt, opts);
    expect(base).toHaveLength(greedy.maxTokens);
    expect(base).toEqual(await fullForwardGenerate(be, net, prompt, greedy, []));
    const probe = net.createCache(1, prompt.length);
    const baseLogits = (await be.read(net.prefill(probe, Int32Array.from(prompt), prompt.length))).slice();
    probe.dispose();
    loraQv(be, net);
    const adapted = await generateIds(be, model, prompt, opts);
    expect(adapted).toEqual(await fullForwardGenerate(be, net, prompt, greedy, []));
    // The adapter takes part in the cached path: its prefill logits move away from the base model's.
    const cache = net.createCache(1, prompt.length);
    const logits = await be.read(net.prefill(cache, Int32Array.from(prompt), prompt.length));
    expectClose(logits, await forwardLast(be, net, prompt, 1), 1e-5, 1e-5, 'adapted prefill');
    expect(Math.max(...logits.map((v, i) => Math.abs(v - baseLogits[i])))).toBeGreaterThan(1e-3);
    cache.dispose();
  });
});

describe('Llama KV cache limits', () => {
  it('refuses a cache past max_position_embeddings and positions past the cache, and stops at the limit', async () => {
    const be = new CpuBackend(),
      model = llamaModel(be, 'public/models/llama-demo'),
      net = model.net;
    expect(net.maxPositions).toBe(256);
    expect(() => net.createCache(1, 257)).toThrow(/257 positions exceeds the model's max_position_embeddings 256/);
    const cache = net.createCache(1, 4);
    net.prefill(cache, Int32Array.of(1, 2, 3), 3);
    net.decodeStep(cache, Int32Array.of(4));
    expect(() => net.decodeStep(cache, Int32Array.of(5))).toThrow(RangeError);
    expect(() => net.prefill(net.createCache(1, 4), Int32Array.of(1, 2), 3)).toThrow(/2 token ids for B=1 rows of T=3/);
    cache.dispose();
    // A prompt 2 short of the positions: two fed-back tokens fill them, a third comes from the last position.
    const prompt = promptIds(254, net.vocabSize),
      opts = { ...greedy, eosIds: [] };
    const out = await generateIds(be, model, prompt, opts);
    expect(out).toHaveLength(3);
    expect(out).toEqual(await fullForwardGenerate(be, net, prompt, greedy, []));
  });
});

describe('generate() with a Llama decoder (llama-demo)', () => {
  const DEMO = 'public/models/llama-demo';
  const read = (f: string) => readFileSync(`${DEMO}/${f}`, 'utf8');

  it("continues text through its tokenizer, stopping at generation_config.json's eos ids", async () => {
    const be = new CpuBackend(),
      tokenizer = loadTokenizer(read('tokenizer.json'), read('tokenizer_config.json'));
    const model = { ...llamaModel(be, DEMO), tokenizer },
      prompt = 'Once upon a time';
    const eos = eosIds(read('generation_config.json'), model.config.raw, tokenizer);
    expect(eos).toEqual([2045, 2047]);
    const ids = tokenizer.encode(prompt).ids,
      opts = { ...greedy, maxTokens: 16, eosIds: eos };
    const want = await fullForwardGenerate(be, model.net, ids, opts, eos);
    expect(want.length).toBeGreaterThan(3);
    expect(await generate(be, model, prompt, opts)).toBe(tokenizer.decode(want));
  });

  it("an empty prompt starts from config.json's bos_token_id; a bad one is refused by name", async () => {
    const be = new CpuBackend(),
      model = llamaModel(be, DEMO),
      opts = { ...greedy, eosIds: [] };
    expect(model.config.raw.bos_token_id).toBe(2044);
    const fromBos = await fullForwardGenerate(be, model.net, [2044], greedy, []);
    expect(await generateIds(be, model, [], opts)).toEqual(fromBos);
    const bad = { ...model, config: { raw: { ...model.config.raw, bos_token_id: 'x' } } };
    const err = await generateIds(be, bad, [], opts).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect(err).toMatchObject({ file: 'config.json', field: 'bos_token_id' });
    expect((err as Error).message).toMatch(/bos_token_id must be a token id, got "x"; fix or remove the field/);
  });
});
