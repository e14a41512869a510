// Instruction-tuning labels through the loss: an SFT batch (prompt and padding labelled -100, shifted into targets by
// sftLmBatch) gives exactly zero dlogits on every masked row, and a loss that ignores those rows, on the CPU and the
// WebGPU backend. Changing the logits of masked rows changes neither the loss nor the other rows' gradients.

import { describe, expect, it } from 'vitest';
import type { Backend } from '../../src/tensor/backend';
import { CpuBackend } from '../../src/tensor/cpu';
import { IGNORE_INDEX, sftBatch, sftLmBatch } from '../../src/train/data/sft';
import { randArray } from '../helpers/check';
import { gpuBackend } from '../helpers/gpu';

const V = 300;
// Two examples: a 4-token prompt then a 3-token answer; a 2-token prompt then a 2-token answer (padded by 3).
const examples = [
  { inputIds: Int32Array.of(11, 12, 13, 14, 21, 22, 23), labels: Int32Array.of(-100, -100, -100, -100, 21, 22, 23) },
  { inputIds: Int32Array.of(31, 32, 41, 42), labels: Int32Array.of(-100, -100, 41, 42) },
].map((e, i) => ({ ...e, text: '', line: i + 1 }));

async function lossAndGrad(be: Backend, logits: Float32Array, targets: Int32Array) {
  const N = targets.length;
  const tL = be.fromArray(logits, [N, V], 'logits'),
    tT = be.fromArray(targets, [N], 'targets');
  const losses = be.zeros([N], 'f32', 'losses'),
    valid = be.zeros([N], 'f32', 'valid');
  be.crossEntropy(losses, valid, tL, tT, N, V, IGNORE_INDEX);
  const v = (await be.read(valid)) as Float32Array;
  const count = v.reduce((a, b) => a + b, 0);
  const d = be.fromArray(new Float32Array(N * V).fill(3), [N, V], 'dlogits'); // must be overwritten everywhere
  be.crossEntropyBackward(
    d,
    tL,
    tT,
    be.fromArray(Float32Array.of(1), [1]),
    be.fromArray(Float32Array.of(count), [1]),
    N,
    V,
    IGNORE_INDEX,
  );
  const l = (await be.read(losses)) as Float32Array;
  const dlogits = (await be.read(d)) as Float32Array;
  return { loss: l.reduce((a, b) => a + b, 0) / count, count, valid: Array.from(v), dlogits };
}

describe.each([['cpu'], ['webgpu']])('masked SFT tokens in the cross-entropy (%s)', (name) => {
  it('get exactly zero gradient, and only answer tokens count in the loss', async () => {
    const be: Backend = name === 'cpu' ? new CpuBackend() : await gpuBackend();
    const lm = sftLmBatch(sftBatch(examples, { padId: 0 }));
    if (lm.kind !== 'lm') throw new Error('expected an LM batch');
    const N = lm.B * lm.T;
    // Position t predicts token t+1: the last prompt token predicts the answer's first token.
    expect(Array.from(lm.targets)).toEqual([-100, -100, -100, 21, 22, 23, -100, -100, 41, 42, -100, -100, -100, -100]);
    const masked = Array.from(lm.targets, (t, n) => (t === IGNORE_INDEX ? n : -1)).filter((n) => n >= 0);
    const logits = randArray(N * V, 5, -4, 4);
    const a = await lossAndGrad(be, logits, lm.targets);
    expect(a.count).toBe(5);
    expect(a.valid).toEqual(Array.from(lm.targets, (t) => (t === IGNORE_INDEX ? 0 : 1)));
    for (const n of masked) {
      const row = a.dlogits.subarray(n * V, (n + 1) * V);
      expect(
        row.every((x) => x === 0),
        `row ${n}`,
      ).toBe(true);
    }
    for (let n = 0; n < N; n++) {
      if (masked.includes(n)) continue;
      expect(
        a.dlogits.subarray(n * V, (n + 1) * V).some((x) => x !== 0),
        `row ${n}`,
      ).toBe(true);
    }
    // Other logits on the masked rows: the same loss and the same gradient on the trained rows.
    const changed = logits.slice();
    for (const n of masked) changed.set(randArray(V, 100 + n, -9, 9), n * V);
    const b = await lossAndGrad(be, changed, lm.targets);
    expect(b.loss).toBe(a.loss);
    for (let n = 0; n < N; n++) {
      if (masked.includes(n)) continue;
      const row = (x: Float32Array) => Array.from(x.subarray(n * V, (n + 1) * V));
      expect(row(b.dlogits)).toEqual(row(a.dlogits));
    }
  });
});
