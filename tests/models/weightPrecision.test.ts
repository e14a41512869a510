// Weight precision 'f16' on real-shaped models: gpt2-tiny (tied LM head, learned positions), the Qwen2 fixture
// (untied LM head, biases) and the bf16 Llama checkpoint (bf16 -> f16 on the host). Checked: WebGPU against the CPU
// reference at the same precision (both multiply the same f16-rounded weights in f32, so golden.test.ts's f32
// tolerances apply), the f16 path against the f32 one (printed, and bounded: f16 keeps 11 significant bits, a
// relative rounding of at most 2^-11 = 4.9e-4 per weight), the GPU bytes of the weights, the refusal to train f16
// weights, and a LoRA run whose losses track the f32 run.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { GpuBackend } from '../../src/gpu/backend';
import type { CausalLmNet } from '../../src/models/arch/types';
import { type LoadedModel, loadModel } from '../../src/models/load';
import { dirSource } from '../../src/models/node';
import { toFloat32 } from '../../src/models/safetensorsDecode';
import { parseSafetensors } from '../../src/models/safetensorsRead';
import { WeightPrecisionError } from '../../src/nn/params';
import type { Backend, WeightPrecision } from '../../src/tensor/backend';
import { CpuBackend } from '../../src/tensor/cpu';
import { estimateMemory } from '../../src/train/memory';
import { createTrainer, DEFAULT_RUN, type PreparedData, type RunConfig } from '../../src/train/run';
import { type HostBatch, taskFor } from '../../src/train/task';
import { DEFAULT_OPTIM, Trainer } from '../../src/train/trainer';
import { expectClose } from '../helpers/check';
import { gpuBackend } from '../helpers/gpu';
import { loadFolder } from '../helpers/modelFolder';

// [name, folder, input ids, bounds on the logits' max |f16 - f32| / max |logit|]. A bf16 checkpoint converts to f16
// exactly but for values below f16's normal range (2^-14), hence the tiny bound.
const MODELS = [
  ['gpt2-tiny', 'public/models/gpt2-tiny', 'tests/fixtures/golden/gpt2-tiny.io.safetensors', 1e-5, 5e-3],
  [
    'qwen2-bias',
    'tests/fixtures/llama/qwen2-bias',
    'tests/fixtures/llama/qwen2-bias/golden.io.safetensors',
    1e-5,
    5e-3,
  ],
  ['llama-bf16', 'tests/fixtures/llama/llama-bf16', 'tests/fixtures/llama/llama-bf16/golden.io.safetensors', 0, 1e-6],
] as const;

const load = loadFolder;

function ioIds(file: string): { ids: Int32Array; B: number; T: number } {
  const e = parseSafetensors(new Uint8Array(readFileSync(file)), file).tensors.get('input_ids')!;
  const ids = Int32Array.from(toFloat32(e));
  return { ids, B: e.shape[0], T: e.shape[1] };
}

/** Logits and mean next-token loss of the model on the ids. */
async function forward(be: Backend, m: LoadedModel, io: ReturnType<typeof ioIds>) {
  const { ids, B, T } = io,
    net = m.net as CausalLmNet;
  const targets = Int32Array.from(ids, (_, i) => (i % T === T - 1 ? -100 : ids[i + 1]));
  const logits = (await be.read(net.forward(be.fromArray(ids, [B * T]), B, T))) as Float32Array;
  const { lossSum, count } = net.loss(be.fromArray(targets, [B * T]));
  return { logits, loss: (await be.read(lossSum))[0] / (await be.read(count))[0] };
}

function maxRelative(a: Float32Array, b: Float32Array): number {
  let d = 0,
    s = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    s = Math.max(s, Math.abs(b[i]));
  }
  return d / s;
}

describe.each(MODELS)('weight precision f16: %s', (name, dir, io, lo, hi) => {
  it('WebGPU matches the CPU reference at f16, and f16 tracks f32 (logits, loss)', async () => {
    const cpu = new CpuBackend(),
      gpu = await gpuBackend(),
      ids = ioIds(io);
    const cpu16 = await forward(cpu, await load(cpu, dir, 'f16'), ids);
    const m16 = await load(gpu, dir, 'f16');
    // Every matrix is stored in f16, every vector (norms, biases) in f32.
    for (const t of m16.params.tensors.values()) expect(t.dtype, t.label).toBe(t.shape.length >= 2 ? 'f16' : 'f32');
    const gpu16 = await forward(gpu, m16, ids);
    const gpu32 = await forward(gpu, await load(gpu, dir, 'f32'), ids);
    expectClose(gpu16.logits, cpu16.logits, 2e-5, 1e-4, `${name} f16 logits webgpu vs cpu`);
    expect(Math.abs(gpu16.loss - cpu16.loss)).toBeLessThan(2e-5);
    const rel = maxRelative(gpu16.logits, gpu32.logits),
      dLoss = Math.abs(gpu16.loss - gpu32.loss);
    console.log(
      `[f16 vs f32] ${name}: logits max |diff| / max |logit| = ${rel.toExponential(2)}, ` +
        `loss ${gpu32.loss.toFixed(6)} (f32) vs ${gpu16.loss.toFixed(6)} (f16), |diff| = ${dLoss.toExponential(2)}`,
    );
    expect(rel).toBeGreaterThanOrEqual(lo); // the weights were rounded
    expect(rel).toBeLessThan(hi);
    expect(dLoss).toBeLessThan(2e-3);
  });
});

describe('weight precision f16: memory and training', () => {
  it('halves the GPU bytes of the matrices (norms and biases stay f32) and the estimate follows', async () => {
    const gpu = (await gpuBackend()) as GpuBackend,
      c = gpu.ctx.counters;
    const bytes: Record<WeightPrecision, number> = { f32: 0, f16: 0 };
    const models: Partial<Record<WeightPrecision, LoadedModel>> = {};
    for (const p of ['f32', 'f16'] as const) {
      const before = c.bytesAllocated;
      models[p] = await load(gpu, 'public/models/gpt2-tiny', p);
      bytes[p] = c.bytesAllocated - before;
    }
    let matrices = 0,
      vectors = 0;
    for (const t of models.f32!.weights.tensors.values()) {
      if (t.shape.length >= 2) matrices += t.data.length * 4;
      else vectors += t.data.length * 4;
    }
    console.log(`[f16 memory] gpt2-tiny weights on the GPU: ${bytes.f32} bytes (f32) -> ${bytes.f16} bytes (f16)`);
    // Buffers are pooled in 16-byte steps: allow 16 bytes per tensor.
    const slack = 16 * models.f32!.weights.tensors.size;
    expect(bytes.f32).toBeGreaterThanOrEqual(matrices + vectors);
    expect(bytes.f16).toBeLessThanOrEqual(matrices / 2 + vectors + slack);
    expect(bytes.f16).toBeLessThan(0.52 * bytes.f32);
    const cfg = { ...DEFAULT_RUN, method: 'lora' as const };
    expect(estimateMemory(models.f16!, cfg).weights).toBe(matrices / 2 + vectors);
    expect(estimateMemory(models.f32!, cfg).weights).toBe(matrices + vectors);
  });

  it('refuses to train f16 weights: full fine-tuning and gradients of a base weight', async () => {
    const cpu = new CpuBackend(),
      m = await load(cpu, 'public/models/gpt2-tiny', 'f16');
    const data = { train: { kind: 'lm', windows: [new Int32Array(9)], seq: 8 } } as unknown as PreparedData;
    const cfg: RunConfig = { ...DEFAULT_RUN, method: 'full', weightPrecision: 'f16' };
    expect(() => createTrainer(cpu, m, data, cfg)).toThrow(WeightPrecisionError);
    expect(() => createTrainer(cpu, m, data, cfg)).toThrow(/weightPrecision 'f16'.*method 'full'/);
    expect(() => (m.net as CausalLmNet).enableAllGradients()).toThrow(
      /base weight ".*" is stored in f16.*cannot be trained/,
    );
  });

  it('a classifier keeps its trained head in f32 and trains LoRA on f16 weights (bert-tiny, CPU)', async () => {
    const cpu = new CpuBackend();
    const m = await loadModel(dirSource('public/models/bert-tiny'), cpu, { numLabels: 2, weightPrecision: 'f16' });
    expect(m.params.tensors.get('classifier.weight')!.dtype).toBe('f32');
    expect(m.params.tensors.get('pooler.dense.weight')!.dtype).toBe('f16');
    const tr = new Trainer(
      cpu,
      taskFor(cpu, m),
      {
        method: 'lora',
        targets: ['attention.self.query'],
        adapter: { method: 'lora', R0: 2, alpha: 4, dropout: 0, seed: 1 },
      },
      { ...DEFAULT_OPTIM, lr: 1e-2, totalSteps: 2 },
    );
    const seqs = [
      { ids: [2, 5, 7, 9, 3], typeIds: [0, 0, 0, 0, 0] },
      { ids: [2, 8, 3], typeIds: [0, 0, 0] },
    ];
    tr.trainStep({ kind: 'cls', enc: m.arch.clsBatch(m.config as never, seqs), labels: Int32Array.from([0, 1]) });
    expect(Number.isFinite(await tr.lastLoss())).toBe(true);
  });

  it('a LoRA run on f16 weights tracks the f32 run step by step (WebGPU), and matches the CPU at f16', async () => {
    const steps = 8,
      B = 2,
      T = 16,
      V = 1024;
    const batches: HostBatch[] = Array.from({ length: steps }, (_, s) => {
      const ids = Int32Array.from({ length: B * T }, (_, i) => (i * 37 + s * 11) % V);
      const targets = Int32Array.from(ids, (_, i) => (i % T === T - 1 ? -100 : (ids[i] * 5 + 1) % V));
      return { kind: 'lm', B, T, ids, targets };
    });
    const run = async (be: Backend, p: WeightPrecision): Promise<number[]> => {
      const m = await load(be, 'public/models/gpt2-tiny', p);
      const tr = new Trainer(
        be,
        taskFor(be, m),
        {
          method: 'lora',
          targets: ['attn.c_attn', 'attn.c_proj', 'mlp.c_fc', 'mlp.c_proj'],
          adapter: { method: 'lora', R0: 4, alpha: 8, dropout: 0, seed: 3 },
        },
        { ...DEFAULT_OPTIM, lr: 1e-2, totalSteps: steps, modelDropout: false },
      );
      const losses: number[] = [];
      for (const b of batches) {
        tr.trainStep(b);
        losses.push(await tr.lastLoss());
      }
      return losses;
    };
    const gpu = await gpuBackend();
    const [l32, l16, c16] = [await run(gpu, 'f32'), await run(gpu, 'f16'), await run(new CpuBackend(), 'f16')];
    const worst = Math.max(...l16.map((l, i) => Math.abs(l - l32[i])));
    console.log(
      `[f16 training] gpt2-tiny LoRA, ${steps} steps: f32 ${l32[0].toFixed(4)} -> ${l32[steps - 1].toFixed(4)}, ` +
        `f16 ${l16[0].toFixed(4)} -> ${l16[steps - 1].toFixed(4)}, max |loss diff| ${worst.toExponential(2)}`,
    );
    expect(l16[steps - 1]).toBeLessThan(l16[0] - 0.5); // it learns
    expect(worst).toBeLessThan(5e-3);
    for (let i = 0; i < steps; i++) expect(Math.abs(l16[i] - c16[i]), `step ${i + 1}`).toBeLessThan(1e-4);
  });
});
