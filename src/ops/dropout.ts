// Dropout, CPU reference. The keep mask is a counter-based hash of (seed, element index), so nothing is stored between
// forward and backward and shaders/dropout.wgsl (same u32 arithmetic) draws bitwise the same mask.
// Derivative: out = x * keep * s with s = 1/(1-p), so dx = dout * keep * s.

import type { FArr } from './types';

/** The PCG output hash (O'Neill; "Hash Functions for GPU Rendering", Jarzynski & Olano 2020), in u32 arithmetic. */
export function pcgHash(v: number): number {
  const state = (Math.imul(v >>> 0, 747796405) + 2891336453) >>> 0;
  const word = Math.imul(((state >>> ((state >>> 28) + 4)) ^ state) >>> 0, 277803737) >>> 0;
  return ((word >>> 22) ^ word) >>> 0;
}

/** The 32-bit hash of element i under seed: hashing i before mixing in the seed's hash keeps masks of different
 * seeds from being shifted copies of each other (which a plain pcg(i + key) would give). */
export function dropoutHash(seed: number, i: number): number {
  return pcgHash((pcgHash(i) ^ pcgHash(seed)) >>> 0);
}

/** Integer threshold t on the hash's top 24 bits: an element is kept when (hash >>> 8) >= t, probability 1 - t/2^24. */
export function dropoutThreshold(p: number): number {
  if (!(p >= 0 && p < 1)) throw new Error(`dropout: p must be in [0, 1), got ${p}`);
  return Math.min(2 ** 24, Math.round(p * 2 ** 24));
}

/** Whether element i is kept under (seed, threshold). */
export function dropoutKeep(seed: number, i: number, threshold: number): boolean {
  return dropoutHash(seed >>> 0, i) >>> 8 >= threshold;
}

/** The f32 scale 1/(1-p) the kernel multiplies by (rounded to f32 so f32 outputs match the GPU bitwise). */
function keepScale(p: number, out: FArr): number {
  const s = 1 / (1 - p);
  return out instanceof Float32Array ? Math.fround(s) : s;
}

/** out = x * keep / (1 - p); p = 0 copies. Element i draws the mask of element offset + i (u32), so a tensor holding
 * rows from `offset` on of a larger batch drops exactly what the whole batch's tensor would. */
export function dropoutRef(out: FArr, x: FArr, p: number, seed: number, offset = 0): void {
  if (out.length !== x.length) throw new Error(`dropout: out has ${out.length} elements, x ${x.length}`);
  const t = dropoutThreshold(p),
    s = keepScale(p, out);
  for (let i = 0; i < out.length; i++) out[i] = dropoutKeep(seed, (offset + i) >>> 0, t) ? x[i] * s : 0;
}

/** dx += dout * keep / (1 - p), with the keep mask of dropoutRef(seed, offset). */
export function dropoutBackwardRef(dx: FArr, dout: FArr, p: number, seed: number, offset = 0): void {
  if (dx.length !== dout.length) throw new Error(`dropout: dx has ${dx.length} elements, dout ${dout.length}`);
  const t = dropoutThreshold(p),
    s = keepScale(p, dx);
  // dx += dout * keep * s (rounded to f32 before the add, as the kernel does)
  const f32 = dx instanceof Float32Array;
  for (let i = 0; i < dx.length; i++) {
    if (!dropoutKeep(seed, (offset + i) >>> 0, t)) continue;
    const g = dout[i] * s;
    dx[i] += f32 ? Math.fround(g) : g;
  }
}
