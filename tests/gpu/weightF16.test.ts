// Frozen weights stored in f16 (Backend.weight with precision 'f16'): the matmul kernels reading a packed f16 b (the
// forward x·Wᵀ, the backward-to-input dy·W, a tied LM head) and the embedding gather, on WebGPU against the CPU
// reference, which holds the same f16-rounded values in f32 storage.
// Tolerance as tests/gpu/matmul.test.ts (1e-5 absolute + relative): both sides multiply the same rounded weights in
// f32, so only the summation order differs; using the unrounded f32 weights instead misses by ~1e-3 (asserted below),
// so the check tells the two precisions apart.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GpuBackend } from '../../src/gpu/backend';
import { acquireDevice } from '../../src/gpu/device';
import { setFlatShapeLimit } from '../../src/gpu/kernels/matmul';
import { setMatmulF16Arithmetic, setMatmulTiling, usesF16Arithmetic } from '../../src/gpu/kernels/matmulRules';
import { createNodeContext } from '../../src/gpu/node';
import { ChunkedLmHead } from '../../src/nn/lmHead';
import { matmulRef } from '../../src/ops/matmul';
import type { Backend, MatmulParams, Tensor } from '../../src/tensor/backend';
import { CpuBackend } from '../../src/tensor/cpu';
import { decodeF16, encodeF16 } from '../../src/tensor/half';
import { expectClose, randArray, randInts } from '../helpers/check';
import { gpuContext } from '../helpers/gpu';

const TOL = 1e-5;
const rounded = (x: Float32Array) => decodeF16(encodeF16(x));

async function gpu(): Promise<GpuBackend> {
  return new GpuBackend(await gpuContext());
}

/** out = opA(a) @ opB(W) [+ bias] on both backends with W an f16 weight; returns the GPU result and the references. */
async function run(be: Backend, cpu: CpuBackend, p: MatmulParams, withBias: boolean, seed: number) {
  const batch = p.batch ?? 1;
  const a = randArray(batch * p.M * p.K, seed),
    w = randArray((p.broadcastB ? 1 : batch) * p.K * p.N, seed + 1, -0.5, 0.5),
    bias = withBias ? randArray(p.N, seed + 2) : null,
    out0 = randArray(batch * p.M * p.N, seed + 3);
  const mk = (b: Backend) => {
    const t = {
      a: b.fromArray(a, [a.length], 'a'),
      w: b.weight(w, [w.length], { precision: 'f16', label: 'W' }),
      bias: bias ? b.fromArray(bias, [p.N], 'bias') : null,
      out: b.fromArray(out0, [out0.length], 'out'),
    };
    b.matmul(t.out, t.a, t.w, t.bias, p);
    return t;
  };
  const [tg, tc] = [mk(be), mk(cpu)];
  const got = (await be.read(tg.out)) as Float32Array;
  const cpuOut = (await cpu.read(tc.out)) as Float32Array;
  const unrounded = out0.slice();
  matmulRef(unrounded, a, w, bias, p);
  for (const t of [tg.a, tg.w, tg.out, tg.bias]) if (t) be.dispose(t);
  return { got, cpuOut, unrounded };
}

const KERNELS = [
  ['32x32 tiles', 32, 64],
  ['64x64 tiles', 64, 64],
  ['128x128 tiles', 128, 64],
  ['flat per shape', 'flat', 64],
  ['flat generic', 'flat', 0],
] as const;

describe.each(KERNELS)('matmul with an f16 b, %s (webgpu vs cpu)', (_, tiling, limit) => {
  beforeEach(() => {
    setMatmulTiling(tiling);
    setFlatShapeLimit(limit);
  });
  afterEach(() => {
    setMatmulTiling('auto');
    setFlatShapeLimit(64);
  });

  it.each([false, true])('7x13x5 (odd element count: a padded last word), transB=%s', async (transB) => {
    const { got, cpuOut } = await run(await gpu(), new CpuBackend(), { M: 7, K: 13, N: 5, transB }, false, 3);
    expectClose(got, cpuOut, TOL, TOL, '7x13x5');
  });

  it('Linear forward x·Wᵀ + b and backward dy·W at GPT-2-tiny width (128x64x192), batched broadcast', async () => {
    const be = await gpu(),
      cpu = new CpuBackend();
    const fwd = await run(be, cpu, { M: 128, K: 64, N: 192, transB: true }, true, 11);
    expectClose(fwd.got, fwd.cpuOut, TOL, TOL, 'forward');
    const bwd = await run(be, cpu, { M: 128, K: 192, N: 64, accumulate: true }, false, 12);
    expectClose(bwd.got, bwd.cpuOut, TOL, TOL, 'backward to the input');
    const bat = await run(be, cpu, { M: 9, K: 33, N: 17, batch: 3, broadcastB: true, alpha: 0.5 }, false, 13);
    expectClose(bat.got, bat.cpuOut, TOL, TOL, 'batched');
    // Shapes whose f16 b the flat kernel reads a word (two elements) at a time: K even (transB), N % 8 == 0 (not).
    for (const transB of [false, true]) {
      const pairs = await run(be, cpu, { M: 9, K: 34, N: 24, transB, batch: 2, broadcastB: true }, true, 14);
      expectClose(pairs.got, pairs.cpuOut, TOL, TOL, `word pairs, broadcast, transB=${transB}`);
      const perEntry = await run(be, cpu, { M: 5, K: 6, N: 16, transB, batch: 3, accumulate: true }, false, 15);
      expectClose(perEntry.got, perEntry.cpuOut, TOL, TOL, `word pairs, per-entry b, transB=${transB}`);
    }
    // The f16 rounding is visible: the f32 weights give a different product.
    let worst = 0;
    for (let i = 0; i < fwd.got.length; i++) worst = Math.max(worst, Math.abs(fwd.got[i] - fwd.unrounded[i]));
    expect(worst).toBeGreaterThan(10 * TOL);
  });
});

describe('f16 weights on WebGPU', () => {
  it('embedding gathers the f16-rounded rows exactly, as the CPU reference does', async () => {
    const be = await gpu(),
      cpu = new CpuBackend();
    const V = 37,
      C = 13,
      N = 20;
    const w = randArray(V * C, 21),
      ids = randInts(N, 22, V);
    const gather = async (b: Backend) => {
      const out = b.zeros([N, C]);
      b.embedding(out, b.fromArray(ids, [N]), b.weight(w, [V, C], { precision: 'f16', label: 'wte' }), N, C);
      return (await b.read(out)) as Float32Array;
    };
    const [g, c] = [await gather(be), await gather(cpu)];
    expect(Array.from(g)).toEqual(Array.from(c));
    const r = rounded(w);
    expect(Array.from(g.subarray(0, C))).toEqual(Array.from(r.subarray(ids[0] * C, ids[0] * C + C)));
  });

  it('stores two elements per 32-bit word, reads back the rounded values and refuses f32-only kernels', async () => {
    const be = await gpu(),
      ctx = be.ctx;
    const w = randArray(1001, 31);
    const before = ctx.counters.bytesAllocated;
    const t = be.weight(w, [7, 143], { precision: 'f16', label: 'W' });
    expect(t.dtype).toBe('f16');
    expect(ctx.counters.bytesAllocated - before).toBe(2016); // ceil(1001 / 2) words, pooled to 16 bytes
    expect(Array.from(await be.read(t))).toEqual(Array.from(rounded(w)));
    // write() rounds too; partial writes must cover whole words.
    const w2 = randArray(1001, 32);
    be.write(t, w2);
    expect(Array.from(await be.read(t))).toEqual(Array.from(rounded(w2)));
    expect(() => be.write(t, new Float32Array(2), 1)).toThrow(/whole 32-bit words/);
    const out = be.zeros([1001]);
    expect(() => be.add(out, t, t)).toThrow(/f16 weight W passed to a kernel that reads f32/);
    expect(() => be.copy(out, t)).toThrow(/cannot be copied/);
    // precision 'f32' is fromArray.
    const f = be.weight(w, [1001], { precision: 'f32' });
    expect(f.dtype).toBe('f32');
    expect(Array.from(await be.read(f))).toEqual(Array.from(w));
  });
});

describe('f16 weights beyond the binding limit (row-range parts)', () => {
  // 30 rows of 157 halves (314 bytes) under a 4 KiB binding limit: 13 rows (2041 halves, an odd count padded to 1021
  // words) per part, where f32 storage would give 6. N rows of f32 activations stay within the limit.
  const V = 30,
    C = 157,
    N = 6;

  it('are stored in parts of 2 bytes per element, gather and feed the chunked LM head as the CPU reference does', async () => {
    const small = new GpuBackend(await createNodeContext({ maxStorageBufferBindingSize: 1 << 12 })),
      cpu = new CpuBackend();
    const w = randArray(V * C, 51),
      // Rows of every part, either side of each boundary.
      ids = Int32Array.of(0, 14, 12, 29, 13, 26),
      hidden = randArray(N * C, 52),
      targets = Int32Array.of(-100, 3, 15, 28, 12, -100);
    const run = async (b: Backend) => {
      const W = b.weight(w, [V, C], { precision: 'f16', label: 'wte' }),
        gathered = b.zeros([N, C]),
        logits = b.zeros([N, V]),
        h = b.fromArray(hidden, [N, C]),
        dHidden = b.zeros([N, C]);
      b.embedding(gathered, b.fromArray(ids, [N]), W, N, C);
      const head = new ChunkedLmHead(b, V, C);
      head.chunkRows = 4;
      head.logits(logits, h, W, N);
      const { lossSum, count } = head.loss({
        hidden: h,
        W,
        targets: b.fromArray(targets, [N]),
        N,
        ignoreIndex: -100,
        grads: { dHidden, dW: null },
      });
      return {
        parts: b.parts(W).map((p) => [p.start, p.rows]),
        W: (await b.read(W)) as Float32Array,
        gathered: (await b.read(gathered)) as Float32Array,
        logits: (await b.read(logits)) as Float32Array,
        loss: [...(await b.read(lossSum)), ...(await b.read(count))],
        dHidden: (await b.read(dHidden)) as Float32Array,
      };
    };
    const [g, c] = [await run(small), await run(cpu)];
    expect(g.parts).toEqual([
      [0, 13],
      [13, 13],
      [26, 4],
    ]);
    expect(c.parts).toEqual([[0, V]]);
    expect(Array.from(g.W)).toEqual(Array.from(rounded(w)));
    expect(Array.from(g.gathered)).toEqual(Array.from(c.gathered));
    expectClose(g.logits, c.logits, TOL, TOL);
    expectClose(Float32Array.from(g.loss), Float32Array.from(c.loss), TOL, TOL);
    expectClose(g.dHidden, c.dHidden, TOL, TOL);
    small.ctx.destroy();
  });

  it('the CPU reference reports the same parts at the same byte limit', () => {
    const cpu = new CpuBackend({ maxTensorBytes: 1 << 12 });
    const W = cpu.weight(randArray(V * C, 53), [V, C], { precision: 'f16' });
    expect(cpu.parts(W).map((p) => p.rows)).toEqual([13, 13, 4]);
  });
});

describe('f16 arithmetic (shader-f16)', () => {
  it('is requested only from an adapter that offers it', async () => {
    const requested: GPUFeatureName[][] = [];
    const fakeGpu = (features: string[]) =>
      ({
        requestAdapter: async () => ({
          features: new Set(features),
          limits: {},
          info: {},
          requestDevice: async (d: GPUDeviceDescriptor) => {
            requested.push([...(d.requiredFeatures ?? [])]);
            return { limits: { maxStorageBufferBindingSize: 1 << 27 }, features: new Set(d.requiredFeatures) };
          },
        }),
      }) as unknown as GPU;
    expect((await acquireDevice(fakeGpu(['shader-f16']))).shaderF16).toBe(true);
    expect((await acquireDevice(fakeGpu([]))).shaderF16).toBe(false);
    expect(requested).toEqual([['shader-f16'], []]);
  });

  it('multiplies in f16 where the device has shader-f16; elsewhere f16 weights keep f32 arithmetic', async () => {
    const be = await gpu(),
      cpu = new CpuBackend();
    setMatmulTiling(32);
    setMatmulF16Arithmetic(true);
    try {
      const p = { M: 64, K: 64, N: 48, transB: true };
      const { got, cpuOut } = await run(be, cpu, p, true, 51);
      const probe = be.weight(new Float32Array(2), [2], { precision: 'f16' }) as Parameters<
        typeof usesF16Arithmetic
      >[1];
      console.log(`[shader-f16] this adapter (${be.ctx.info.description}) has shader-f16: ${be.ctx.shaderF16}`);
      expect(usesF16Arithmetic(be.ctx, probe, 32)).toBe(be.ctx.shaderF16);
      expect(usesF16Arithmetic(be.ctx, probe, 'flat')).toBe(false);
      // f16 products of f16-rounded activations: each term off by ~2^-10 relative, K = 64 terms of |x| <= 0.5.
      if (be.ctx.shaderF16) expectClose(got, cpuOut, 1e-2, 1e-2, 'f16 arithmetic');
      else expectClose(got, cpuOut, TOL, TOL, 'unpacked to f32');
    } finally {
      setMatmulF16Arithmetic(false);
      setMatmulTiling('auto');
    }
  });
});

describe('f16 weights on the CPU reference', () => {
  it('hold f16-rounded values in f32 storage and round on write', async () => {
    const cpu = new CpuBackend();
    const w = randArray(64, 41);
    const t: Tensor = cpu.weight(w, [8, 8], { precision: 'f16' });
    expect(t.dtype).toBe('f16');
    expect(Array.from(await cpu.read(t))).toEqual(Array.from(rounded(w)));
    expect(Array.from(await cpu.read(t))).not.toEqual(Array.from(w));
    cpu.write(t, w);
    expect(Array.from(await cpu.read(t))).toEqual(Array.from(rounded(w)));
  });
});
