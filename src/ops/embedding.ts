// Token embedding lookup, CPU reference: forward gathers rows of W, backward scatter-adds dout into those rows.
// An id outside [0, V) is a caller bug, so the reference throws instead of reading or writing out of bounds.

import type { FArr, IArr } from './types';

function checkId(id: number, V: number, n: number): void {
  if (!(id >= 0 && id < V)) throw new RangeError(`embedding: id ${id} at position ${n} is outside [0, ${V})`);
}

/** out(N,C) = W(V,C)[ids[n]]; throws a RangeError naming an id outside [0, V) (V = W.length / C). */
export function embeddingRef(out: FArr, ids: IArr, W: FArr, N: number, C: number): void {
  const V = Math.floor(W.length / C);
  for (let n = 0; n < N; n++) {
    const id = ids[n];
    checkId(id, V, n);
    const src = id * C,
      dst = n * C;
    for (let c = 0; c < C; c++) out[dst + c] = W[src + c];
  }
}

/** dW(V,C)[ids[n]] += dout(N,C)[n], in increasing n (the GPU kernel adds in the same order); throws on a bad id. */
export function embeddingBackwardRef(dW: FArr, ids: IArr, dout: FArr, N: number, C: number, V: number): void {
  // d out[n,c] / d W[v,c] = [ids[n] == v], so dW[v] = sum over positions n with ids[n] == v of dout[n].
  for (let n = 0; n < N; n++) checkId(ids[n], V, n);
  for (let n = 0; n < N; n++) {
    const dst = ids[n] * C,
      src = n * C;
    for (let c = 0; c < C; c++) dW[dst + c] += dout[src + c];
  }
}
