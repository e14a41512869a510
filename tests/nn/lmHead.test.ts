// The causal LMs' head and cross-entropy in row chunks (src/nn/lmHead.ts): loss and every gradient equal the whole
// batch's, for chunk sizes that do and do not divide B*T, masked labels, the head's backward in the loss's pass or in
// backward(); an embedding / head matrix beyond the binding limit stored in 3 row-range parts gives the same results;
// and a training step never allocates a buffer as large as the whole logits.

import { describe, expect, it } from 'vitest';
import { GpuBackend } from '../../src/gpu/backend';
import { createNodeContext } from '../../src/gpu/node';
import type { HostTensor } from '../../src/models/weights';
import { Gpt2, type Gpt2Config } from '../../src/nn/gpt2';
import { ParamStore } from '../../src/nn/params';
import { crossEntropyRef } from '../../src/ops/crossEntropy';
import type { Backend, Tensor } from '../../src/tensor/backend';
import { CpuBackend } from '../../src/tensor/cpu';
import { Rng } from '../../src/tensor/rng';
import { expectClose } from '../helpers/check';
import { gpuBackend } from '../helpers/gpu';
import { llamaModel } from '../helpers/llamaNet';
import { randomGpt2 } from '../helpers/randomModel';

const B = 2,
  T = 8,
  N = B * T,
  V = 300;

/** Ids and next-token targets with every third label masked (and each row's last). */
function batch(seed = 5) {
  const r = new Rng(seed);
  const ids = Int32Array.from({ length: N }, () => r.int(V));
  const targets = Int32Array.from({ length: N }, (_, i) => (i % T === T - 1 || i % 3 === 1 ? -100 : ids[i + 1]));
  return { ids, targets };
}

interface Net {
  head: { chunkRows: number | null };
  forward(ids: Tensor, B: number, T: number): Tensor;
  forwardHidden(ids: Tensor, B: number, T: number): void;
  loss(targets: Tensor, opts?: { withGrad?: boolean }): { lossSum: Tensor; count: Tensor };
  backward(ids: Tensor, targets: Tensor): void;
  enableAllGradients(): void;
  createCache(B: number, Tmax: number): { dispose(): void };
  prefill(cache: never, ids: Int32Array, T: number): Tensor;
}

const gcfg: Gpt2Config = { vocabSize: V, nPositions: 16, nEmbd: 16, nLayer: 2, nHead: 2, nInner: 64, eps: 1e-5 };
const gptWeights = randomGpt2({ V, P: 16, C: 16, L: 2 }, 3);

function gpt2(be: Backend): { net: Gpt2; params: ParamStore } {
  const tensors = new Map<string, Tensor>();
  for (const [n, t] of gptWeights as Map<string, HostTensor>) tensors.set(n, be.fromArray(t.data, t.shape, n));
  const params = new ParamStore(be, tensors);
  return { net: new Gpt2(be, gcfg, params), params };
}

type Family = 'gpt2' | 'qwen3-headdim' | 'qwen2-bias';
const FAMILIES: Family[] = ['gpt2', 'qwen3-headdim', 'qwen2-bias'];
/** The head matrix's width, to size a binding limit that splits it into 104 + 104 + 92 rows. */
const WIDTH: Record<Family, number> = { gpt2: 16, 'qwen3-headdim': 48, 'qwen2-bias': 32 };

function build(be: Backend, family: Family): { net: Net; params: ParamStore } {
  if (family === 'gpt2') return gpt2(be);
  const m = llamaModel(be, `tests/fixtures/llama/${family}`);
  return { net: m.net, params: m.net.params };
}

interface Result {
  lossSum: number;
  count: number;
  grads: Map<string, Float32Array>;
}

/** One full fine-tuning forward + loss + backward at `chunkRows`; `fused`: the head's backward in the loss's pass. */
async function run(be: Backend, family: Family, chunkRows: number | null, fused = true): Promise<Result> {
  const { net, params } = build(be, family);
  net.enableAllGradients();
  net.head.chunkRows = chunkRows;
  const { ids, targets } = batch();
  const tIds = be.fromArray(ids, [N], 'ids'),
    tT = be.fromArray(targets, [N], 'targets');
  net.forwardHidden(tIds, B, T);
  const { lossSum, count } = net.loss(tT, { withGrad: fused });
  net.backward(tIds, tT);
  const grads = new Map<string, Float32Array>();
  for (const [n, g] of params.grads) grads.set(n, (await be.read(g)) as Float32Array);
  return { lossSum: (await be.read(lossSum))[0], count: (await be.read(count))[0], grads };
}

/** The last position's logits after a prefill of the batch's first row (the generation path). */
async function prefillLogits(be: Backend, family: Family): Promise<Float32Array> {
  const { net } = build(be, family);
  const cache = net.createCache(1, T);
  const out = (await be.read(net.prefill(cache as never, batch().ids.subarray(0, T), T))) as Float32Array;
  cache.dispose();
  return out;
}

/** The loss of the whole logits tensor through the unchunked cross-entropy. */
async function wholeLogitsLoss(be: Backend, family: Family): Promise<number> {
  const { net } = build(be, family);
  const { ids, targets } = batch();
  const logits = (await be.read(net.forward(be.fromArray(ids, [N]), B, T))) as Float32Array;
  const losses = new Float32Array(N),
    valid = new Float32Array(N);
  crossEntropyRef(losses, valid, logits, targets, N, V, -100);
  return losses.reduce((a, b) => a + b, 0);
}

function expectSame(a: Result, b: Result, tol: number, what: string): void {
  expect(a.count, what).toBe(b.count);
  expect(Math.abs(a.lossSum - b.lossSum), `${what}: loss sum`).toBeLessThan(tol * Math.max(1, Math.abs(b.lossSum)));
  expect([...a.grads.keys()].sort()).toEqual([...b.grads.keys()].sort());
  for (const [n, g] of b.grads) expectClose(a.grads.get(n)!, g, tol, tol, `${what}: d ${n}`);
}

describe.each(FAMILIES)('%s: LM head in row chunks', (family) => {
  it('CPU: loss equals the whole logits loss; chunks of 1, 5 (not dividing 16) and 7 rows, fused or not, and a head in 3 parts give the whole batch gradients', async () => {
    const be = new CpuBackend();
    const whole = await run(be, family, null);
    expect(whole.count).toBe(batch().targets.filter((t) => t !== -100).length);
    expect(Math.abs(whole.lossSum - (await wholeLogitsLoss(be, family)))).toBeLessThan(1e-5 * whole.lossSum);
    for (const rows of [1, 5, 7]) expectSame(await run(be, family, rows), whole, 2e-5, `${rows} rows`);
    expectSame(await run(be, family, 5, false), whole, 2e-5, '5 rows, head backward in backward()');
    const parted = new CpuBackend({ maxTensorBytes: 104 * WIDTH[family] * 4 });
    const { params } = build(parted, family);
    const head =
      family === 'gpt2' ? 'wte.weight' : family === 'qwen2-bias' ? 'lm_head.weight' : 'model.embed_tokens.weight';
    expect(parted.parts(params.tensors.get(head)!).map((p) => p.rows)).toEqual([104, 104, 92]);
    expectSame(await run(parted, family, 5), whole, 2e-5, '3 parts, 5 rows');
  });

  it('WebGPU: chunks of 5 rows match the whole batch and the CPU; a head in 3 parts matches the unsplit head (and generates the same logits)', async () => {
    const be = await gpuBackend();
    const whole = await run(be, family, null);
    expectSame(whole, await run(new CpuBackend(), family, null), 1e-4, 'GPU vs CPU');
    expectSame(await run(be, family, 5), whole, 2e-5, 'GPU 5 rows');
    expectSame(await run(be, family, 3, false), whole, 2e-5, 'GPU 3 rows, head backward in backward()');
    const ctx = await createNodeContext({ maxStorageBufferBindingSize: 104 * WIDTH[family] * 4 });
    try {
      const split = new GpuBackend(ctx);
      const { params } = build(split, family);
      const parted = [...params.tensors].filter(([, t]) => split.parts(t).length > 1).map(([n]) => n);
      expect(parted.length).toBeGreaterThan(0);
      for (const n of parted) expect(split.parts(params.tensors.get(n)!).map((p) => p.rows)).toEqual([104, 104, 92]);
      expectSame(await run(split, family, 5), whole, 2e-5, 'GPU 3 parts, 5 rows');
      expectSame(await run(split, family, null), whole, 2e-5, 'GPU 3 parts, whole batch');
      expectClose(await prefillLogits(split, family), await prefillLogits(be, family), 1e-5, 1e-5, 'prefill logits');
    } finally {
      ctx.destroy();
    }
  });
});

describe('training step memory', () => {
  it('allocates no buffer as large as the whole logits (B*T*V*4 bytes) during a full fine-tuning step', async () => {
    const be = await gpuBackend(),
      m = llamaModel(be, 'tests/fixtures/llama/qwen3-headdim'),
      Bm = 4,
      Tm = 32,
      Nm = Bm * Tm;
    m.net.enableAllGradients();
    m.net.head.chunkRows = 16;
    const r = new Rng(2),
      ids = be.fromArray(
        Int32Array.from({ length: Nm }, () => r.int(V)),
        [Nm],
      ),
      targets = be.fromArray(
        Int32Array.from({ length: Nm }, () => r.int(V)),
        [Nm],
      );
    const step = () => {
      m.net.forwardHidden(ids, Bm, Tm);
      const { lossSum } = m.net.loss(targets, { withGrad: true });
      m.net.backward(ids, targets);
      be.flush();
      return lossSum;
    };
    be.flush();
    be.ctx.counters.largestBuffer = 0;
    step();
    expect(be.ctx.counters.largestBuffer).toBeLessThan(Nm * V * 4);
    const submissions = be.ctx.counters.submissions;
    const lossSum = step();
    expect(be.ctx.counters.submissions - submissions).toBe(1);
    expect(Number.isFinite((await be.read(lossSum))[0])).toBe(true);
  });
});
