// The f16-arithmetic matmul (shaders/matmul.wgsl with T = f16, taken for an f16 weight as b when
// setMatmulF16Arithmetic is on and the device has 'shader-f16'), run for real on Mesa's lavapipe, the one adapter here
// with the feature (SwiftShader, the browser's, lacks it).
// Kernel: against matmulRefF16Products, which rounds the operands and each product to f16 as the shader does and sums
// in float64. The GPU sums those products in f32, so the gap is f32 summation error: about eps32 * K * |term| / sqrt(3),
// under 2e-6 at K = 130; the tolerance is 2e-5. The same outputs miss the f32-arithmetic reference by ~1e-3 (asserted),
// so the check tells the two arithmetics apart. Models: logits and adapter gradients of gpt2-tiny and the Qwen2
// fixture with f16 arithmetic, bounded against the CPU reference at f16 weights (f32 arithmetic).

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GpuBackend } from '../../src/gpu/backend';
import type { GpuContext } from '../../src/gpu/context';
import {
  matmulVectorLoadsFor,
  setMatmulF16Arithmetic,
  setMatmulPrefetch,
  setMatmulSplitK,
  setMatmulTiling,
  usesF16Arithmetic,
} from '../../src/gpu/kernels/matmulRules';
import type { CausalLmNet } from '../../src/models/arch/types';
import type { LoadedModel } from '../../src/models/load';
import { matmulRef, matmulRefF16Products } from '../../src/ops/matmul';
import type { Backend, MatmulParams } from '../../src/tensor/backend';
import { CpuBackend } from '../../src/tensor/cpu';
import { decodeF16, encodeF16 } from '../../src/tensor/half';
import { type HostBatch, taskFor } from '../../src/train/task';
import { DEFAULT_OPTIM, Trainer } from '../../src/train/trainer';
import { expectClose, randArray } from '../helpers/check';
import { f16GpuContext, gpuContext } from '../helpers/gpu';
import { loadFolder } from '../helpers/modelFolder';

const TOL = 2e-5;
/** The f16-rounded values an f16 weight holds. */
const rounded = (x: Float32Array) => decodeF16(encodeF16(x));

// Every test leaves the matmul settings as it found them.
afterEach(() => {
  setMatmulF16Arithmetic(false);
  setMatmulTiling('auto');
  setMatmulSplitK('auto');
  setMatmulPrefetch(false);
});

async function backend(): Promise<GpuBackend> {
  return new GpuBackend(await f16GpuContext());
}

/** One matmul with an f16 weight as b and f16 arithmetic on; returns the output and both references. */
async function run(be: GpuBackend, p: MatmulParams, withBias: boolean, seed: number) {
  const batch = p.batch ?? 1;
  const a = randArray(batch * p.M * p.K, seed),
    w = randArray((p.broadcastB ? 1 : batch) * p.K * p.N, seed + 1, -0.5, 0.5),
    bias = withBias ? randArray(p.N, seed + 2) : null,
    out0 = randArray(batch * p.M * p.N, seed + 3);
  const ta = be.fromArray(a, [a.length], 'a'),
    tw = be.weight(w, [w.length], { precision: 'f16', label: 'W' }),
    tb = bias ? be.fromArray(bias, [p.N], 'bias') : null,
    to = be.fromArray(out0, [out0.length], 'out');
  be.matmul(to, ta, tw, tb, p);
  const got = (await be.read(to)) as Float32Array;
  for (const t of [ta, tw, tb, to]) if (t) be.dispose(t);
  const f16 = out0.slice(),
    f32 = out0.slice();
  matmulRefF16Products(f16, a, w, bias, p);
  // The f32 arithmetic on the same f16-rounded weights: what the kernel computes with the feature off.
  matmulRef(f32, a, rounded(w), bias, p);
  return { got, f16, f32 };
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

describe('the adapter with shader-f16', () => {
  it('is lavapipe, listed beside SwiftShader, which stays the default adapter', async () => {
    const ctx: GpuContext = await f16GpuContext();
    console.log(`[shader-f16] adapter: ${ctx.info.description}`);
    expect(ctx.shaderF16).toBe(true);
    expect(ctx.info.description).toMatch(/llvmpipe/);
    // Listing lavapipe leaves the default adapter alone (SwiftShader here; a real GPU with DYNRANK_VULKAN=system).
    expect((await gpuContext()).info.description).not.toMatch(/llvmpipe/);
  });
});

describe.each([32, 64, 128] as const)('f16-arithmetic matmul, %i-wide tiles (lavapipe vs cpu)', (tile) => {
  beforeEach(() => {
    setMatmulTiling(tile);
    setMatmulF16Arithmetic(true);
  });
  describe.each([
    [false, false],
    [true, false],
    [false, true],
    [true, true],
  ] as const)('transA=%s transB=%s', (transA, transB) => {
    it('7x13x5 in one ragged tile, and 70x130x66 over several tiles and K steps', async () => {
      const be = await backend();
      const probe = be.weight(new Float32Array(2), [2], { precision: 'f16' });
      expect(usesF16Arithmetic(be.ctx, probe as never, tile)).toBe(true);
      be.dispose(probe);
      const small = await run(be, { M: 7, K: 13, N: 5, transA, transB }, false, 10);
      expectClose(small.got, small.f16, TOL, TOL, 'one tile');
      const big = await run(be, { M: 70, K: 130, N: 66, transA, transB }, false, 20);
      expectClose(big.got, big.f16, TOL, TOL, 'several tiles');
      // f16 products, not f32 ones: the f32-arithmetic reference is ~100x further away.
      expect(maxDiff(big.got, big.f32)).toBeGreaterThan(50 * maxDiff(big.got, big.f16));
    });

    it('aligned rows (vector loads: a as vec4s, the f16 weight two words at a time), with and without prefetch', async () => {
      const be = await backend();
      const p = { M: 68, K: 132, N: 72, transA, transB, batch: 2, broadcastB: true, alpha: 0.25, accumulate: true };
      expect(matmulVectorLoadsFor(p)).toEqual({ VA: 4, VB: 4 });
      for (const on of [false, true]) {
        setMatmulPrefetch(on);
        const r = await run(be, p, true, on ? 27 : 25);
        expectClose(r.got, r.f16, TOL, TOL, `aligned, prefetch ${on}`);
      }
    });

    it('batched: broadcast b with bias, alpha and accumulate; per-entry b', async () => {
      const be = await backend();
      const p = { M: 9, K: 40, N: 11, transA, transB, batch: 3, alpha: 0.37, accumulate: true };
      const shared = await run(be, { ...p, broadcastB: true }, true, 30);
      expectClose(shared.got, shared.f16, TOL, TOL, 'broadcast b');
      const own = await run(be, p, false, 40);
      expectClose(own.got, own.f16, TOL, TOL, 'per-entry b');
    });

    it('split K: 3 partials of 64 over K = 130, then bias, alpha and accumulate', async () => {
      const be = await backend();
      setMatmulSplitK(3);
      const split = await run(
        be,
        { M: 20, K: 130, N: 18, transA, transB, batch: 2, alpha: 0.5, accumulate: true },
        true,
        50,
      );
      expectClose(split.got, split.f16, TOL, TOL, 'split K');
    });
  });
});

describe('the f16 operand scale', () => {
  it.each([
    ['upstream gradients (|a| ~ 1e-7)', 1e-7],
    ['activations past the f16 range (|a| ~ 1e5)', 1e5],
  ])('keeps %s within f16 rounding, where unscaled f16 would not', async (_, size) => {
    const be = await backend();
    setMatmulTiling(64);
    setMatmulF16Arithmetic(true);
    const p = { M: 40, K: 96, N: 36, transB: true };
    const a = randArray(p.M * p.K, 60).map((x) => x * size),
      w = randArray(p.K * p.N, 61, -0.5, 0.5);
    const ta = be.fromArray(a, [a.length], 'a'),
      tw = be.weight(w, [w.length], { precision: 'f16', label: 'W' }),
      to = be.zeros([p.M * p.N]);
    be.matmul(to, ta, tw, null, p);
    const got = (await be.read(to)) as Float32Array;
    const scaled = new Float32Array(got.length),
      unscaled = new Float32Array(got.length),
      f32 = new Float32Array(got.length);
    matmulRefF16Products(scaled, a, w, null, p);
    matmulRefF16Products(unscaled, a, w, null, p, { scaleA: false });
    matmulRef(f32, a, rounded(w), null, p);
    const top = f32.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
    expectClose(got, scaled, 2e-5 * top, 2e-5, 'the kernel computes what the scaled reference does');
    const err = maxDiff(got, f32) / top,
      // Unscaled, magnitudes past 65504 become inf and the sums inf or NaN: an infinite error.
      errUnscaled = maxDiff(unscaled, f32) / top || Number.POSITIVE_INFINITY;
    console.log(
      `[shader-f16] ${_}: error vs f32 arithmetic ${err.toExponential(2)}, unscaled f16 ${errUnscaled.toExponential(2)}`,
    );
    expect(err).toBeLessThan(5e-3);
    expect(errUnscaled).toBeGreaterThan(10 * err);
  });
});

describe('the f16 matmul in a step', () => {
  it('adds one dispatch (max |a|) per matmul and, in a repeated step, no buffers, pipelines or bind groups', async () => {
    const be = await backend();
    setMatmulTiling(32);
    setMatmulF16Arithmetic(true);
    const p = { M: 24, K: 40, N: 16, transB: true };
    const a = be.fromArray(randArray(p.M * p.K, 70), [p.M * p.K]),
      w = be.weight(randArray(p.K * p.N, 71), [p.K * p.N], { precision: 'f16' }),
      out = be.zeros([p.M * p.N]);
    // A step's dispatches take the same parameter slots each time, so a repeated step reuses its bind groups.
    const step = () => {
      for (let i = 0; i < 3; i++) be.matmul(out, a, w, null, { ...p, accumulate: i > 0 });
    };
    step();
    await be.ctx.sync();
    const before = { ...be.ctx.counters };
    step();
    await be.ctx.sync();
    const c = be.ctx.counters;
    expect(c.dispatches - before.dispatches).toBe(6);
    expect(c.bufferCreations).toBe(before.bufferCreations);
    expect(c.pipelineCreations).toBe(before.pipelineCreations);
    expect(c.bindGroupCreations).toBe(before.bindGroupCreations);
  });
});

describe('f16 arithmetic applies only to f16 weights on tiled kernels', () => {
  it('an f32 b, or the flat kernel, keeps f32 arithmetic with the switch on', async () => {
    const be = await backend();
    setMatmulF16Arithmetic(true);
    setMatmulTiling(32);
    const p = { M: 33, K: 70, N: 34 };
    const a = randArray(p.M * p.K, 50),
      b = randArray(p.K * p.N, 51);
    const out = be.zeros([p.M * p.N]);
    be.matmul(out, be.fromArray(a, [a.length]), be.fromArray(b, [b.length]), null, p);
    const want = new Float32Array(p.M * p.N);
    matmulRef(want, a, b, null, p);
    expectClose((await be.read(out)) as Float32Array, want, 1e-5, 1e-5, 'f32 b');
    setMatmulTiling('flat');
    const flat = await run(be, p, false, 52);
    expectClose(flat.got, flat.f32, 1e-5, 1e-5, 'flat kernel');
  });
});

// ---------------------------------------------------------------- models

const load = (be: Backend, dir: string): Promise<LoadedModel> => loadFolder(be, dir, 'f16');

/** One LoRA step at lr 0 on f16 weights from random adapter values: the base logits, the loss, the gradients. */
async function loraStep(be: Backend, dir: string, batch: Extract<HostBatch, { kind: 'lm' }>) {
  const m = await load(be, dir);
  const net = m.net as CausalLmNet;
  const logits = (await be.read(
    net.forward(be.fromArray(batch.ids, [batch.ids.length]), batch.B, batch.T),
  )) as Float32Array;
  const tr = new Trainer(
    be,
    taskFor(be, m),
    {
      method: 'lora',
      targets: [...m.arch.defaultTargets],
      adapter: { method: 'lora', R0: 4, alpha: 8, dropout: 0, seed: 3 },
    },
    { ...DEFAULT_OPTIM, lr: 0, totalSteps: 1, modelDropout: false },
  );
  // Every adapter value nonzero (LoRA starts with B = 0, which zeroes A's gradient), the same on both backends.
  const theta = tr.adapters!.theta;
  be.write(
    theta,
    randArray(
      theta.shape.reduce((x, y) => x * y, 1),
      7,
      -0.2,
      0.2,
    ),
  );
  tr.trainStep(batch);
  const loss = await tr.lastLoss();
  const grads = await Promise.all(tr.groups.map(async (g) => (await be.read(g.grad)) as Float32Array));
  return { logits, loss, grads };
}

function relL2(a: Float32Array, b: Float32Array): number {
  let d = 0,
    n = 0;
  for (let i = 0; i < a.length; i++) {
    d += (a[i] - b[i]) ** 2;
    n += b[i] ** 2;
  }
  return Math.sqrt(d / n);
}

// [name, folder, bound on the adapter gradients' relative L2 error]. Measured at 512 tokens with the operand scale:
// gpt2-tiny 2.2e-4, qwen2-bias 9.3e-4 (its 32-wide layers round more per sum); without it gpt2-tiny's was 1.8e-3 and
// grew with the tokens per step (2.3e-4 at 32 tokens), qwen2-bias's 1.5e-3.
describe.each([
  ['gpt2-tiny', 'public/models/gpt2-tiny', 5e-4],
  ['qwen2-bias', 'tests/fixtures/llama/qwen2-bias', 1.3e-3],
])('f16 arithmetic on %s (lavapipe vs cpu at f16 weights)', (name, dir, gradBound) => {
  it('logits, loss and adapter gradients stay within f16 rounding of the f32 arithmetic', async () => {
    // 512 tokens: the upstream gradients are ~1/512 in size, where unscaled f16 operands lost most of their bits.
    const B = 8,
      T = 64,
      V = 256;
    const ids = Int32Array.from({ length: B * T }, (_, i) => (i * 37 + 5) % V);
    const targets = Int32Array.from(ids, (_, i) => (i % T === T - 1 ? -100 : (ids[i] * 5 + 1) % V));
    const batch = { kind: 'lm' as const, B, T, ids, targets };
    const cpu = await loraStep(new CpuBackend(), dir, batch);
    setMatmulTiling(32);
    setMatmulF16Arithmetic(true);
    const gpu = await loraStep(await backend(), dir, batch);
    const logitErr = maxDiff(gpu.logits, cpu.logits) / cpu.logits.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
    const gradErr = Math.max(...gpu.grads.map((g, i) => relL2(g, cpu.grads[i])));
    console.log(
      `[shader-f16] ${name}: logits max |diff| / max |logit| ${logitErr.toExponential(2)}, loss ` +
        `${cpu.loss.toFixed(6)} (f32 arithmetic) vs ${gpu.loss.toFixed(6)} (f16), worst adapter-gradient ` +
        `relative L2 error ${gradErr.toExponential(2)} over ${gpu.grads.length} groups`,
    );
    expect(logitErr).toBeGreaterThan(1e-6); // the f16 arithmetic ran
    expect(logitErr).toBeLessThan(1e-2);
    expect(Math.abs(gpu.loss - cpu.loss)).toBeLessThan(1e-2);
    expect(gradErr).toBeLessThan(gradBound);
  });
});
