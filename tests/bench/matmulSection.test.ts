// The matmul section of bench:gpu on the GPU kernels' path (the emulated adapter is told it is a GPU), at a shape whose
// K is long enough for 'auto' to split it: every contender, the split ones included, is checked against the reference
// before it is timed, and each is timed. The smoke
// run's shapes are too short to split (tests/bench/hardwareSmoke.test.ts). A contender's wrong result throws out of
// the section.

import { afterEach, describe, expect, it } from 'vitest';
import { type MatmulShape, MORE_SPLITS } from '../../src/bench/gpuBenchCommon';
import { matmulSection } from '../../src/bench/gpuBenchMatmul';
import { GpuBackend } from '../../src/gpu/backend';
import { matmulSplitFor, setMatmulSplitK } from '../../src/gpu/kernels/matmulRules';
import { gpuContext } from '../helpers/gpu';

describe('bench:gpu matmul section, split K', () => {
  let saved = true;
  afterEach(async () => {
    (await gpuContext()).barrierFree = saved;
  });

  it("times 'auto' against no split and against MORE_SPLITS times its splits, each checked first", async () => {
    const ctx = await gpuContext();
    saved = ctx.barrierFree;
    ctx.barrierFree = false;
    const be = new GpuBackend(ctx);
    // 2 x 1 64x64 output tiles summed over 8,192: 'auto' splits K.
    const shape: MatmulShape = { model: 'tiny', layer: 'long K', M: 64, K: 8192, N: 72, transB: true };
    const { splits } = matmulSplitFor(shape.M, shape.K, shape.N, 1);
    expect(splits).toBeGreaterThan(1);
    const st = { name: 'matmul at model widths', seconds: 0, notes: [] };
    const [row] = await matmulSection(be, [shape], { smoke: true, peak: null, shared: be }, st);
    expect(st.notes).toEqual([]);
    expect(row.splits).toBe(splits);
    for (const t of [row.tflops, row.tflopsNoSplit, row.tflopsMoreSplits]) expect(t).toBeGreaterThan(0);
    // The kernel in parts, timed too (what each part computes: tests/gpu/matmulPhases.test.ts).
    for (const t of [row.msProductsOnly, row.msMemoryOnly]) expect(t).toBeGreaterThan(0);
    // The contender really splits more: MORE_SPLITS times as many ranges of k.
    setMatmulSplitK(MORE_SPLITS * splits);
    try {
      expect(matmulSplitFor(shape.M, shape.K, shape.N, 1).splits).toBe(MORE_SPLITS * splits);
    } finally {
      setMatmulSplitK('auto');
    }
  });
});
