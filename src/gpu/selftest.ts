// Kernel self-test: runs every op on the WebGPU backend and on the CPU reference with the same seeded inputs and
// compares. The page runs it at start-up (and the e2e suite checks it), so a broken driver shows before training does.

import type { Backend, Tensor } from '../tensor/backend';
import { CpuBackend } from '../tensor/cpu';
import { Rng } from '../tensor/rng';

export interface SelfTestResult {
  op: string;
  maxAbsErr: number;
  tolerance: number;
  ok: boolean;
  ms: number;
}

type Case = {
  op: string;
  tol: number;
  run: (be: Backend, rnd: (n: number) => Float32Array) => Promise<Float32Array[]>;
};

const f = async (be: Backend, t: Tensor): Promise<Float32Array> => (await be.read(t)) as Float32Array;

const CASES: Case[] = [
  {
    op: 'matmul 7x13x5 (transB, bias)',
    tol: 1e-4,
    run: async (be, rnd) => {
      const a = be.fromArray(rnd(7 * 13), [7, 13]),
        b = be.fromArray(rnd(5 * 13), [5, 13]),
        bias = be.fromArray(rnd(5), [5]);
      const out = be.zeros([7, 5]);
      be.matmul(out, a, b, bias, { M: 7, K: 13, N: 5, transB: true });
      return [await f(be, out)];
    },
  },
  {
    op: 'layernorm + gelu 9x24',
    tol: 1e-4,
    run: async (be, rnd) => {
      const x = be.fromArray(rnd(9 * 24), [9, 24]),
        w = be.fromArray(rnd(24), [24]),
        b = be.fromArray(rnd(24), [24]);
      const y = be.zeros([9, 24]),
        mean = be.zeros([9]),
        rstd = be.zeros([9]),
        g = be.zeros([9, 24]);
      be.layernorm(y, mean, rstd, x, w, b, 9, 24, 1e-5);
      be.gelu(g, y, 'tanh');
      return [await f(be, y), await f(be, g)];
    },
  },
  {
    op: 'causal attention B2 T7 H3 D5 (fwd+bwd)',
    tol: 1e-4,
    run: async (be, rnd) => {
      const B = 2,
        T = 7,
        H = 3,
        D = 5,
        C = H * D;
      const qkv = be.fromArray(rnd(B * T * 3 * C), [B, T, 3 * C]);
      const p = {
        B,
        T,
        H,
        D,
        qStride: 3 * C,
        qOffset: 0,
        kStride: 3 * C,
        kOffset: C,
        vStride: 3 * C,
        vOffset: 2 * C,
        causal: true,
      };
      const out = be.zeros([B, T, C]),
        att = be.zeros([B, H, T, T]);
      be.attention(out, att, qkv, qkv, qkv, null, p);
      const dout = be.fromArray(rnd(B * T * C), [B, T, C]),
        dqkv = be.zeros([B, T, 3 * C]);
      be.attentionBackward(dqkv, dqkv, dqkv, dout, att, qkv, qkv, qkv, p);
      return [await f(be, out), await f(be, dqkv)];
    },
  },
  {
    op: 'cross-entropy 6x11 (fwd+bwd, ignore)',
    tol: 1e-5,
    run: async (be, rnd) => {
      const N = 6,
        V = 11;
      const logits = be.fromArray(rnd(N * V), [N, V]);
      const targets = be.fromArray(Int32Array.from([1, 4, -100, 10, 0, 7]), [N]);
      const losses = be.zeros([N]),
        valid = be.zeros([N]),
        count = be.zeros([1]),
        dloss = be.fromArray(new Float32Array([1]), [1]);
      be.crossEntropy(losses, valid, logits, targets, N, V, -100);
      be.sum(count, valid);
      const dlogits = be.zeros([N, V]);
      be.crossEntropyBackward(dlogits, logits, targets, dloss, count, N, V, -100);
      return [await f(be, losses), await f(be, dlogits)];
    },
  },
  {
    op: 'adamw 1000 (clipped)',
    tol: 1e-6,
    run: async (be, rnd) => {
      const n = 1000;
      const p = be.fromArray(rnd(n), [n]),
        g = be.fromArray(rnd(n), [n]),
        m = be.zeros([n]),
        v = be.zeros([n]);
      const sumsq = be.zeros([1]),
        s = be.zeros([1]);
      be.sumSquares(sumsq, g);
      be.clipScale(s, sumsq, 1.0);
      be.adamw(p, g, m, v, s, { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, step: 1 });
      return [await f(be, p)];
    },
  },
];

/** Runs every case on `gpu` and on the CPU reference; results are per case, failures included (never thrown). */
export async function runSelfTest(gpu: Backend, seed = 1234): Promise<SelfTestResult[]> {
  const cpu = new CpuBackend();
  const results: SelfTestResult[] = [];
  for (const c of CASES) {
    const mk = () => {
      const r = new Rng(seed);
      return (n: number) => r.fillUniform(new Float32Array(n)) as Float32Array;
    };
    const t0 = performance.now();
    let maxAbsErr = Infinity;
    try {
      const [got, want] = [await c.run(gpu, mk()), await c.run(cpu, mk())];
      maxAbsErr = 0;
      got.forEach((g, k) =>
        g.forEach((x, i) => {
          maxAbsErr = Math.max(maxAbsErr, Number.isNaN(x) ? Infinity : Math.abs(x - want[k][i]));
        }),
      );
    } catch (e) {
      console.error(`self-test ${c.op} failed`, e);
    }
    results.push({ op: c.op, maxAbsErr, tolerance: c.tol, ok: maxAbsErr <= c.tol, ms: performance.now() - t0 });
  }
  return results;
}
