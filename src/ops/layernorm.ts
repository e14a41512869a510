// LayerNorm over the last dim, CPU reference (torch semantics: biased variance, eps inside the sqrt).
// The backward follows llm.c's layernorm_backward, reusing the mean and rstd saved by the forward.

import type { FArr } from './types';

/** out(N,C) = (x - mean) * rstd * w + b per row; saves mean(N) and rstd(N) = 1/sqrt(var + eps). */
export function layernormRef(
  out: FArr,
  mean: FArr,
  rstd: FArr,
  x: FArr,
  w: FArr,
  b: FArr,
  N: number,
  C: number,
  eps: number,
): void {
  for (let n = 0; n < N; n++) {
    const o = n * C;
    let m = 0;
    for (let c = 0; c < C; c++) m += x[o + c];
    m /= C;
    // Two passes (not E[x^2] - m^2), so rows with a large mean keep their precision.
    let v = 0;
    for (let c = 0; c < C; c++) {
      const d = x[o + c] - m;
      v += d * d;
    }
    v /= C;
    const s = 1 / Math.sqrt(v + eps);
    for (let c = 0; c < C; c++) out[o + c] = (x[o + c] - m) * s * w[c] + b[c];
    mean[n] = m;
    rstd[n] = s;
  }
}

/**
 * LayerNorm backward: dx (+)= ..., and dw += sum_n dout * norm, db += sum_n dout when given (always accumulating).
 * dx is overwritten unless `accumulate`.
 */
export function layernormBackwardRef(
  dx: FArr,
  dw: FArr | null,
  db: FArr | null,
  dout: FArr,
  x: FArr,
  w: FArr,
  mean: FArr,
  rstd: FArr,
  N: number,
  C: number,
  accumulate = false,
): void {
  for (let n = 0; n < N; n++) {
    const o = n * C;
    const m = mean[n],
      s = rstd[n];
    // With norm = (x - m) s and dnorm = w dout:
    // dx = s (dnorm - mean_c(dnorm) - norm * mean_c(dnorm * norm))
    let dnormMean = 0,
      dnormNormMean = 0;
    for (let c = 0; c < C; c++) {
      const norm = (x[o + c] - m) * s;
      const dnorm = w[c] * dout[o + c];
      dnormMean += dnorm;
      dnormNormMean += dnorm * norm;
    }
    dnormMean /= C;
    dnormNormMean /= C;
    for (let c = 0; c < C; c++) {
      const norm = (x[o + c] - m) * s;
      const dnorm = w[c] * dout[o + c];
      // d out / d w = norm, d out / d b = 1
      if (db) db[c] += dout[o + c];
      if (dw) dw[c] += norm * dout[o + c];
      const g = (dnorm - dnormMean - norm * dnormNormMean) * s;
      dx[o + c] = accumulate ? dx[o + c] + g : g;
    }
  }
}
