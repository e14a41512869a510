// Matmul throughput of the engine, timed the way the peers' mm_bench.js times tfjs / onnxruntime-web / jax-js
// (bench/peers/www/mm_bench.js, shared/peers/RESULTS.md §3): inputs stay on the device; matmuls are issued back to back
// in groups of up to 16 with one sync per group (for this engine a group is one queue submission, then
// onSubmittedWorkDone); each shape is warmed for >= 0.3 s and the op count is sized from trial timings (30% margin)
// so that one timing lasts >= 1 s. Timing one matmul per sync instead would add a fixed readback cost to every op.

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

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b), n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
};

/** Rows 0..rows-1 of A(M,K) @ B(K,N), in float64. */
function referenceRows(A: Float32Array, B: Float32Array, K: number, N: number, rows: number): Float64Array {
  const C = new Float64Array(rows * N);
  for (let i = 0; i < rows; i++) for (let k = 0; k < K; k++) {
    const a = A[i * K + k];
    for (let j = 0; j < N; j++) C[i * N + j] += a * B[k * N + j];
  }
  return C;
}

async function timeShape(be: GpuBackend, M: number, K: number, N: number, reps: number, o: Required<MatmulOptions>): Promise<MatmulResult> {
  const r = new Rng(11 + M + K + N);
  const A = r.fillUniform(new Float32Array(M * K)) as Float32Array, B = r.fillUniform(new Float32Array(K * N)) as Float32Array;
  const a = be.fromArray(A, [M, K], 'bench a'), b = be.fromArray(B, [K, N], 'bench b'), c = be.zeros([M, N], 'f32', 'bench c');
  const ctx = be.ctx;
  const group = async (n: number) => {
    for (let i = 0; i < n; i++) be.matmul(c, a, b, null, { M, K, N });
    be.flush();
    await Promise.all([ctx.device.queue.onSubmittedWorkDone(), ctx.sync()]);
  };
  try {
    let t = performance.now();
    be.matmul(c, a, b, null, { M, K, N });
    const got = await be.read(c);
    const firstMs = performance.now() - t;
    const rows = Math.min(M, 8), ref = referenceRows(A, B, K, N, rows);
    let maxAbsErr = 0;
    for (let i = 0; i < rows * N; i++) maxAbsErr = Math.max(maxAbsErr, Number.isNaN(got[i]) ? Infinity : Math.abs(got[i] - ref[i]));
    const tw = performance.now();
    do await group(Math.min(2, o.minOps)); while (performance.now() - tw < o.warmMs);
    const nEst = Math.min(4, o.minOps);
    t = performance.now();
    await group(nEst);
    const est = Math.max((performance.now() - t) / nEst, 0.01);
    let nOps = Math.max(o.minOps, Math.ceil((o.targetMs * 1.05) / est));
    let G = Math.min(o.maxGroup, nOps), groups = Math.ceil(nOps / G);
    for (let tries = 0; tries < 4; tries++) {
      t = performance.now();
      for (let g = 0; g < groups; g++) await group(G);
      const el = performance.now() - t;
      nOps = Math.max(o.minOps, Math.ceil((groups * G * o.targetMs * 1.3) / el));
      G = Math.min(o.maxGroup, nOps);
      groups = Math.ceil(nOps / G);
      if (el >= o.targetMs) break;
    }
    const ms: number[] = [];
    for (let rep = 0; rep < reps; rep++) {
      t = performance.now();
      for (let g = 0; g < groups; g++) await group(G);
      ms.push((performance.now() - t) / (groups * G));
    }
    const m = median(ms);
    return {
      shape: `${M}x${K}x${N}`, ms: m, gflops: (2 * M * K * N) / (m * 1e6), msMin: Math.min(...ms), msMax: Math.max(...ms),
      opsPerTiming: groups * G, group: G, timingMinS: (Math.min(...ms) * groups * G) / 1000, firstMs, maxAbsErr,
    };
  } finally {
    for (const x of [a, b, c] as GpuTensor[]) be.dispose(x);
  }
}

/** GFLOP/s per shape [M, K, N]; `reps` timings per shape, median reported. */
export async function benchMatmul(be: GpuBackend, shapes: [number, number, number][], reps = 3, opts: MatmulOptions = {}): Promise<MatmulResult[]> {
  const o: Required<MatmulOptions> = { targetMs: 1000, warmMs: 300, minOps: 4, maxGroup: 16, ...opts };
  const out: MatmulResult[] = [];
  for (const [M, K, N] of shapes) out.push(await timeShape(be, M, K, N, reps, o));
  return out;
}
