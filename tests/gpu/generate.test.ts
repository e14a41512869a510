// Generation through the KV cache on WebGPU (gpt2-tiny): greedy tokens equal the GPU full forward per token and the
// CPU backend's, with and without a LoRA adapter; a decode step after the first is one submission with no buffer,
// pipeline or bind-group creation.

import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { diffCounters } from '../../src/gpu/counters';
import { type Gpt2Model, generateIds } from '../../src/models/generate';
import { loadModel } from '../../src/models/load';
import { dirSource } from '../../src/models/node';
import { AdapterSet } from '../../src/peft/adapters';
import type { Backend } from '../../src/tensor/backend';
import { CpuBackend } from '../../src/tensor/cpu';
import { randArray } from '../helpers/check';
import { fullForwardGenerate } from '../helpers/fullGenerate';
import { gpuBackend } from '../helpers/gpu';

const TINY = join(dirname(fileURLToPath(import.meta.url)), '../../public/models/gpt2-tiny');
const greedy = { maxTokens: 10, temperature: 0, topK: 0, seed: 1 };
const load = async (be: Backend) => (await loadModel(dirSource(TINY), be)) as Gpt2Model;

/** A LoRA adapter with small random A and B on every linear (eval mode). */
function lora(be: Backend, model: Gpt2Model): AdapterSet {
  const set = new AdapterSet(be, model.net.linears(), { method: 'lora', R0: 4, alpha: 8, dropout: 0.1, seed: 1 });
  set.training = false;
  be.write(set.theta, randArray(set.size, 5, -0.1, 0.1));
  return set;
}

describe('generate through the KV cache (webgpu, gpt2-tiny)', () => {
  it('greedy tokens equal the full forward per token and the CPU backend, base and with LoRA', async () => {
    const gpu = await gpuBackend(),
      cpu = new CpuBackend();
    const [gm, cm] = [await load(gpu), await load(cpu)];
    const ids = gm.tokenizer.encode('The cat sat on the').ids;
    for (const adapted of [false, true]) {
      if (adapted) {
        lora(gpu, gm);
        lora(cpu, cm);
      }
      const got = await generateIds(gpu, gm, ids, greedy);
      expect(got.length).toBeGreaterThan(3);
      expect(got).toEqual(await fullForwardGenerate(gpu, gm.net, ids, greedy, [1023]));
      expect(got).toEqual(await generateIds(cpu, cm, ids, greedy));
    }
  });

  it('a decode step is one submission and creates nothing after the first step', async () => {
    const gpu = await gpuBackend(),
      model = await load(gpu),
      ctx = gpu.ctx;
    lora(gpu, model);
    const cache = model.net.createCache(1, 16);
    await gpu.read(model.net.prefill(cache, Int32Array.from([5, 6, 7]), 3));
    await gpu.read(model.net.decodeStep(cache, Int32Array.of(8)));
    const before = { ...ctx.counters };
    await gpu.read(model.net.decodeStep(cache, Int32Array.of(9)));
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
