// An analytical estimate of the GPU memory a fine-tuning run needs: frozen weights, activations kept for the
// backward, and adapter/optimizer state. Shown before training and in out-of-memory messages.

import type { LoadedModel } from '../models/load';
import { selectLinears } from '../peft/adapters';
import type { RunConfig } from './run';

export interface MemoryEstimate {
  weights: number;
  activations: number;
  adapterAndOptimizer: number;
  total: number;
}

/** Bytes, f32 throughout except base weights stored in f16. Adapter state counts theta, grad and both AdamW moments at R0 (all components train);
 * adapter activations count what each adapted module keeps for its backward (h = x·Aᵀ, and the dropped-out input
 * when dropout is on: at BERT-base width with B*T = 4096 that is 1.4 GB, more than the adapters themselves). Without
 * `targets`, every linear layer counts as adapted. */
export function estimateMemory(
  model: LoadedModel,
  cfg: Pick<RunConfig, 'batch' | 'seq' | 'method' | 'budget' | 'r0' | 'rank'> &
    Partial<Pick<RunConfig, 'targets' | 'dropout' | 'microBatch'>>,
): MemoryEstimate {
  let weights = 0;
  // 2 bytes per element of a weight stored in f16 (weight precision 'f16'), 4 otherwise.
  for (const [name, t] of model.weights.tensors)
    weights += t.data.length * (model.params.tensors.get(name)?.dtype === 'f16' ? 2 : 4);
  // Activations are sized by the rows of one forward/backward pass.
  const B = cfg.microBatch ?? cfg.batch,
    T = cfg.seq,
    N = B * T;
  let activations = model.arch.activationBytes(model.config, B, T);
  const all = model.net.linears();
  const adapted = cfg.targets ? selectLinears(all, cfg.targets) : all;
  const R = cfg.method === 'lora' ? cfg.rank : cfg.method === 'dora' ? (cfg.r0 ?? Math.ceil(1.5 * cfg.budget)) : 0;
  let adapterAndOptimizer = cfg.method === 'full' ? 3 * weights : 0;
  if (R > 0 && adapted.length) {
    const dropout = (cfg.dropout ?? 0) > 0;
    let dims = 0,
      saved = 0,
      widest = 0;
    for (const l of adapted) {
      dims += l.inFeatures + l.outFeatures + (cfg.method === 'dora' ? 1 : 0);
      saved += N * R + (dropout ? N * l.inFeatures : 0);
      widest = Math.max(widest, l.inFeatures);
    }
    adapterAndOptimizer = 4 * 4 * R * dims;
    // Shared backward scratch: d(dropped input) at the widest module and dh.
    activations += 4 * (saved + N * widest + N * R);
  }
  return { weights, activations, adapterAndOptimizer, total: weights + activations + adapterAndOptimizer };
}

function formatBytes(n: number): string {
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
