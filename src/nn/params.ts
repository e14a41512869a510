// Named parameters of a model on a backend, with optional gradients for the ones being trained.

import type { Backend, Tensor } from '../tensor/backend';

/** Thrown when a checkpoint lacks a tensor the architecture needs, or has it in the wrong shape. */
export class WeightError extends Error {
  override name = 'WeightError';
}

/** Training was asked of a base weight stored in f16 (weight precision 'f16' keeps frozen weights only). */
export class WeightPrecisionError extends Error {
  override name = 'WeightPrecisionError';
}

export class ParamStore {
  readonly grads = new Map<string, Tensor>();

  constructor(
    readonly be: Backend,
    readonly tensors: Map<string, Tensor>,
  ) {}

  /** The tensor `name`, checked against the expected shape. */
  get(name: string, shape: readonly number[]): Tensor {
    const t = this.tensors.get(name);
    if (!t) throw new WeightError(`the checkpoint has no tensor "${name}" (expected shape [${shape.join(', ')}])`);
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw new WeightError(`tensor "${name}" has shape [${t.shape.join(', ')}], expected [${shape.join(', ')}]`);
    }
    return t;
  }

  /** The zero-initialised gradient of `name`, created on first use. */
  grad(name: string): Tensor {
    let g = this.grads.get(name);
    if (!g) {
      const t = this.tensors.get(name)!;
      if (t.dtype === 'f16') {
        throw new WeightPrecisionError(
          `the base weight "${name}" is stored in f16 (weightPrecision 'f16', --weight-precision f16) and cannot ` +
            "be trained: use weightPrecision 'f32' for full fine-tuning, or train an adapter (method lora or dora)",
        );
      }
      g = this.be.zeros(t.shape, 'f32', `d ${name}`);
      this.grads.set(name, g);
    }
    return g;
  }

  zeroGrads(): void {
    for (const g of this.grads.values()) this.be.fill(g, 0);
  }
}

/** Releases every tensor reachable in a workspace object (arrays and nested records), each once even when shared, e.g.
 * when the batch shape changes. */
export function disposeAll(be: Backend, ws: unknown, seen = new Set<unknown>()): void {
  if (!ws || typeof ws !== 'object' || seen.has(ws)) return;
  seen.add(ws);
  if ('shape' in ws && 'size' in ws && 'dtype' in ws) {
    be.dispose(ws as Tensor);
    return;
  }
  for (const v of Object.values(ws as Record<string, unknown>)) disposeAll(be, v, seen);
}
