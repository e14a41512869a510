// Softmax cross-entropy over the vocabulary with an ignore index, CPU reference (torch CrossEntropyLoss semantics).
// Per-row losses and a validity mask come out separately so the caller reduces them (mean over valid rows) on-device.

import type { FArr, IArr } from './types';

function checkTarget(t: number, V: number, n: number, ignoreIndex: number): void {
  if (t !== ignoreIndex && !(t >= 0 && t < V)) {
    throw new RangeError(
      `crossEntropy: target ${t} at row ${n} is outside [0, ${V}) and is not ignoreIndex ${ignoreIndex}`,
    );
  }
}

/** Max and log(sum exp(x - max)) of one row: the stable log-sum-exp is max + the second value. */
function rowLse(logits: FArr, off: number, V: number): number {
  let max = -Infinity;
  for (let j = 0; j < V; j++) if (logits[off + j] > max) max = logits[off + j];
  let s = 0;
  for (let j = 0; j < V; j++) s += Math.exp(logits[off + j] - max);
  return max + Math.log(s);
}

/** losses(N) = logsumexp(logits[n]) - logits[n, target]; valid(N) = 1, or both 0 where target == ignoreIndex. */
export function crossEntropyRef(
  losses: FArr,
  valid: FArr,
  logits: FArr,
  targets: IArr,
  N: number,
  V: number,
  ignoreIndex: number,
): void {
  for (let n = 0; n < N; n++) {
    const t = targets[n];
    checkTarget(t, V, n, ignoreIndex);
    if (t === ignoreIndex) {
      losses[n] = 0;
      valid[n] = 0;
      continue;
    }
    const off = n * V;
    losses[n] = rowLse(logits, off, V) - logits[off + t];
    valid[n] = 1;
  }
}

/** dlogits(N,V) = (softmax(logits[n]) - onehot(target)) * dloss[0] / count[0] on valid rows; 0 on ignored rows. */
export function crossEntropyBackwardRef(
  dlogits: FArr,
  logits: FArr,
  targets: IArr,
  dloss: FArr,
  count: FArr,
  N: number,
  V: number,
  ignoreIndex: number,
): void {
  // loss = (dloss/count) * sum_n (lse(x_n) - x_n[t_n]);  d lse / d x_j = softmax_j, d x_t / d x_j = [j == t].
  const s = dloss[0] / count[0];
  for (let n = 0; n < N; n++) {
    const t = targets[n];
    checkTarget(t, V, n, ignoreIndex);
    const off = n * V;
    if (t === ignoreIndex) {
      for (let j = 0; j < V; j++) dlogits[off + j] = 0;
      continue;
    }
    const lse = rowLse(logits, off, V);
    for (let j = 0; j < V; j++) dlogits[off + j] = (Math.exp(logits[off + j] - lse) - (j === t ? 1 : 0)) * s;
  }
}
