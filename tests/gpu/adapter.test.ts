// WebGPU adapter kernels vs the float64 CPU reference on the same f32 inputs. A dynamic slot and a LoRA slot share
// one packed theta at non-zero offsets; live lists are non-trivial. Checked: y, h (live columns; others untouched),
// dh, dx and grad (accumulated; non-live entries bitwise untouched) in every reduction layout, with and without input
// dropout (drawn in the kernels; bitwise the dropout op's composition), bitwise determinism of a rerun, liveCount 0,
// live counts above 32 (chunked expansions), importance (R0 3, 12, 32, 96, 256, LoRA), and that grids/FLOPs scale
// with L.
// Tolerance: |err| <= 1e-5 * max|expected| + 1e-5 * |expected| (f32 rounding of sums of <= 512 terms; observed worst
// at 0.022 of that bound), while an indexing bug gives errors of the order of max|expected|. Importance scores:
// 1e-6 abs + 1e-5 rel (observed 0.003 of it).

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { GpuContext, GpuTensor } from '../../src/gpu/context';
import {
  adapterBackward,
  adapterBackwardFused,
  adapterFlops,
  adapterForward,
  adapterImportance,
  adapterPlan,
  adapterReductionLayout,
  setAdapterBackwardFusion,
  setAdapterFusedRowWidth,
  setAdapterReductionSplit,
} from '../../src/gpu/kernels/adapter';
import { dem } from '../../src/gpu/kernels/dem';
import { dropout, dropoutBackward } from '../../src/gpu/kernels/dropout';
import { adapterBackwardRef, adapterForwardRef, adapterImportanceRef, adapterSlotTable } from '../../src/ops/adapter';
import { demRef } from '../../src/ops/dem';
import type { AdapterCall, AdapterSlot, DropoutMask } from '../../src/tensor/backend';
import { expectClose, randArray } from '../helpers/check';
import { gpuContext } from '../helpers/gpu';

const f64 = (a: ArrayLike<number>) => Float64Array.from(a);
const maxAbs = (a: ArrayLike<number>) => Array.from(a).reduce((m, v) => Math.max(m, Math.abs(v)), 0);

function close(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): void {
  expectClose(actual, expected, 1e-5 * Math.max(maxAbs(expected), 1e-6), 1e-5, what);
}

function upload(ctx: GpuContext, data: Float32Array | Int32Array, label: string): GpuTensor {
  const t = ctx.tensor([data.length], data instanceof Int32Array ? 'i32' : 'f32', label);
  ctx.write(t, data);
  return t;
}

/** Compares the first L columns of (N,R0) scratch and checks that the rest kept the sentinel 77. */
function closeColumns(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  _N: number,
  R0: number,
  L: number,
  what: string,
): void {
  const pick = (a: ArrayLike<number>, live: boolean) => Array.from(a).filter((_, i) => i % R0 < L === live);
  close(pick(actual, true), pick(expected, true), what);
  expect(
    pick(actual, false).every((v) => v === 77),
    `${what}: columns past liveCount untouched`,
  ).toBe(true);
}

/** Two slots of the same shape in one theta: dynamic at offset 3, LoRA after it (after a gap of 2). */
function pack(inF: number, outF: number, R0: number): { dyn: AdapterSlot; lora: AdapterSlot; size: number } {
  const m = R0 * (inF + outF);
  const dyn = { inF, outF, R0, offA: 3, offB: 3 + R0 * inF, offC: 3 + m };
  const base = dyn.offC + R0 + 2;
  const lora = { inF, outF, R0, offA: base, offB: base + R0 * inF, offC: -1 };
  return { dyn, lora, size: base + m + 1 };
}

/** Runs forward + backward on both backends and compares every output. */
async function check(
  ctx: GpuContext,
  slot: AdapterSlot,
  size: number,
  N: number,
  liveList: number[],
  seed: number,
  what: string,
  drop?: DropoutMask,
) {
  const { inF, outF, R0 } = slot;
  const a: AdapterCall = {
    ...slot,
    N,
    scale: 8 / R0,
    liveOffset: 1,
    liveCount: liveList.length,
    ...(drop ? { dropout: drop } : {}),
  };
  const live = Int32Array.from([R0 - 1, ...liveList, 0]);
  const theta = randArray(size, seed);
  if (slot.offC >= 0) theta[slot.offC + liveList[liveList.length - 1]] = 0; // live with c = 0: dc from du, not dh
  const xd = randArray(N * inF, seed + 1),
    y0 = randArray(N * outF, seed + 2),
    dy = randArray(N * outF, seed + 3);
  const grad0 = randArray(size, seed + 4),
    sentinel = new Float32Array(N * R0).fill(77);
  const tTheta = upload(ctx, theta, 'theta'),
    tLive = upload(ctx, live, 'live'),
    tXd = upload(ctx, xd, 'xd');
  const tY = upload(ctx, y0, 'y'),
    tH = upload(ctx, sentinel, 'h'),
    tDy = upload(ctx, dy, 'dy');
  const dx0 = randArray(N * inF, seed + 5);
  const tGrad = upload(ctx, grad0, 'grad'),
    tDh = upload(ctx, sentinel, 'dh'),
    tDx = upload(ctx, dx0, 'dx');

  adapterForward(ctx, tY, tH, tXd, tTheta, tLive, a);
  const y = await ctx.read(tY),
    h = await ctx.read(tH);
  const yRef = f64(y0),
    hRef = f64(sentinel);
  adapterForwardRef(yRef, hRef, f64(xd), f64(theta), live, a);
  close(y, yRef, `${what}: y`);
  closeColumns(h, hRef, N, R0, liveList.length, `${what}: h`);

  adapterBackward(ctx, tDx, tDh, tGrad, tDy, tH, tXd, tTheta, tLive, a);
  const dx = await ctx.read(tDx),
    dh = await ctx.read(tDh),
    grad = await ctx.read(tGrad);
  const dxRef = f64(dx0),
    dhRef = f64(sentinel),
    gradRef = f64(grad0);
  adapterBackwardRef(dxRef, dhRef, gradRef, f64(dy), f64(h), f64(xd), f64(theta), live, a);
  close(
    dx.map((g, i) => g - dx0[i]),
    dxRef.map((g, i) => g - dx0[i]),
    `${what}: dx increment`,
  );
  closeColumns(dh, dhRef, N, R0, liveList.length, `${what}: dh`);
  close(
    grad.map((g, i) => g - grad0[i]),
    gradRef.map((g, i) => g - grad0[i]),
    `${what}: grad increment`,
  );
  const owned = new Set<number>();
  for (const i of liveList) {
    for (let k = 0; k < inF; k++) owned.add(slot.offA + i * inF + k);
    for (let o = 0; o < outF; o++) owned.add(slot.offB + o * R0 + i);
    if (slot.offC >= 0) owned.add(slot.offC + i);
  }
  let untouched = 0;
  for (let i = 0; i < size; i++) if (!owned.has(i) && grad[i] === grad0[i]) untouched++;
  expect(untouched, `${what}: grad entries outside the live components untouched`).toBe(size - owned.size);

  // Deterministic: the same backward again adds the bitwise same increment.
  ctx.write(tGrad, grad0);
  ctx.write(tDx, dx0);
  adapterBackward(ctx, tDx, tDh, tGrad, tDy, tH, tXd, tTheta, tLive, a);
  expect(Array.from(await ctx.read(tGrad))).toEqual(Array.from(grad));
  expect(Array.from(await ctx.read(tDx))).toEqual(Array.from(dx));
  for (const t of [tTheta, tLive, tXd, tY, tH, tDy, tGrad, tDh, tDx]) ctx.release(t);
}

/** Input dropout drawn in the adapter's kernels against the dropout op around an adapter without it (the layout
 * before the fusion: xd stored by dropout, dxd stored and added by dropoutBackward): bitwise the same h, y, dh, grad
 * and dx, since both draw one mask and round x * 1/(1-p) once. */
async function checkFusedDropout(ctx: GpuContext, slot: AdapterSlot, size: number, N: number, drop: DropoutMask) {
  const { inF, outF, R0 } = slot;
  const a: AdapterCall = { ...slot, N, scale: 8 / R0, liveOffset: 0, liveCount: R0 };
  const up = (data: Float32Array | Int32Array, label: string) => upload(ctx, data, label);
  const theta = up(randArray(size, 1), 'theta'),
    live = up(
      Int32Array.from({ length: R0 }, (_, i) => R0 - 1 - i),
      'live',
    );
  const x = up(randArray(N * inF, 2), 'x'),
    dy = up(randArray(N * outF, 3), 'dy'),
    y0 = randArray(N * outF, 4),
    g0 = randArray(size, 5),
    dx0 = randArray(N * inF, 6);
  const run = async (fused: boolean) => {
    const y = up(y0, 'y'),
      grad = up(g0, 'grad'),
      dx = up(dx0, 'dx'),
      h = ctx.tensor([N * R0]),
      dh = ctx.tensor([N * R0]);
    if (fused) {
      adapterForward(ctx, y, h, x, theta, live, { ...a, dropout: drop });
      adapterBackward(ctx, dx, dh, grad, dy, h, x, theta, live, { ...a, dropout: drop });
    } else {
      const xd = ctx.tensor([N * inF]),
        dxd = up(new Float32Array(N * inF), 'dxd');
      dropout(ctx, xd, x, drop.p, drop.seed, drop.offset);
      adapterForward(ctx, y, h, xd, theta, live, a);
      adapterBackward(ctx, dxd, dh, grad, dy, h, xd, theta, live, a);
      dropoutBackward(ctx, dx, dxd, drop.p, drop.seed, drop.offset);
      ctx.release(xd);
      ctx.release(dxd);
    }
    const out = await Promise.all([y, h, dh, grad, dx].map((t) => ctx.read(t)));
    for (const t of [y, grad, dx, h, dh]) ctx.release(t);
    return out.map((o) => Array.from(o));
  };
  const fused = await run(true),
    composed = await run(false);
  ['y', 'h', 'dh', 'grad', 'dx'].forEach((name, i) => {
    expect(fused[i], `fused dropout: ${name}`).toEqual(composed[i]);
  });
  // The mask matters: without dropout dx differs.
  const plain = await (async () => {
    const dx = up(dx0, 'dx'),
      h = ctx.tensor([N * R0]),
      dh = ctx.tensor([N * R0]),
      grad = up(g0, 'grad'),
      y = up(y0, 'y');
    adapterForward(ctx, y, h, x, theta, live, a);
    adapterBackward(ctx, dx, dh, grad, dy, h, x, theta, live, a);
    const r = Array.from(await ctx.read(dx));
    for (const t of [y, grad, dx, h, dh]) ctx.release(t);
    return r;
  })();
  expect(plain).not.toEqual(fused[4]);
  for (const t of [theta, live, x, dy]) ctx.release(t);
}

// Every reduction layout (adapterReductionLayout): 4 rows per invocation and one slice under CPU emulation; on GPUs
// (the emulated adapter is told it is one) 1 row and 4 slices of the reduced dimension, and 1 row, 1 slice (the
// benchmark's 'off').
describe.each([
  ['CPU-emulation layout (4 rows, 1 slice)', true, 'auto', { rowsPerInvocation: 4, slices: 1 }],
  ['GPU layout (1 row, 4 slices)', false, 'auto', { rowsPerInvocation: 1, slices: 4 }],
  ['GPU layout unsplit (1 row, 1 slice)', false, 'off', { rowsPerInvocation: 1, slices: 1 }],
] as const)('adapter forward/backward (webgpu vs cpu), %s', (_, barrierFree, split, layout) => {
  let saved = true;
  beforeEach(async () => {
    const ctx = await gpuContext();
    saved = ctx.barrierFree;
    ctx.barrierFree = barrierFree;
    setAdapterReductionSplit(split);
    expect(adapterReductionLayout(ctx)).toEqual(layout);
  });
  afterEach(async () => {
    (await gpuContext()).barrierFree = saved;
    setAdapterReductionSplit('auto');
  });

  it('odd shape N=7, inF=13, outF=5, R0=3: dynamic live [2,0], LoRA live [1,2]', async () => {
    const ctx = await gpuContext();
    const { dyn, lora, size } = pack(13, 5, 3);
    await check(ctx, dyn, size, 7, [2, 0], 10, 'dynamic 7x13x5');
    await check(ctx, lora, size, 7, [1, 2], 20, 'LoRA 7x13x5');
  });

  it('ragged multi-tile N=37, inF=45, outF=70, R0=24 with 17 live; LoRA R0=40 with 37 live (two L chunks)', async () => {
    const ctx = await gpuContext();
    const p24 = pack(45, 70, 24);
    await check(
      ctx,
      p24.dyn,
      p24.size,
      37,
      [23, 0, 5, 6, 7, 1, 2, 9, 11, 13, 12, 15, 17, 19, 3, 21, 22],
      30,
      'dynamic R0=24',
    );
    const p40 = pack(45, 70, 40);
    await check(
      ctx,
      p40.lora,
      p40.size,
      37,
      Array.from({ length: 37 }, (_, i) => (i * 7) % 40),
      40,
      'LoRA R0=40',
    );
  });

  it('reduced dimensions over several rounds of slices, ragged: N=301, inF=290, outF=333, R0=8 all live', async () => {
    const ctx = await gpuContext();
    const { dyn, lora, size } = pack(290, 333, 8);
    const all = [7, 6, 5, 4, 3, 2, 1, 0];
    await check(ctx, dyn, size, 301, all, 80, 'dynamic 301x290x333');
    await check(ctx, lora, size, 301, all, 90, 'LoRA 301x290x333');
  });

  it('realistic N=512, inF=64, outF=192, R0=12 with liveCount 12 and 5', async () => {
    const ctx = await gpuContext();
    const { dyn, lora, size } = pack(64, 192, 12);
    await check(ctx, dyn, size, 512, [11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0], 50, 'dynamic L=12');
    await check(ctx, dyn, size, 512, [1, 3, 4, 7, 10], 60, 'dynamic L=5');
    await check(ctx, lora, size, 512, [0, 2, 4, 6, 8], 70, 'LoRA L=5');
  });

  it('fused backward grids of several rows (row width 7, the last row partly past both parts)', async () => {
    const ctx = await gpuContext();
    const { dyn, lora, size } = pack(45, 70, 24);
    setAdapterFusedRowWidth(7);
    try {
      await check(ctx, dyn, size, 37, [23, 0, 5, 6, 7, 1, 2, 9, 11], 130, 'dynamic, rows of 7');
      await check(ctx, lora, size, 37, [3, 1, 4], 140, 'LoRA, rows of 7', { p: 0.2, seed: 5 });
    } finally {
      setAdapterFusedRowWidth(65535);
    }
  });

  it('input dropout in the kernels (p 0.1 and 0.5, a micro-batch offset) vs the CPU reference', async () => {
    const ctx = await gpuContext();
    const { dyn, lora, size } = pack(45, 70, 24);
    const live = [23, 0, 5, 6, 7, 1, 2, 9, 11, 13, 12, 15, 17];
    await check(ctx, dyn, size, 37, live, 110, 'dynamic, dropout 0.1', { p: 0.1, seed: 7 });
    await check(ctx, lora, size, 37, live, 120, 'LoRA, dropout 0.5 at offset', { p: 0.5, seed: 9, offset: 45 * 37 });
  });

  it('input dropout in the kernels is bitwise the dropout op around the adapter', async () => {
    const ctx = await gpuContext();
    const { dyn, lora, size } = pack(45, 70, 12);
    await checkFusedDropout(ctx, dyn, size, 37, { p: 0.1, seed: 3 });
    await checkFusedDropout(ctx, lora, size, 37, { p: 0.3, seed: 11, offset: 999 });
  });

  it('liveCount 0: y, grad and dx unchanged', async () => {
    const ctx = await gpuContext();
    const { dyn, size } = pack(13, 5, 3);
    const a: AdapterCall = { ...dyn, N: 7, scale: 1, liveOffset: 0, liveCount: 0 };
    const y0 = randArray(35, 1),
      g0 = randArray(size, 2);
    const tTheta = upload(ctx, randArray(size, 3), 'theta'),
      tLive = upload(ctx, Int32Array.from([0]), 'live');
    const tXd = upload(ctx, randArray(91, 4), 'xd'),
      tY = upload(ctx, y0, 'y'),
      tH = ctx.tensor([21]),
      tDh = ctx.tensor([21]);
    const dx0 = randArray(91, 5);
    const tGrad = upload(ctx, g0, 'grad'),
      tDx = upload(ctx, dx0, 'dx'),
      tDy = upload(ctx, randArray(35, 6), 'dy');
    adapterForward(ctx, tY, tH, tXd, tTheta, tLive, a);
    adapterBackward(ctx, tDx, tDh, tGrad, tDy, tH, tXd, tTheta, tLive, a);
    // No dx at all (the bottom of a model): nothing to bind, nothing recorded for it.
    adapterBackward(ctx, null, tDh, tGrad, tDy, tH, tXd, tTheta, tLive, a);
    expect(Array.from(await ctx.read(tY))).toEqual(Array.from(y0));
    expect(Array.from(await ctx.read(tGrad))).toEqual(Array.from(g0));
    expect(Array.from(await ctx.read(tDx))).toEqual(Array.from(dx0));
    for (const t of [tTheta, tLive, tXd, tY, tH, tDh, tGrad, tDx, tDy]) ctx.release(t);
  });
});

describe('adapter work scales with liveCount', () => {
  it('FLOPs are proportional to liveCount; the reduction grids shrink with it', () => {
    const { dyn, lora } = pack(64, 192, 12);
    const call = (s: AdapterSlot, L: number): AdapterCall => ({ ...s, N: 512, scale: 1, liveOffset: 0, liveCount: L });
    for (const s of [dyn, lora]) {
      expect(adapterFlops(call(s, 5)) / adapterFlops(call(s, 12))).toBeCloseTo(5 / 12, 12);
      expect(adapterFlops(call(s, 0))).toBe(0);
    }
    // On GPUs reductions own 8 output rows: N=512 -> 64, outF 192 -> 24, inF 64 -> 8; 8 live columns per workgroup:
    // L=12 -> 2, L=5 -> 1, L=0 -> 0 (not dispatched). Under CPU emulation 32 rows (4 per invocation): a quarter. The
    // backward's independent passes share a dispatch, their grids flattened one after the other: du + db, da + dx.
    const grids = (L: number, rows: 1 | 4 = 1, s = dyn) =>
      [...adapterPlan(call(s, L), 'forward', rows), ...adapterPlan(call(s, L), 'backward', rows)].map((d) => [
        d.entry,
        d.workgroups,
        d.parts?.map((q) => [q.pass, q.workgroups]),
      ]);
    // The fused backward of a dynamic-rank module with these part grids: du+db, dc, da+dx, each fused grid one row.
    type Grid = [number, number];
    const backward = (du: Grid, db: Grid, dc: Grid, da: Grid, dx: Grid) => [
      [
        'adapter_backward_du_db',
        [du[0] * du[1] + db[0] * db[1], 1],
        [
          ['du', du],
          ['db', db],
        ],
      ],
      ['adapter_backward_dc', dc, undefined],
      [
        'adapter_backward_da_dx',
        [da[0] * da[1] + dx[0] * dx[1], 1],
        [
          ['da', da],
          ['dx', dx],
        ],
      ],
    ];
    expect(grids(12)).toEqual([
      ['adapter_forward_h', [64, 2], undefined],
      ['adapter_forward_y', [6, 16], undefined],
      ...backward([64, 2], [24, 2], [12, 1], [8, 2], [2, 16]),
    ]);
    expect(grids(5).map(([e, w]) => [e, w])).toEqual([
      ['adapter_forward_h', [64, 1]],
      ['adapter_forward_y', [6, 16]],
      ['adapter_backward_du_db', [64 + 24, 1]],
      ['adapter_backward_dc', [5, 1]],
      ['adapter_backward_da_dx', [8 + 32, 1]],
    ]);
    // Nothing live: every grid is empty (nothing is recorded).
    expect(grids(0).every(([, w]) => (w as number[]).includes(0))).toBe(true);
    // LoRA has no c: 2 backward dispatches per module.
    expect(grids(12, 1, lora).map(([e]) => e)).toEqual([
      'adapter_forward_h',
      'adapter_forward_y',
      'adapter_backward_du_db',
      'adapter_backward_da_dx',
    ]);
    expect(grids(12, 4).slice(2)).toEqual(backward([16, 2], [6, 2], [12, 1], [2, 2], [2, 16]));
    // Fused on GPUs only, and not when set 'off'.
    expect(adapterBackwardFused({ barrierFree: false })).toBe(true);
    expect(adapterBackwardFused({ barrierFree: true })).toBe(false);
    setAdapterBackwardFusion('off');
    expect(adapterBackwardFused({ barrierFree: false })).toBe(false);
    setAdapterBackwardFusion('auto');
    // Unfused (CPU emulation, or setAdapterBackwardFusion('off')): each pass on its own grid.
    expect(adapterPlan(call(dyn, 12), 'backward', 4, true, false).map((d) => [d.entry, d.workgroups])).toEqual([
      ['adapter_backward_du', [16, 2]],
      ['adapter_backward_db', [6, 2]],
      ['adapter_backward_dc', [12, 1]],
      ['adapter_backward_da', [2, 2]],
      ['adapter_backward_dx', [2, 16]],
    ]);
    // Without a dx, da runs alone (nothing to bind for dx, no dx work).
    const noDx = adapterPlan(call(dyn, 12), 'backward', 4, false).at(-1);
    expect(noDx).toEqual({ entry: 'adapter_backward_da', workgroups: [2, 2], flops: 2 * 512 * 12 * 64 });
    // A flattened grid past the per-dimension limit takes rows of 65,535 workgroups.
    const big = adapterPlan({ ...call(dyn, 12), N: 64 * 65536 }, 'backward', 1).find(
      (d) => d.entry === 'adapter_backward_da_dx',
    )!;
    const n = 8 * 2 + 2 * ((64 * 65536) / 32);
    expect(big.workgroups).toEqual([65535, Math.ceil(n / 65535)]);
  });
});

/** Modules of the given (inF, outF) in one theta, dynamic (with c) and LoRA alternately, each after a gap of 1. */
function packSet(shapes: [number, number][], R0: number): { slots: AdapterSlot[]; size: number } {
  let off = 3;
  const slots = shapes.map(([inF, outF], m) => {
    const dynamic = m % 2 === 0;
    const s = { inF, outF, R0, offA: off, offB: off + R0 * inF, offC: dynamic ? off + R0 * (inF + outF) : -1 };
    off += R0 * (inF + outF) + (dynamic ? R0 : 0) + 1;
    return s;
  });
  return { slots, size: off };
}

/** The sets the importance and DEM tests take: dynamic, LoRA, dynamic (the last transposed). */
const threeModules = (inF: number, outF: number, R0: number) =>
  packSet(
    [
      [inF, outF],
      [inF, outF],
      [outF, inF],
    ],
    R0,
  );

describe('adapter importance and DEM over a whole set (webgpu vs cpu)', () => {
  // R0 = 96 is the page's largest b(T) = 64 at R0 = ceil(1.5 b(T)); 256 is MAX_IMPORTANCE_R0. Three modules of two
  // shapes in one dispatch: dynamic, LoRA, dynamic (the last transposed).
  it.each([
    [13, 5, 3],
    [768, 3072, 12],
    [64, 192, 32],
    [768, 768, 96],
    [40, 24, 256],
  ])('inF=%i outF=%i R0=%i: importance of every module', async (inF, outF, R0) => {
    const ctx = await gpuContext();
    const { slots, size } = threeModules(inF, outF, R0);
    const theta = randArray(size, inF + R0);
    theta[slots[0].offC] = 0; // a pruned component scores exactly 0
    const n = slots.length * R0;
    const tTheta = upload(ctx, theta, 'theta'),
      tTable = upload(ctx, adapterSlotTable(slots), 'slot table'),
      tScores = upload(ctx, new Float32Array(n + 1).fill(-1), 'scores');
    adapterImportance(ctx, tScores, tTheta, slots, tTable);
    const ref = new Float64Array(n + 1).fill(-1);
    slots.forEach((s, m) => {
      adapterImportanceRef(ref, f64(theta), s, m * R0);
    });
    const got = await ctx.read(tScores);
    expect(got[0]).toBe(0);
    expect(got[n]).toBe(-1);
    expectClose(got, ref, 1e-6, 1e-5, `scores R0=${R0}`);
    for (const t of [tTheta, tTable, tScores]) ctx.release(t);
  });

  it.each([
    [13, 5, 3],
    [768, 3072, 12],
    [40, 24, 96],
  ])('inF=%i outF=%i R0=%i: DEM values and gradients of every module', async (inF, outF, R0) => {
    const ctx = await gpuContext();
    const { slots, size } = threeModules(inF, outF, R0);
    // grad starts at 0: the increments are small against random values (f32 would round them away).
    const theta = randArray(size, 7),
      grad0 = new Float32Array(size),
      n = 2 * R0 * slots.length,
      coef = 0.1 / n;
    const tTheta = upload(ctx, theta, 'theta'),
      tTable = upload(ctx, adapterSlotTable(slots), 'slot table'),
      tGrad = upload(ctx, grad0, 'grad'),
      tPartials = upload(ctx, new Float32Array(n + 1).fill(-1), 'partials');
    dem(ctx, tPartials, tGrad, tTheta, slots, tTable, coef);
    const partials = new Float64Array(n + 1).fill(-1),
      grad = f64(grad0);
    slots.forEach((s, m) => {
      demRef(partials, grad, f64(theta), s, coef, m * 2 * R0);
    });
    const got = await ctx.read(tPartials);
    expect(got[n]).toBe(-1);
    close(got, partials, `DEM partials R0=${R0}`);
    close(await ctx.read(tGrad), grad, `DEM gradient R0=${R0}`);
    for (const t of [tTheta, tTable, tGrad, tPartials]) ctx.release(t);
  });

  it('rejects R0 above MAX_IMPORTANCE_R0, and a set of mixed R0', async () => {
    const ctx = await gpuContext();
    const { dyn, size } = pack(4, 4, 257);
    const tTheta = ctx.tensor([size]),
      tScores = ctx.tensor([2 * 257]),
      tTable = upload(ctx, adapterSlotTable([dyn]), 'slot table');
    expect(() => adapterImportance(ctx, tScores, tTheta, [dyn], tTable)).toThrow(/R0/);
    expect(() => adapterSlotTable([dyn, { ...dyn, R0: 3 }])).toThrow(/R0 3 of module 1/);
    for (const t of [tTheta, tScores, tTable]) ctx.release(t);
  });
});
