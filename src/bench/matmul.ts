// Matmul throughput of the engine, timed the way the peers' mm_bench.js times tfjs / onnxruntime-web / jax-js
// (bench/peers/www/mm_bench.js, shared/peers/RESULTS.md §3): inputs stay on the device; matmuls are issued back to back
// in groups of up to 16 with one sync per group (for this engine a group is one queue submission, then
// onSubmittedWorkDone); each shape is warmed for >= 0.3 s and the op count is sized from trial timings (30% margin)
// so that one timing lasts >= 1 s. Timing one matmul per sync instead would add a fixed readback cost to every op.
//
// pairedMatmul times the engine and a peer in the same page, one timing each in turn with the order swapped every
// round. On a shared 2-core machine the CPU's speed drifts by 20-40% over minutes (one contender measured 0.85 and
// 1.38 GFLOP/s at the same shape five minutes apart), so timings of two contenders taken minutes apart, in separate
// pages, cannot settle a 10% difference; timings taken side by side can.

import type { GpuBackend } from '../gpu/backend';
import type { GpuTensor } from '../gpu/context';
import { Rng } from '../tensor/rng';

export interface MatmulResult {
  shape: string;
  /** Median ms per matmul over the timings. */
  ms: number;
  gflops: number;
  msMin?: number;
  msMax?: number;
  opsPerTiming?: number;
  /** Matmuls per submission (and per sync). */
  group?: number;
  /** Shortest timing, seconds: >= targetMs unless a single op already takes longer. */
  timingMinS?: number;
  /** First call (pipeline creation + run + full readback), ms. */
  firstMs?: number;
  /** Max abs error of the first result's first rows against a float64 JS matmul. */
  maxAbsErr?: number;
  /** Paired runs: GFLOP/s of each timing, in round order. */
  rounds?: number[];
}

export interface MatmulOptions {
  /** Each timing lasts at least this long (peers: 1000). */
  targetMs?: number;
  /** Warm-up per shape before sizing (peers: 300). */
  warmMs?: number;
  /** Fewest matmuls per timing (peers: 4); 1 suits shapes where one op already exceeds targetMs. */
  minOps?: number;
  /** Most matmuls per sync (peers: 16). */
  maxGroup?: number;
}

/** What the timing loop needs of a matmul implementation: the peers' harness has the same three calls. */
export interface MatmulContender {
  /** One matmul, read back (the first call: compilation + run + readback). */
  check(): Promise<ArrayLike<number>>;
  /** n matmuls back to back, then one sync. */
  runGroup(n: number): Promise<void>;
  dispose(): void | Promise<void>;
}

/** Makes a contender for A(M,K) @ B(K,N), with A and B row-major. */
export type ContenderFactory = (
  A: Float32Array,
  B: Float32Array,
  M: number,
  K: number,
  N: number,
) => Promise<MatmulContender>;

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b),
    n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
};

/** Rows 0..rows-1 of A(M,K) @ B(K,N), in float64. */
function referenceRows(A: Float32Array, B: Float32Array, K: number, N: number, rows: number): Float64Array {
  const C = new Float64Array(rows * N);
  for (let i = 0; i < rows; i++)
    for (let k = 0; k < K; k++) {
      const a = A[i * K + k];
      for (let j = 0; j < N; j++) C[i * N + j] += a * B[k * N + j];
    }
  return C;
}

/** The engine as a contender: a, b, c stay on the device; a group is one submission. */
export function engineContender(be: GpuBackend): ContenderFactory {
  return async (A, B, M, K, N) => {
    const a = be.fromArray(A, [M, K], 'bench a'),
      b = be.fromArray(B, [K, N], 'bench b'),
      c = be.zeros([M, N], 'f32', 'bench c');
    return {
      check: async () => {
        be.matmul(c, a, b, null, { M, K, N });
        return be.read(c);
      },
      runGroup: async (n) => {
        for (let i = 0; i < n; i++) be.matmul(c, a, b, null, { M, K, N });
        be.flush();
        await Promise.all([be.ctx.device.queue.onSubmittedWorkDone(), be.ctx.sync()]);
      },
      dispose: () => {
        for (const x of [a, b, c] as GpuTensor[]) be.dispose(x);
      },
    };
  };
}

interface Sized {
  /** One timing: ms per matmul. */
  time(): Promise<number>;
  opsPerTiming: number;
  group: number;
  firstMs: number;
  maxAbsErr: number;
}

/** First call and error check, warm-up, then an op count that makes one timing last >= targetMs. */
async function sizeTiming(c: MatmulContender, ref: Float64Array, o: Required<MatmulOptions>): Promise<Sized> {
  let t = performance.now();
  const got = await c.check();
  const firstMs = performance.now() - t;
  let maxAbsErr = 0;
  for (let i = 0; i < ref.length; i++)
    maxAbsErr = Math.max(maxAbsErr, Number.isNaN(got[i]) ? Infinity : Math.abs(got[i] - ref[i]));
  const tw = performance.now();
  do await c.runGroup(Math.min(2, o.minOps));
  while (performance.now() - tw < o.warmMs);
  const nEst = Math.min(4, o.minOps);
  t = performance.now();
  await c.runGroup(nEst);
  const est = Math.max((performance.now() - t) / nEst, 0.01);
  let nOps = Math.max(o.minOps, Math.ceil((o.targetMs * 1.05) / est));
  let G = Math.min(o.maxGroup, nOps),
    groups = Math.ceil(nOps / G);
  for (let tries = 0; tries < 4; tries++) {
    t = performance.now();
    for (let g = 0; g < groups; g++) await c.runGroup(G);
    const el = performance.now() - t;
    nOps = Math.max(o.minOps, Math.ceil((groups * G * o.targetMs * 1.3) / el));
    G = Math.min(o.maxGroup, nOps);
    groups = Math.ceil(nOps / G);
    if (el >= o.targetMs) break;
  }
  const time = async () => {
    const t0 = performance.now();
    for (let g = 0; g < groups; g++) await c.runGroup(G);
    return (performance.now() - t0) / (groups * G);
  };
  return { time, opsPerTiming: groups * G, group: G, firstMs, maxAbsErr };
}

function result(M: number, K: number, N: number, s: Sized, ms: number[], paired: boolean): MatmulResult {
  const m = median(ms),
    gf = (x: number) => (2 * M * K * N) / (x * 1e6);
  return {
    shape: `${M}x${K}x${N}`,
    ms: m,
    gflops: gf(m),
    msMin: Math.min(...ms),
    msMax: Math.max(...ms),
    opsPerTiming: s.opsPerTiming,
    group: s.group,
    timingMinS: (Math.min(...ms) * s.opsPerTiming) / 1000,
    firstMs: s.firstMs,
    maxAbsErr: s.maxAbsErr,
    ...(paired ? { rounds: ms.map(gf) } : {}),
  };
}

function inputs(M: number, K: number, N: number) {
  const r = new Rng(11 + M + K + N);
  const A = r.fillUniform(new Float32Array(M * K)) as Float32Array,
    B = r.fillUniform(new Float32Array(K * N)) as Float32Array;
  return { A, B, ref: referenceRows(A, B, K, N, Math.min(M, 8)) };
}

const withDefaults = (opts: MatmulOptions): Required<MatmulOptions> => ({
  targetMs: 1000,
  warmMs: 300,
  minOps: 4,
  maxGroup: 16,
  ...opts,
});

/** GFLOP/s per shape [M, K, N]; `reps` timings per shape, median reported. */
export async function benchMatmul(
  be: GpuBackend,
  shapes: [number, number, number][],
  reps = 3,
  opts: MatmulOptions = {},
): Promise<MatmulResult[]> {
  const o = withDefaults(opts);
  const out: MatmulResult[] = [];
  for (const [M, K, N] of shapes) {
    const { A, B, ref } = inputs(M, K, N);
    const c = await engineContender(be)(A, B, M, K, N);
    try {
      const s = await sizeTiming(c, ref, o);
      const ms: number[] = [];
      for (let i = 0; i < reps; i++) ms.push(await s.time());
      out.push(result(M, K, N, s, ms, false));
    } finally {
      await c.dispose();
    }
  }
  return out;
}

export interface PairedResult {
  ours: MatmulResult;
  peer: MatmulResult | { shape: string; error: string };
}

/**
 * The engine (engineContender) and a peer at each shape, timed alternately: `rounds` timings each, ours first in odd rounds and the
 * peer first in even ones, so neither always runs on the warmer or the cooler side of a drift. `options(shape)` may
 * lower minOps for shapes where one matmul outlasts a timing.
 */
export async function pairedMatmul(
  engine: ContenderFactory,
  peer: ContenderFactory,
  shapes: [number, number, number][],
  rounds = 5,
  options: (shape: [number, number, number]) => MatmulOptions = () => ({}),
): Promise<PairedResult[]> {
  const out: PairedResult[] = [];
  for (const shape of shapes) {
    const [M, K, N] = shape;
    const o = withDefaults(options(shape));
    const { A, B, ref } = inputs(M, K, N);
    const ours = await engine(A, B, M, K, N);
    let theirs: MatmulContender | null = null;
    try {
      const so = await sizeTiming(ours, ref, o);
      let sp: Sized;
      try {
        theirs = await peer(A, B, M, K, N);
        sp = await sizeTiming(theirs, ref, o);
      } catch (e) {
        const ms: number[] = [];
        for (let i = 0; i < rounds; i++) ms.push(await so.time());
        out.push({
          ours: result(M, K, N, so, ms, true),
          peer: { shape: `${M}x${K}x${N}`, error: String((e as Error)?.stack ?? e).slice(0, 800) },
        });
        continue;
      }
      const mo: number[] = [],
        mp: number[] = [];
      for (let r = 0; r < rounds; r++) {
        if (r % 2 === 0) {
          mo.push(await so.time());
          mp.push(await sp.time());
        } else {
          mp.push(await sp.time());
          mo.push(await so.time());
        }
      }
      out.push({ ours: result(M, K, N, so, mo, true), peer: result(M, K, N, sp, mp, true) });
    } finally {
      await ours.dispose();
      await theirs?.dispose();
    }
  }
  return out;
}
