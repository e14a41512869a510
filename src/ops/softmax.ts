// Softmax over the last dim, CPU reference: forward subtracts the row max for stability; backward is the
// Jacobian-vector product of y = softmax(x).

import type { FArr } from './types';

/** out(rows,cols) = softmax(x) per row. */
export function softmaxRef(out: FArr, x: FArr, rows: number, cols: number): void {
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let mx = -Infinity;
    for (let c = 0; c < cols; c++) mx = Math.max(mx, x[o + c]);
    let sum = 0;
    for (let c = 0; c < cols; c++) sum += Math.exp(x[o + c] - mx);
    // Exponentials are recomputed, not stored in `out` and rescaled: out may be f32 (rounding twice) or alias x.
    const inv = 1 / sum;
    for (let c = 0; c < cols; c++) out[o + c] = Math.exp(x[o + c] - mx) * inv;
  }
}

/** dx = y * (dy - sum_c(dy * y)) per row (overwrites dx); y is the forward's output. */
export function softmaxBackwardRef(dx: FArr, y: FArr, dy: FArr, rows: number, cols: number): void {
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    // dy_i/dx_j = y_i (delta_ij - y_j), so dx_j = sum_i dy_i y_i (delta_ij - y_j) = y_j (dy_j - sum_i dy_i y_i)
    let dot = 0;
    for (let c = 0; c < cols; c++) dot += dy[o + c] * y[o + c];
    for (let c = 0; c < cols; c++) dx[o + c] = y[o + c] * (dy[o + c] - dot);
  }
}
