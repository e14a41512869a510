// Full reductions to one element, CPU reference. Accumulated in float64 so the reference is exact enough to judge
// the GPU's float32 tree. Backward (where needed): d sum/dx = 1; d sum(x^2)/dx = 2x.

import type { FArr } from './types';

/** out[0] (+)= sum(x) */
export function sumRef(out: FArr, x: FArr, accumulate = false): void {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i];
  out[0] = (accumulate ? out[0] : 0) + s;
}

/** out[0] (+)= sum(x^2) */
export function sumSquaresRef(out: FArr, x: FArr, accumulate = false): void {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * x[i];
  out[0] = (accumulate ? out[0] : 0) + s;
}

/** max |x| over the first n elements (0 when n = 0): what the f16 matmul scales its operand by (matmul.ts). */
export function absMaxRef(x: FArr, n = x.length): number {
  let m = 0;
  for (let i = 0; i < n; i++) m = Math.max(m, Math.abs(x[i]));
  return m;
}
