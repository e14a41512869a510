// Elementwise ops, CPU reference. Backward rules are trivial and written by callers:
// d(a+b) = (dout, dout); d(a*b) = (dout*b, dout*a); d(s*a) = s*dout; d(tanh x) = (1 - tanh^2 x) dout.

import type { FArr } from './types';

export function addRef(out: FArr, a: FArr, b: FArr): void {
  for (let i = 0; i < out.length; i++) out[i] = a[i] + b[i];
}

export function mulRef(out: FArr, a: FArr, b: FArr): void {
  for (let i = 0; i < out.length; i++) out[i] = a[i] * b[i];
}

export function scaleRef(out: FArr, a: FArr, s: number): void {
  for (let i = 0; i < out.length; i++) out[i] = a[i] * s;
}

/** out += alpha * x */
export function axpyRef(out: FArr, x: FArr, alpha: number): void {
  for (let i = 0; i < out.length; i++) out[i] += alpha * x[i];
}

export function tanhRef(out: FArr, x: FArr): void {
  for (let i = 0; i < out.length; i++) out[i] = Math.tanh(x[i]);
}

/** dx = (1 - y^2) * dout with y = tanh(x) saved by the forward. */
export function tanhBackwardRef(dx: FArr, y: FArr, dout: FArr): void {
  for (let i = 0; i < dx.length; i++) dx[i] = (1 - y[i] * y[i]) * dout[i];
}
