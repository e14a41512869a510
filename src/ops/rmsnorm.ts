// RMSNorm over the last dim, CPU reference (Llama/Qwen: y = x * rsqrt(mean(x^2) + eps) * w, the weight applied after
// normalising). Rows are any contiguous (N, D) view, so it serves the residual stream (D = hidden) and Qwen3's per-head
// q/k norm (N = B*T*H rows of D = head_dim) alike. The backward reuses the rstd saved by the forward.

import type { FArr } from './types';

/** out(N,D) = x * rstd * w per row; saves rstd(N) = 1/sqrt(mean(x^2) + eps). */
export function rmsnormRef(out: FArr, rstd: FArr, x: FArr, w: FArr, N: number, D: number, eps: number): void {
  for (let n = 0; n < N; n++) {
    const o = n * D;
    let ss = 0;
    for (let c = 0; c < D; c++) ss += x[o + c] * x[o + c];
    const s = 1 / Math.sqrt(ss / D + eps);
    for (let c = 0; c < D; c++) out[o + c] = x[o + c] * s * w[c];
    rstd[n] = s;
  }
}

/**
 * RMSNorm backward: dx (+)= rstd (dnorm - norm * mean_c(dnorm * norm)) with norm = x rstd and dnorm = w dout;
 * dw += sum_n dout * norm when given (always accumulating). dx is overwritten unless `accumulate`.
 */
export function rmsnormBackwardRef(
  dx: FArr,
  dw: FArr | null,
  dout: FArr,
  x: FArr,
  w: FArr,
  rstd: FArr,
  N: number,
  D: number,
  accumulate = false,
): void {
  for (let n = 0; n < N; n++) {
    const o = n * D;
    const s = rstd[n];
    let dnNormMean = 0;
    for (let c = 0; c < D; c++) dnNormMean += w[c] * dout[o + c] * x[o + c] * s;
    dnNormMean /= D;
    for (let c = 0; c < D; c++) {
      const norm = x[o + c] * s;
      if (dw) dw[c] += norm * dout[o + c];
      const g = (w[c] * dout[o + c] - norm * dnNormMean) * s;
      dx[o + c] = accumulate ? dx[o + c] + g : g;
    }
  }
}
