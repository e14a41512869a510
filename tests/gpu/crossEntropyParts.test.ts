// Cross-entropy over row chunks and vocabulary parts (online log-sum-exp, shaders/cross_entropy_parts.wgsl) against
// the whole-row reference: losses and dlogits, with ignored rows, on the workgroup-tree kernels and the one-row
// kernels of CPU-emulated adapters; and the CPU backend's part ops the same way.

import { describe, expect, it } from 'vitest';
import { GpuBackend } from '../../src/gpu/backend';
import { crossEntropyBackwardRef, crossEntropyRef } from '../../src/ops/crossEntropy';
import type { Backend } from '../../src/tensor/backend';
import { CpuBackend } from '../../src/tensor/cpu';
import { expectClose, randArray, randInts } from '../helpers/check';
import { gpuContext } from '../helpers/gpu';

const IGNORE = -100;

/** Losses (N) and dlogits (N, V) computed chunk by chunk (R rows) over vocabulary parts starting at `starts`. */
async function parted(be: Backend, logits: Float32Array, targets: Int32Array, V: number, R: number, starts: number[]) {
  const N = targets.length,
    bounds = [...starts, V],
    dloss = 0.7;
  const tT = be.fromArray(targets, [N], 'targets'),
    losses = be.zeros([N], 'f32', 'losses'),
    valid = be.zeros([N], 'f32', 'valid'),
    count = be.zeros([1], 'f32', 'count'),
    dl = be.fromArray(Float32Array.of(dloss), [1], 'dloss'),
    state = be.zeros([R, 4], 'f32', 'state');
  be.crossEntropyValid(valid, tT, N, V, IGNORE);
  be.sum(count, valid);
  const d = new Float32Array(N * V);
  const parts = starts.map((s, i) => be.zeros([R, bounds[i + 1] - s], 'f32', `part ${s}`));
  for (let r0 = 0; r0 < N; r0 += R) {
    const rows = Math.min(R, N - r0);
    const p = (i: number) => ({
      rows,
      rowStart: r0,
      vStart: starts[i],
      vp: bounds[i + 1] - starts[i],
      V,
      ignoreIndex: IGNORE,
    });
    parts.forEach((t, i) => {
      const w = bounds[i + 1] - starts[i],
        block = new Float32Array(R * w).fill(7);
      for (let r = 0; r < rows; r++)
        block.set(logits.subarray((r0 + r) * V + starts[i], (r0 + r) * V + bounds[i + 1]), r * w);
      be.write(t, block);
      be.crossEntropyPartStats(state, t, tT, p(i));
    });
    be.crossEntropyPartLoss(losses, state, tT, p(0));
    for (let i = 0; i < parts.length; i++) {
      be.crossEntropyPartGrad(parts[i], state, tT, dl, count, p(i));
      const w = bounds[i + 1] - starts[i],
        g = (await be.read(parts[i])) as Float32Array;
      for (let r = 0; r < rows; r++) d.set(g.subarray(r * w, (r + 1) * w), (r0 + r) * V + starts[i]);
    }
  }
  return {
    losses: (await be.read(losses)) as Float32Array,
    valid: (await be.read(valid)) as Float32Array,
    count: (await be.read(count))[0],
    dlogits: d,
    dloss,
  };
}

describe.each([
  ['cpu', 7, 13, 3, [0, 5, 9]],
  ['gpu tree', 7, 13, 3, [0, 5, 9]],
  ['gpu tree', 40, 1000, 16, [0, 300, 700]],
  ['gpu rows', 7, 13, 3, [0, 5, 9]],
  ['gpu rows', 40, 1000, 16, [0, 300, 700]],
] as const)('cross-entropy in parts (%s) N=%i V=%i, %i-row chunks, parts at %j', (kind, N, V, R, starts) => {
  it('losses, valid and dlogits equal the whole-row reference', async () => {
    let be: Backend = new CpuBackend();
    if (kind !== 'cpu') {
      const ctx = await gpuContext();
      ctx.barrierFree = kind === 'gpu rows';
      be = new GpuBackend(ctx);
    }
    const logits = randArray(N * V, 11, -8, 8);
    const targets = randInts(N, 12, V);
    for (let n = 1; n < N; n += 3) targets[n] = IGNORE;
    targets[0] = V - 1;
    targets[2] = starts[1]; // the first id of a later part
    const got = await parted(be, logits, targets, V, R, [...starts]);
    const losses = new Float32Array(N),
      valid = new Float32Array(N);
    crossEntropyRef(losses, valid, logits, targets, N, V, IGNORE);
    const count = valid.reduce((a, b) => a + b, 0);
    expect(Array.from(got.valid)).toEqual(Array.from(valid));
    expect(got.count).toBe(count);
    expectClose(got.losses, losses, 1e-6, 1e-6, 'losses');
    const dRef = new Float32Array(N * V);
    crossEntropyBackwardRef(dRef, logits, targets, Float32Array.of(got.dloss), Float32Array.of(count), N, V, IGNORE);
    expectClose(got.dlogits, dRef, 1e-7 * (got.dloss / count), 1e-5, 'dlogits');
  });
});
