// Importance bookkeeping and global pruning, CPU reference: the EMA of importance scores, the k-th smallest score
// (the global threshold), and the masks that zero pruned components' c. None of these is differentiated.

import type { FArr } from './types';

/** out = beta * out + (1 - beta) * x (the score EMA, no bias correction). */
export function emaRef(out: FArr, x: FArr, beta: number): void {
  if (out.length !== x.length) throw new Error(`ema: out has ${out.length} elements, x ${x.length}`);
  for (let i = 0; i < out.length; i++) out[i] = beta * out[i] + (1 - beta) * x[i];
}

/** k clamped to [1, n]; an empty x has no k-th value. */
export function clampK(k: number, n: number): number {
  if (n < 1) throw new Error('kthSmallest: x is empty');
  return Math.min(n, Math.max(1, Math.floor(k)));
}

/** out[0] = the k-th smallest value of x (1-based, k clamped to [1, n]). Ties count with multiplicity. */
export function kthSmallestRef(out: FArr, x: FArr, k: number): void {
  const sorted = Float64Array.from(x).sort();
  out[0] = sorted[clampK(k, x.length) - 1];
}

/** mask[i] = scores[i] <= thr[0] ? 0 : 1 and target[targetOffset + i] *= mask[i], for i < scores.length. */
export function thresholdMaskRef(target: FArr, mask: FArr, scores: FArr, thr: FArr, targetOffset: number): void {
  const n = scores.length;
  if (mask.length < n || target.length < targetOffset + n) {
    throw new Error(`thresholdMask: ${n} scores need mask >= ${n} and target >= ${targetOffset + n} elements`);
  }
  const t = thr[0];
  for (let i = 0; i < n; i++) {
    mask[i] = scores[i] <= t ? 0 : 1;
    target[targetOffset + i] *= mask[i];
  }
}

/** target[targetOffset + i] *= mask[i] for i < mask.length (re-applies a frozen mask after each optimizer step). */
export function applyMaskRef(target: FArr, mask: FArr, targetOffset: number): void {
  const n = mask.length;
  if (target.length < targetOffset + n) throw new Error(`applyMask: target needs ${targetOffset + n} elements`);
  for (let i = 0; i < n; i++) target[targetOffset + i] *= mask[i];
}
