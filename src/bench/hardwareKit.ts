// Shared by the real-GPU benchmarks (./hardware.ts, ./gpuBench.ts): cheap deterministic synthetic weights, a tokenizer
// stand-in, the sampled check that a matmul kernel is right on the adapter before it is timed, and the adapter
// targets and methods the benchmark rows train.

import type { GpuBackend } from '../gpu/backend';
import type { ModelConfig } from '../models/arch/index';
import { type InstantiateOptions, instantiate, type LoadedModel } from '../models/load';
import type { TextTokenizer } from '../models/tokenizer';
import { LLAMA_ADAPTABLE } from '../nn/llamaConfig';
import { type EstimateConfig, estimateMemory, type MemoryEstimate } from '../train/memory';
import type { TrainMethod } from '../train/trainer';
import { median } from './matmul';
import { syntheticWeights } from './weights';

/** Every linear of a GPT-2 block, and of a Llama block (PEFT's target_modules names). */
export const GPT2_TARGETS = ['attn.c_attn', 'attn.c_proj', 'mlp.c_fc', 'mlp.c_proj'];
export const LLAMA_TARGETS: string[] = [...LLAMA_ADAPTABLE];

/** LoRA r=8, alpha 16, no dropout, on the given targets. */
export const lora = (targets: string[]): TrainMethod => ({
  method: 'lora',
  targets,
  adapter: { method: 'lora', R0: 8, alpha: 16, dropout: 0, seed: 1 },
});
/** Dynamic rank b=8 as ./llama.ts DORA_B8 plans it: R0 12, alpha 8, adapter dropout 0.1, pruning every 10 steps. */
export const dynrank = (targets: string[]): TrainMethod => ({
  method: 'dora',
  targets,
  budget: 8,
  pruneInterval: 10,
  adapter: { method: 'dora', R0: 12, alpha: 8, dropout: 0.1, seed: 1 },
});

/** Cheap deterministic weights: uniform with the std of N(0, 0.02) (an LCG; 124M values in about a second). */
export function fill(n: number, seed: number, std = 0.02, offset = 0): Float32Array {
  const d = new Float32Array(n),
    amp = std * Math.sqrt(3);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    d[i] = offset + amp * (s / 2 ** 31 - 1);
  }
  return d;
}

/** A drawer for syntheticWeights: one LCG seed per tensor, in order. */
function seededFill(): (n: number, std: number, offset: number) => Float32Array {
  let seed = 1;
  return (n, std, offset) => fill(n, seed++, std, offset);
}

/** A tokenizer that only knows its vocabulary size: the benchmarks feed token ids directly. */
const benchTokenizer = (V: number): TextTokenizer => ({
  encode: () => ({ ids: [], typeIds: [] }),
  decode: () => '',
  padId: 0,
  eosId: 0,
  vocabSize: V,
});

export interface MatmulCheck {
  M: number;
  K: number;
  N: number;
  transA: boolean;
  transB: boolean;
  /** Largest allowed |out - ref| / sum |a·b| over the samples (1e-4 unless given). */
  tolerance?: number;
  /** Named in the error. */
  label?: string;
}

/** 64 sampled outputs of c = opA(a)·opB(b) against float64 dot products: the worst error relative to the sum of the
 * products' magnitudes. Throws when it exceeds the tolerance: the kernel is wrong on this adapter. */
export async function checkSample(
  be: GpuBackend,
  c: Parameters<GpuBackend['read']>[0],
  a: Float32Array,
  b: Float32Array,
  p: MatmulCheck,
): Promise<number> {
  const { M, K, N, transA: tA, transB: tB } = p;
  const got = (await be.read(c)) as Float32Array;
  let worst = 0;
  for (let s = 0; s < 64; s++) {
    const i = (s * 7919) % M,
      j = (s * 104729) % N;
    let ref = 0,
      mag = 0;
    for (let k = 0; k < K; k++) {
      const x = tA ? a[k * M + i] : a[i * K + k],
        y = tB ? b[j * K + k] : b[k * N + j];
      ref += x * y;
      mag += Math.abs(x * y);
    }
    worst = Math.max(worst, Math.abs(got[i * N + j] - ref) / Math.max(mag, 1e-6));
  }
  const tol = p.tolerance ?? 1e-4;
  if (!(worst < tol))
    throw new Error(
      `${p.label ?? 'matmul'} ${M}x${K}x${N} is wrong on this adapter: relative error ${worst} (tolerance ${tol})`,
    );
  return worst;
}

/** ms per op: `run(n)` issues n ops back to back in one submission; after `warmup` ops (pipelines compile) and
 * `afterWarmup`, n grows (at most 4096) until a timing takes >= minMs, and the median of 3 timings at that n counts. */
export async function timeOps(
  be: GpuBackend,
  run: (n: number) => void,
  o: { minMs: number; warmup: number; afterWarmup?: () => Promise<unknown> },
): Promise<{ msPerOp: number; n: number }> {
  const timed = async (n: number) => {
    const t0 = performance.now();
    run(n);
    be.flush();
    await be.ctx.device.queue.onSubmittedWorkDone();
    return performance.now() - t0;
  };
  await timed(o.warmup);
  await o.afterWarmup?.();
  let n = 1;
  while (n < 4096) {
    const t = await timed(n);
    if (t >= o.minMs) break;
    n = Math.min(4096, Math.ceil(n * Math.max(2, (o.minMs * 1.3) / Math.max(t, 0.01))));
  }
  return { msPerOp: median([await timed(n), await timed(n), await timed(n)]) / n, n };
}

/** The model of `cfg` with seeded synthetic weights and the stand-in tokenizer, as every benchmark row loads it. */
export function syntheticModel(
  be: GpuBackend,
  cfg: ModelConfig,
  name: string,
  opts: InstantiateOptions = {},
): LoadedModel {
  const weights = { tensors: syntheticWeights(cfg, seededFill()), initialized: [], ignored: [] };
  return instantiate(be, cfg, benchTokenizer(cfg.arch.vocabSize), weights, name, opts);
}

/** The memory estimate of a benchmark row's step: batch B of length T, `method` as lora/dynrank build it (rank 8;
 * budget 8 from R0 12), then `extra` (the row's memory options). */
export function rowEstimate(
  model: LoadedModel,
  row: { B: number; T: number; method: TrainMethod },
  extra: Partial<EstimateConfig> = {},
): MemoryEstimate {
  const m = row.method;
  const dropout = 'adapter' in m ? m.adapter.dropout : 0;
  const base = { batch: row.B, seq: row.T, method: m.method, budget: 8, rank: 8, r0: 12, targets: m.targets, dropout };
  return estimateMemory(model, { ...base, ...extra });
}
