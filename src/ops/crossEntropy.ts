// Softmax cross-entropy over the vocabulary with an ignore index, CPU reference (torch CrossEntropyLoss semantics).
// Per-row losses and a validity mask come out separately so the caller reduces them (mean over valid rows) on-device.

import type { CePartParams } from '../tensor/backend';
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

/** valid(N) = 1 on rows with a class target, 0 on ignoreIndex rows; any other target is a RangeError. */
export function crossEntropyValidRef(valid: FArr, targets: IArr, N: number, V: number, ignoreIndex: number): void {
  for (let n = 0; n < N; n++) {
    checkTarget(targets[n], V, n, ignoreIndex);
    valid[n] = targets[n] === ignoreIndex ? 0 : 1;
  }
}

/** Folds vocabulary part [vStart, vStart + vp) of each chunk row into state (rows, 4) = (max, sum exp(x - max),
 * target logit, unused): the online log-sum-exp. The part at vStart 0 starts the state. */
export function crossEntropyPartStatsRef(state: FArr, logits: FArr, targets: IArr, p: CePartParams): void {
  for (let r = 0; r < p.rows; r++) {
    const t = targets[p.rowStart + r];
    checkTarget(t, p.V, p.rowStart + r, p.ignoreIndex);
    if (t === p.ignoreIndex) continue;
    const off = r * p.vp,
      o = r * 4;
    let pm = -Infinity;
    for (let j = 0; j < p.vp; j++) if (logits[off + j] > pm) pm = logits[off + j];
    let ps = 0;
    for (let j = 0; j < p.vp; j++) ps += Math.exp(logits[off + j] - pm);
    if (p.vStart === 0) {
      state[o] = pm;
      state[o + 1] = ps;
      state[o + 2] = 0;
    } else {
      const m = Math.max(state[o], pm);
      state[o + 1] = state[o + 1] * Math.exp(state[o] - m) + ps * Math.exp(pm - m);
      state[o] = m;
    }
    if (t >= p.vStart && t < p.vStart + p.vp) state[o + 2] = logits[off + t - p.vStart];
  }
}

/** losses[rowStart + r] = log(sum) - (target logit - max) from the folded state; 0 on ignored rows. */
export function crossEntropyPartLossRef(losses: FArr, state: FArr, targets: IArr, p: CePartParams): void {
  for (let r = 0; r < p.rows; r++) {
    const t = targets[p.rowStart + r],
      o = r * 4;
    losses[p.rowStart + r] = t === p.ignoreIndex ? 0 : Math.log(state[o + 1]) - (state[o + 2] - state[o]);
  }
}

/** The part's logits become (softmax - onehot) * dloss[0] / count[0] (0 on ignored rows), in place. */
export function crossEntropyPartGradRef(
  logits: FArr,
  state: FArr,
  targets: IArr,
  dloss: FArr,
  count: FArr,
  p: CePartParams,
): void {
  const s = dloss[0] / count[0];
  for (let r = 0; r < p.rows; r++) {
    const t = targets[p.rowStart + r],
      off = r * p.vp,
      o = r * 4;
    if (t === p.ignoreIndex) {
      logits.fill(0, off, off + p.vp);
      continue;
    }
    const m = state[o],
      ls = Math.log(state[o + 1]);
    for (let j = 0; j < p.vp; j++) {
      logits[off + j] = (Math.exp(logits[off + j] - m - ls) - (p.vStart + j === t ? 1 : 0)) * s;
    }
  }
}
