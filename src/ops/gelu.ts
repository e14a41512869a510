// GELU, CPU reference: 'tanh' is GPT-2's gelu_new, 'erf' the exact form (BERT). JS has no Math.erf, so erf/erfc
// are implemented here to ~1e-15, which keeps float64 finite differences of the erf GELU meaningful.

import type { GeluKind } from '../tensor/backend';
import type { FArr } from './types';

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const GELU_A = 0.044715;
const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);
const INV_SQRT_PI = 1 / Math.sqrt(Math.PI);
const INV_SQRT_2 = Math.SQRT1_2;
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);
/** Below this |x| the series is used; above it the continued fraction converges in a few dozen terms. */
const SERIES_LIMIT = 2.5;

/** erf(x) for |x| < SERIES_LIMIT: 2/sqrt(pi) e^{-x^2} sum_n (2x^2)^n x / (1*3*...*(2n+1)); all terms share a sign, so
 * nothing cancels (unlike the alternating Taylor series). */
function erfSeries(x: number): number {
  const x2 = 2 * x * x;
  let term = x,
    sum = x;
  for (let n = 1; n < 200; n++) {
    term *= x2 / (2 * n + 1);
    sum += term;
    if (Math.abs(term) <= 1e-17 * Math.abs(sum)) break;
  }
  return TWO_OVER_SQRT_PI * Math.exp(-x * x) * sum;
}

/** erfc(x) for x >= SERIES_LIMIT by the continued fraction e^{-x^2}/sqrt(pi) * 1/(x+ (1/2)/(x+ 1/(x+ (3/2)/(x+ ...))))
 * (modified Lentz). Keeps full relative precision in the tail, where 1 - erf(x) would cancel. */
function erfcContinuedFraction(x: number): number {
  const tiny = 1e-300;
  let f = tiny,
    c = f,
    d = 0;
  for (let j = 1; j < 500; j++) {
    const a = j === 1 ? 1 : (j - 1) / 2;
    d = x + a * d;
    if (d === 0) d = tiny;
    d = 1 / d;
    c = x + a / c;
    if (c === 0) c = tiny;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return INV_SQRT_PI * Math.exp(-x * x) * f;
}

/** The error function, absolute error below 1e-15. */
export function erf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const ax = Math.abs(x);
  if (ax < SERIES_LIMIT) return erfSeries(x);
  return Math.sign(x) * (1 - erfcContinuedFraction(ax));
}

/** The complementary error function 1 - erf(x), with relative precision kept for large positive x. */
export function erfc(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x < 0) return 2 - erfc(-x);
  if (x < SERIES_LIMIT) return 1 - erfSeries(x);
  return erfcContinuedFraction(x);
}

/** Standard normal CDF Phi(x) = erfc(-x/sqrt2)/2 (no cancellation for negative x). */
function normalCdf(x: number): number {
  return 0.5 * erfc(-x * INV_SQRT_2);
}

/** GELU of one value. */
function geluScalar(x: number, kind: GeluKind): number {
  if (kind === 'tanh') return 0.5 * x * (1 + Math.tanh(SQRT_2_OVER_PI * (x + GELU_A * x * x * x)));
  return x * normalCdf(x);
}

/** d gelu / dx at one value. */
function geluGradScalar(x: number, kind: GeluKind): number {
  if (kind === 'tanh') {
    // u = s (x + a x^3), gelu = x (1 + tanh u) / 2:
    // gelu' = (1 + tanh u)/2 + x/2 (1 - tanh^2 u) s (1 + 3 a x^2)
    const th = Math.tanh(SQRT_2_OVER_PI * (x + GELU_A * x * x * x));
    return 0.5 * (1 + th) + 0.5 * x * (1 - th * th) * SQRT_2_OVER_PI * (1 + 3 * GELU_A * x * x);
  }
  // gelu = x Phi(x): gelu' = Phi(x) + x phi(x), phi(x) = e^{-x^2/2} / sqrt(2 pi)
  return normalCdf(x) + x * INV_SQRT_2PI * Math.exp(-0.5 * x * x);
}

/** out = gelu(x), elementwise (n = out.length). */
export function geluRef(out: FArr, x: FArr, kind: GeluKind): void {
  for (let i = 0; i < out.length; i++) out[i] = geluScalar(x[i], kind);
}

/** dx (+)= gelu'(x) * dout; overwrites dx unless `accumulate`. */
export function geluBackwardRef(dx: FArr, x: FArr, dout: FArr, kind: GeluKind, accumulate = false): void {
  for (let i = 0; i < dx.length; i++) {
    const g = geluGradScalar(x[i], kind) * dout[i];
    dx[i] = accumulate ? dx[i] + g : g;
  }
}
