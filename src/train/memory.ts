// An analytical estimate of the GPU memory a fine-tuning run needs: frozen weights, activations kept for the
// backward, and adapter/optimizer state. Shown before training and in out-of-memory messages.

import { adaptableModules, archFor, type ModelConfig } from '../models/arch/index';
import type { ArchDescriptor } from '../models/arch/types';
import type { LoadedModel } from '../models/load';
import { ATTENTION_MATMUL_MIN_T } from '../ops/attention';
import { TargetError } from '../peft/adapters';
import type { RunConfig } from './run';

export interface MemoryEstimate {
  weights: number;
  activations: number;
  adapterAndOptimizer: number;
  /** The GPU engine's own buffers: its kernels' uniform arena (src/gpu/context.ts), at its initial size. */
  engine: number;
  total: number;
}

/** The uniform arena's initial size: 2048 slots of 256 bytes (src/gpu/context.ts); it doubles only past 2048
 * dispatches in one step. */
const ENGINE_BYTES = 2048 * 256;

/** What the estimate needs of a model: its family, config.json and the shape of every canonical tensor (tied heads
 * once), so it runs from config.json and a safetensors header alone, before any weight is read or uploaded. */
export interface ModelShapes {
  arch: ArchDescriptor<ModelConfig>;
  config: ModelConfig;
  weights: ReadonlyMap<string, readonly number[]>;
}

/** The run settings the estimate reads. `weightPrecision` f16 stores the frozen base matrices (2-D tensors) in half
 * precision; `microBatch` sizes the activations (gradients accumulate over batch / microBatch passes); `recompute`
 * 'selective' keeps one block's attention probabilities and norm outputs at a time, 'blocks' each block's input and
 * one block's internals at a time (src/nn/recompute.ts). `dropout` (the adapters' input dropout) is accepted and costs nothing:
 * its mask is drawn in the kernels, never stored. */
export type EstimateConfig = Pick<RunConfig, 'batch' | 'seq' | 'method' | 'budget' | 'r0' | 'rank'> &
  Partial<Pick<RunConfig, 'targets' | 'dropout' | 'microBatch' | 'recompute' | 'weightPrecision'>>;

/** The canonical tensor shapes of a loaded model, or of its files before loading (readModelFiles): no weight data
 * read. */
export function shapesOf(model: Pick<LoadedModel, 'config' | 'weights'>): ModelShapes {
  const weights = new Map<string, readonly number[]>();
  for (const [n, t] of model.weights.tensors) weights.set(n, t.shape);
  return { arch: archFor(model.config), config: model.config, weights };
}

/** The canonical tensor shapes a config implies (the family's weightShapes): a model's shapes without its files. */
export function configShapes(config: ModelConfig): ModelShapes {
  const arch = archFor(config);
  const weights = new Map<string, readonly number[]>();
  for (const [n, { shape }] of arch.weightShapes(config)) weights.set(n, shape);
  return { arch, config, weights };
}

/** Bytes, f32 throughout except frozen base matrices at weight precision f16. Adapter state counts theta, grad and
 * both AdamW moments at R0 (all components train); adapter activations count what each adapted module keeps for its
 * backward: h = xd·Aᵀ (N x R0). The dropped-out input xd is never stored (the adapter kernels draw the dropout mask as
 * they read x, which the model keeps anyway), so dropout costs no memory. Without `targets`, every linear layer counts
 * as adapted. */
export function estimateMemory(model: LoadedModel, cfg: EstimateConfig): MemoryEstimate {
  // A model loaded with f16 weights is estimated at f16 unless the config says otherwise.
  const loadedF16 = [...model.params.tensors.values()].some((t) => t.dtype === 'f16');
  return estimateShapes(shapesOf(model), {
    ...cfg,
    weightPrecision: cfg.weightPrecision ?? (loadedF16 ? 'f16' : undefined),
  });
}

/** What recompute 'selective' frees at batch (B, T) (src/nn/recompute.ts): every block's attention probabilities but
 * one set, and the family's norm outputs per block (selectiveNorms) but one buffer. */
export function selectiveSavingBytes(m: Pick<ModelShapes, 'arch' | 'config'>, B: number, T: number): number {
  const { layers: L, hidden: C, heads: H } = m.arch.dims(m.config);
  const norms = m.arch.selectiveNorms ? m.arch.selectiveNorms * L - 1 : 0;
  return 4 * ((L - 1) * B * H * T * T + norms * B * T * C);
}

/** The same estimate from shapes alone (the memory plan, `dynrank plan`). */
export function estimateShapes(m: ModelShapes, cfg: EstimateConfig): MemoryEstimate {
  const { arch, config } = m;
  const half = cfg.weightPrecision === 'f16' && cfg.method !== 'full';
  const heads = arch.headModules(config.task).map((h) => `${h}.`);
  let base = 0,
    weights = 0;
  for (const [name, shape] of m.weights) {
    const n = shape.reduce((a, b) => a * b, 1);
    base += 4 * n;
    const frozenMatrix = half && shape.length >= 2 && !heads.some((h) => name.startsWith(h));
    weights += (frozenMatrix ? 2 : 4) * n;
  }
  const mb = cfg.microBatch ?? cfg.batch,
    T = cfg.seq,
    N = mb * T;
  const { layers: L, hidden: C, heads: H } = arch.dims(config);
  let activations = arch.activationBytes(config, mb, T);
  // On GPUs attention from ATTENTION_MATMUL_MIN_T on keeps one (mb,H,T,T) f32 scratch (src/gpu/kernels/attention.ts).
  if (T >= ATTENTION_MATMUL_MIN_T) activations += 4 * mb * H * T * T;
  if (cfg.recompute === 'selective') activations -= selectiveSavingBytes(m, mb, T);
  if (cfg.recompute === 'blocks') {
    // Every block's input kept, one block's internals at a time (the block being recomputed and differentiated).
    const block = arch.blockActivationBytes(config, mb, T);
    activations += (1 - L) * block + 4 * L * N * C;
  }
  const all = adaptableModules(config);
  let adapted = all;
  if (cfg.targets) {
    const valid = [...new Set(all.map((l) => l.type))];
    for (const t of cfg.targets) if (!valid.includes(t)) throw new TargetError(t, valid);
    adapted = all.filter((l) => cfg.targets!.includes(l.type));
  }
  const R = cfg.method === 'lora' ? cfg.rank : cfg.method === 'dora' ? (cfg.r0 ?? Math.ceil(1.5 * cfg.budget)) : 0;
  let adapterAndOptimizer = cfg.method === 'full' ? 3 * base : 0;
  if (R > 0 && adapted.length) {
    let dims = 0,
      saved = 0;
    for (const l of adapted) {
      dims += l.inF + l.outF + (cfg.method === 'dora' ? 1 : 0);
      saved += N * R;
    }
    adapterAndOptimizer = 4 * 4 * R * dims;
    // With recompute only the block in flight keeps its adapters' activations.
    if (cfg.recompute === 'blocks') saved /= Math.max(1, L);
    // Shared backward scratch: dh.
    activations += 4 * (saved + N * R);
  }
  const engine = ENGINE_BYTES;
  return {
    weights,
    activations,
    adapterAndOptimizer,
    engine,
    total: weights + activations + adapterAndOptimizer + engine,
  };
}

export function formatBytes(n: number): string {
  return n >= 2 ** 30 ? `${(n / 2 ** 30).toFixed(2)} GiB` : `${(n / 2 ** 20).toFixed(1)} MiB`;
}

/** The run does not fit on the device; the message carries the estimate and what to change. */
export class TrainingMemoryError extends Error {
  override name = 'TrainingMemoryError';
  constructor(
    readonly estimate: MemoryEstimate,
    detail: string,
  ) {
    super(
      `not enough GPU memory for this run (estimated ${formatBytes(estimate.total)}: weights ${formatBytes(estimate.weights)}, ` +
        `activations ${formatBytes(estimate.activations)}, adapters and optimizer ${formatBytes(estimate.adapterAndOptimizer)}). ` +
        `Lower the batch size or the sequence length (activations grow with both), adapt fewer module types, or use a smaller model. (${detail})`,
    );
  }
}
