// Activation recomputation (src/nn/recompute.ts): 'blocks' keeps only each block's input and reruns its forward in the
// backward; 'selective' keeps one block's attention probabilities and norm outputs and reruns each block's attention
// forward and norms before the backward ops that read them. Steps equal the non-recompute run (bitwise on the CPU: the same kernels on the same inputs;
// dropout masks redrawn from their seeds) for GPT-2 and BERT with model and adapter dropout, a Llama causal LM and
// classifier, also with micro-batches; on WebGPU the step stays one submission and holds fewer live bytes ('selective':
// exactly the other blocks' probabilities fewer).

import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/models/config';
import { instantiate, type LoadedModel, loadModel } from '../../src/models/load';
import { dirSource } from '../../src/models/node';
import type { Recompute } from '../../src/nn/recompute';
import type { Backend } from '../../src/tensor/backend';
import { CpuBackend } from '../../src/tensor/cpu';
import { Rng } from '../../src/tensor/rng';
import { selectiveSavingBytes } from '../../src/train/memory';
import { type HostBatch, taskFor } from '../../src/train/task';
import { DEFAULT_OPTIM, Trainer, type TrainerOptions, type TrainMethod } from '../../src/train/trainer';
import { gpuBackend } from '../helpers/gpu';
import { llamaFolder } from '../helpers/llamaFolder';
import { idsTokenizer, randomGpt2 } from '../helpers/randomModel';

const B = 4,
  T = 8;
const tok = idsTokenizer(41);

/** A tiny GPT-2 (3 blocks) with transformers' default dropout 0.1 on embeddings, residuals and attention. */
async function gpt2(be: Backend): Promise<LoadedModel> {
  const config = parseConfig({
    model_type: 'gpt2',
    vocab_size: 41,
    n_positions: 16,
    n_embd: 16,
    n_layer: 3,
    n_head: 2,
  });
  const tensors = randomGpt2({ V: 41, P: 16, C: 16, L: 3 });
  return instantiate(be, config, tok, { tensors, initialized: [], ignored: [] }, 'tiny');
}

const llama = (be: Backend) => loadModel(dirSource(llamaFolder('llama-gqa')), be, { seed: 3 });
const bert = (be: Backend) => loadModel(dirSource('public/models/bert-tiny'), be, { seed: 3, numLabels: 3 });
const llamaCls = (be: Backend) =>
  loadModel(dirSource(llamaFolder('llama-gqa')), be, { seed: 3, task: 'seq-cls', numLabels: 3 });

/** Causal-LM rows with a masked prompt, or classification rows of varied length (right padding). */
function batch(model: LoadedModel, seed: number): HostBatch {
  const r = new Rng(seed),
    V = Math.min(model.tokenizer.vocabSize || 40, 40) || 40;
  if (model.task === 'causal-lm') {
    const ids = Int32Array.from({ length: B * T }, () => 1 + r.int(V - 1));
    const targets = Int32Array.from(ids, (_, i) => (i % T < 2 || i % T === T - 1 ? -100 : ids[i + 1]));
    return { kind: 'lm', B, T, ids, targets };
  }
  const seqs = Array.from({ length: B }, () => ({
    ids: Array.from({ length: 3 + r.int(T - 3) }, () => 1 + r.int(V - 1)),
    typeIds: [],
  }));
  return {
    kind: 'cls',
    enc: model.arch.clsBatch(model.config, seqs, T),
    labels: Int32Array.from(seqs, () => r.int(3)),
  };
}

function method(model: LoadedModel, kind: 'dora' | 'lora'): TrainMethod {
  const targets = [...model.arch.defaultTargets];
  return kind === 'dora'
    ? {
        method: 'dora',
        targets,
        budget: 2,
        pruneInterval: 1,
        adapter: { method: 'dora', R0: 3, alpha: 8, dropout: 0.1, seed: 5 },
      }
    : { method: 'lora', targets, adapter: { method: 'lora', R0: 4, alpha: 8, dropout: 0.1, seed: 5 } };
}

interface Outcome {
  losses: number[];
  params: number[];
}

async function train(
  be: Backend,
  load: (be: Backend) => Promise<LoadedModel>,
  kind: 'dora' | 'lora',
  opts: TrainerOptions,
  steps = 3,
): Promise<Outcome & { trainer: Trainer }> {
  const model = await load(be);
  const tr = new Trainer(
    be,
    taskFor(be, model),
    method(model, kind),
    { ...DEFAULT_OPTIM, lr: 2e-2, totalSteps: steps, warmupFraction: 0, dem: { eta: 0.1, variant: 'code' } },
    opts,
  );
  if (kind === 'lora') {
    const r = new Rng(9);
    be.write(
      tr.adapters!.theta,
      Float32Array.from({ length: tr.adapters!.size }, () => r.uniform(-0.2, 0.2)),
    );
  }
  const losses: number[] = [];
  for (let s = 1; s <= steps; s++) {
    tr.trainStep(batch(model, s));
    losses.push(await tr.lastLoss());
  }
  const params: number[] = [];
  for (const g of tr.groups) params.push(...(await be.read(g.param)));
  return { losses, params, trainer: tr };
}

function maxDiff(a: number[], b: number[]): number {
  expect(a.length).toBe(b.length);
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
}

const MODELS = [
  ['GPT-2', gpt2, 'dora'],
  ['Llama causal LM', llama, 'dora'],
  ['Llama classifier', llamaCls, 'lora'],
  ['BERT classifier', bert, 'lora'],
] as const;

const MODES = ['selective', 'blocks'] as const;
const EACH = MODELS.flatMap(([name, load, kind]) => MODES.map((mode) => [name, mode, load, kind] as const));

describe('recompute on the CPU backend', () => {
  it.each(EACH)('%s, %s: the same steps, bitwise', async (_, recompute, load, kind) => {
    const plain = await train(new CpuBackend(), load, kind, {});
    const re = await train(new CpuBackend(), load, kind, { recompute });
    expect(re.losses).toEqual(plain.losses);
    expect(re.params).toEqual(plain.params);
  });

  it.each(EACH)('%s, %s: with micro-batches of 1 too, to float tolerance', async (_, recompute, load, kind) => {
    const plain = await train(new CpuBackend(), load, kind, {});
    const both = await train(new CpuBackend(), load, kind, { recompute, microBatch: 1 });
    expect(maxDiff(both.losses, plain.losses)).toBeLessThan(1e-5);
    expect(maxDiff(both.params, plain.params)).toBeLessThan(2e-5);
  });

  it.each([MODELS[0], MODELS[1], MODELS[3]])(
    '%s: blocks share one set of internal activations, fewer tensors; selective one att (and norm output), fewer than none',
    async (name, load, kind) => {
      let L = 0;
      const count = async (recompute: Recompute) => {
        const be = new CpuBackend();
        let n = 0;
        const zeros = be.zeros.bind(be);
        be.zeros = (...a: Parameters<Backend['zeros']>) => {
          n++;
          return zeros(...a);
        };
        const model = (await train(be, load, kind, { recompute }, 1)).trainer.task.model;
        L = model.arch.dims(model.config).layers;
        return n;
      };
      const none = await count('none');
      expect(await count('blocks')).toBeLessThan(await count('selective'));
      // One att instead of one per block; in pre-norm blocks one norm output instead of two per block.
      const norms = name === 'BERT classifier' ? 0 : 2 * L - 1;
      expect(await count('selective')).toBe(none - (L - 1) - norms);
    },
  );
});

describe('recompute on WebGPU', () => {
  it.each(EACH.filter((e) => e[0] !== 'Llama classifier'))(
    '%s, %s: the same steps, one submission, fewer live bytes',
    async (_, recompute, load, kind) => {
      const gpu = await gpuBackend(),
        ctx = gpu.ctx;
      const measure = async (opts: TrainerOptions) => {
        ctx.trim();
        const before = ctx.counters.bytesLive,
          out = await train(gpu, load, kind, opts),
          c0 = { ...ctx.counters };
        out.trainer.trainStep(batch(out.trainer.task.model, 9));
        expect(ctx.counters.submissions - c0.submissions).toBe(1);
        expect(ctx.counters.readbacks - c0.readbacks).toBe(0);
        expect(ctx.counters.bufferCreations - c0.bufferCreations).toBe(0);
        return { ...out, bytes: ctx.counters.bytesLive - before };
      };
      // A first run takes the one-time allocations (the uniform arena, readback buffers), so the two measured runs
      // differ by their activations alone.
      await measure({});
      const plain = await measure({}),
        re = await measure({ recompute });
      expect(maxDiff(re.losses, plain.losses)).toBeLessThan(1e-6);
      expect(maxDiff(re.params, plain.params)).toBeLessThan(1e-6);
      expect(re.bytes).toBeLessThan(plain.bytes);
      if (recompute === 'selective') {
        // The other blocks' probabilities and norm outputs, as the estimate counts them (selectiveSavingBytes,
        // src/train/memory.ts).
        expect(plain.bytes - re.bytes).toBe(selectiveSavingBytes(re.trainer.task.model, B, T));
      }
    },
  );
});
