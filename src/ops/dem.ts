// The Dimensional Equilibrium Modulator (Mao et al. Eq. 10), CPU reference: coef * sum over components of
// Var(a_i) + Var(b_i), with torch.var's unbiased variance, and its gradient d Var(v)/d v_k = 2 (v_k - mean v) / (d - 1).
// The caller picks coef = eta / (2 M R0) (the authors' code) or eta / (M R0) (the paper).

import type { AdapterSlot } from '../tensor/backend';
import type { FArr } from './types';

function varianceAndGrad(
  theta: FArr,
  grad: FArr | null,
  start: number,
  stride: number,
  d: number,
  coef: number,
): number {
  let mean = 0;
  for (let k = 0; k < d; k++) mean += theta[start + k * stride];
  mean /= d;
  let ss = 0;
  for (let k = 0; k < d; k++) {
    const diff = theta[start + k * stride] - mean;
    ss += diff * diff;
    if (grad) grad[start + k * stride] += (coef * 2 * diff) / (d - 1);
  }
  return ss / (d - 1);
}

/** partials[partialOffset + i] = coef Var(a_i), partials[partialOffset + R0 + i] = coef Var(b_i) for the module's R0
 * components (their sum is the module's share of the loss); grad (packed like theta) accumulates the gradient. */
export function demRef(
  partials: FArr,
  grad: FArr | null,
  theta: FArr,
  slot: AdapterSlot,
  coef: number,
  partialOffset: number,
): void {
  const { inF, outF, R0, offA, offB } = slot;
  for (let i = 0; i < R0; i++) {
    partials[partialOffset + i] = coef * varianceAndGrad(theta, grad, offA + i * inF, 1, inF, coef); // row i of A (R0, inF)
    partials[partialOffset + R0 + i] = coef * varianceAndGrad(theta, grad, offB + i, R0, outF, coef); // column i of B (outF, R0)
  }
}
