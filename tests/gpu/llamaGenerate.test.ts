// Llama-family generation through the KV cache on WebGPU, for each causal fixture and the demo model: prefill and
// decode-step logits equal the GPU training forward's last position; greedy tokens equal the GPU full forward per
// token and the CPU backend's, base and with a LoRA adapter on q_proj/v_proj; a decode step after the first is one
// submission with no buffer, pipeline or bind-group creation.

import { describe, expect, it } from 'vitest';
import { diffCounters } from '../../src/gpu/counters';
import { generateIds } from '../../src/models/generate';
import type { Llama } from '../../src/nn/llamaCausal';
import type { Backend } from '../../src/tensor/backend';
import { CpuBackend } from '../../src/tensor/cpu';
import { expectClose } from '../helpers/check';
import { fullForwardGenerate } from '../helpers/fullGenerate';
import { gpuBackend } from '../helpers/gpu';
import { LLAMA_DECODERS, llamaModel, loraQv, promptIds } from '../helpers/llamaNet';

const greedy = { maxTokens: 8, temperature: 0, topK: 0, seed: 1 };

/** Last-position logits (1, V) of the training forward over `ids`. */
async function forwardLast(be: Backend, net: Llama, ids: number[]): Promise<Float32Array> {
  const V = net.vocabSize,
    t = be.fromArray(Int32Array.from(ids), [ids.length], 'ids');
  const all = (await be.read(net.forward(t, 1, ids.length))) as Float32Array;
  be.dispose(t);
  return all.slice((ids.length - 1) * V);
}

describe.each(LLAMA_DECODERS)('Llama KV-cache generation (webgpu, %s)', (_, dir) => {
  it('prefill and decode steps equal the forward; greedy tokens equal the full forward and the CPU, base and LoRA', async () => {
    const gpu = await gpuBackend(),
      cpu = new CpuBackend();
    const gm = llamaModel(gpu, dir),
      cm = llamaModel(cpu, dir),
      V = gm.net.vocabSize,
      prompt = promptIds(5, V);
    const ctx = [...prompt],
      cache = gm.net.createCache(1, 8);
    let got = await gpu.read(gm.net.prefill(cache, Int32Array.from(ctx), ctx.length));
    for (let step = 0; ; step++) {
      expectClose(got, await forwardLast(gpu, gm.net, ctx), 1e-5, 1e-5, `logits after ${ctx.length} tokens`);
      if (step === 3) break;
      ctx.push((step * 53 + 7) % V);
      got = await gpu.read(gm.net.decodeStep(cache, Int32Array.of(ctx[ctx.length - 1])));
    }
    cache.dispose();
    const opts = { ...greedy, eosIds: [] };
    for (const adapted of [false, true]) {
      if (adapted) {
        loraQv(gpu, gm.net);
        loraQv(cpu, cm.net);
      }
      const tokens = await generateIds(gpu, gm, prompt, opts);
      expect(tokens).toHaveLength(greedy.maxTokens);
      expect(tokens).toEqual(await fullForwardGenerate(gpu, gm.net, prompt, greedy, []));
      expect(tokens).toEqual(await generateIds(cpu, cm, prompt, opts));
    }
  });

  it('a decode step (with LoRA) is one submission and creates nothing after the first step', async () => {
    const gpu = await gpuBackend(),
      { net } = llamaModel(gpu, dir),
      ctx = gpu.ctx;
    loraQv(gpu, net);
    const cache = net.createCache(1, 16);
    await gpu.read(net.prefill(cache, Int32Array.from([5, 6, 7]), 3));
    await gpu.read(net.decodeStep(cache, Int32Array.of(8)));
    const before = { ...ctx.counters };
    await gpu.read(net.decodeStep(cache, Int32Array.of(9)));
    const d = diffCounters(ctx.counters, before);
    expect(d.submissions).toBe(1);
    expect(d.bufferCreations).toBe(0);
    expect(d.pipelineCreations).toBe(0);
    expect(d.bindGroupCreations).toBe(0);
    expect(d.readbacks).toBe(1);
    expect(cache.length).toBe(5);
    cache.dispose();
  });
});
