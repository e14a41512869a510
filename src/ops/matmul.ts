// Matmul, CPU reference: out(batch,M,N) = alpha * opA(a) @ opB(b) [+ bias(N)] [+ out], accumulated in float64.
// The backward is expressed as matmul calls (matmulBackwardSteps) so every backend reuses the same plan.

import type { MatmulParams } from '../tensor/backend';
import { f16ToF32, f32ToF16 } from '../tensor/half';
import { absMaxRef } from './reduce';
import type { FArr } from './types';

function need(arr: FArr, n: number, what: string): void {
  if (arr.length < n) throw new Error(`matmul: ${what} has ${arr.length} elements, needs ${n}`);
}

/** out(batch,M,N) = alpha * opA(a) @ opB(b) [+ bias(N)] [+ out if p.accumulate]; bias is not scaled by alpha. */
export function matmulRef(out: FArr, a: FArr, b: FArr, bias: FArr | null, p: MatmulParams): void {
  const { M, K, N } = p;
  const batch = p.batch ?? 1,
    alpha = p.alpha ?? 1;
  const ta = !!p.transA,
    tb = !!p.transB,
    acc = !!p.accumulate;
  const sb = p.broadcastB ? 0 : K * N;
  need(out, batch * M * N, 'out');
  need(a, batch * M * K, 'a');
  need(b, p.broadcastB ? K * N : batch * K * N, 'b');
  if (bias) need(bias, N, 'bias');
  const row = new Float64Array(N);
  for (let z = 0; z < batch; z++) {
    const ao = z * M * K,
      bo = z * sb,
      oo = z * M * N;
    for (let i = 0; i < M; i++) {
      row.fill(0);
      for (let k = 0; k < K; k++) {
        const aik = ta ? a[ao + k * M + i] : a[ao + i * K + k];
        if (tb) for (let j = 0; j < N; j++) row[j] += aik * b[bo + j * K + k];
        else {
          const bk = bo + k * N;
          for (let j = 0; j < N; j++) row[j] += aik * b[bk + j];
        }
      }
      const o = oo + i * N;
      for (let j = 0; j < N; j++) {
        let v = alpha * row[j] + (bias ? bias[j] : 0);
        if (acc) v += out[o + j];
        out[o + j] = v;
      }
    }
  }
}

/** The power of two the f16-arithmetic kernel scales opA(a) by (shaders/matmul_f16.wgsl): 2^(12 - ceil(log2 max|a|)),
 * 1 when max |a| is 0 or not finite. */
export function f16OperandScale(maxAbs: number): number {
  if (!(maxAbs > 0) || maxAbs > 3e38) return 1;
  return 2 ** Math.min(100, Math.max(-100, 12 - Math.ceil(Math.log2(maxAbs))));
}

/** matmulRef as the 'shader-f16' kernel computes it (shaders/matmul.wgsl with T = f16): opA(a) times
 * f16OperandScale(max |a|) and b rounded to f16, each product rounded to f16 (exact in f32 first: 22 significant
 * bits), the products summed in float64 and multiplied by alpha / scale. `scaleA: false` leaves a unscaled. */
export function matmulRefF16Products(
  out: FArr,
  a: FArr,
  b: FArr,
  bias: FArr | null,
  p: MatmulParams,
  opts: { scaleA?: boolean } = {},
): void {
  const { M, K, N } = p;
  const batch = p.batch ?? 1,
    alpha = p.alpha ?? 1;
  const sb = p.broadcastB ? 0 : K * N;
  need(out, batch * M * N, 'out');
  need(a, batch * M * K, 'a');
  need(b, p.broadcastB ? K * N : batch * K * N, 'b');
  if (bias) need(bias, N, 'bias');
  const half = (x: number) => f16ToF32(f32ToF16(x));
  const aUsed = a.subarray(0, batch * M * K);
  const scale = opts.scaleA === false ? 1 : f16OperandScale(absMaxRef(aUsed));
  const ah = Float32Array.from(aUsed, (x) => half(x * scale)),
    bh = Float32Array.from(b.subarray(0, p.broadcastB ? K * N : batch * K * N), half);
  for (let z = 0; z < batch; z++) {
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        let s = 0;
        for (let k = 0; k < K; k++) {
          const x = p.transA ? ah[z * M * K + k * M + i] : ah[z * M * K + i * K + k];
          const y = p.transB ? bh[z * sb + j * K + k] : bh[z * sb + k * N + j];
          s += half(x * y);
        }
        const o = z * M * N + i * N + j;
        out[o] = (alpha / scale) * s + (bias ? bias[j] : 0) + (p.accumulate ? out[o] : 0);
      }
    }
  }
}

/** out(N) (+)= sum over the M rows of x(M,N): the bias gradient. */
export function sumRowsRef(out: FArr, x: FArr, M: number, N: number, accumulate = false): void {
  const s = new Float64Array(N);
  for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) s[j] += x[i * N + j];
  for (let j = 0; j < N; j++) out[j] = (accumulate ? out[j] : 0) + s[j];
}

/** The tensors a backward step reads: the forward's upstream gradient and its two operands. */
type MatmulOperand = 'dOut' | 'a' | 'b';

/** One matmul of the backward: grad (+)= matmul(x, y, p), always with p.accumulate set. */
export interface MatmulBackwardStep {
  grad: 'dA' | 'dB';
  x: MatmulOperand;
  y: MatmulOperand;
  p: MatmulParams;
  /** Set when the batch cannot be expressed by MatmulParams (a broadcast first operand): run p (batch 1) `count`
   * times, advancing grad, x and y by these element offsets per entry (0 = shared). */
  perBatch?: { count: number; grad: number; x: number; y: number };
}

/**
 * The backward of out = alpha * opA(a) opB(b) + bias as matmuls. With A = opA(a) (M,K), B = opB(b) (K,N), G = dOut:
 *   dA_op = alpha * G B^T (M,K)       -> a (M,K):  da = alpha * G opB(b)^T          = matmul(G, b, transB = !transB)
 *                                        a (K,M):  da = alpha * B G^T               = matmul(b, G, transA = transB, transB = true)
 *   dB_op = alpha * A^T G (K,N)       -> b (K,N):  db = alpha * opA(a)^T G          = matmul(a, G, transA = !transA)
 *                                        b (N,K):  db = alpha * G^T A               = matmul(G, a, transA = true, transB = transA)
 *   dBias = sum over batch and rows of G (not scaled by alpha: bias is added after the scaling).
 * A broadcast b gets the sum over the batch: when a is (batch*M, K) row-major, that sum is one matmul with the batch
 * folded into the inner dimension; with transA it is a per-entry loop, as is da = b G^T with a shared b.
 */
export function matmulBackwardSteps(p: MatmulParams): MatmulBackwardStep[] {
  const { M, K, N } = p;
  const batch = p.batch ?? 1,
    alpha = p.alpha ?? 1;
  const ta = !!p.transA,
    tb = !!p.transB,
    bb = !!p.broadcastB && batch > 1;
  const base = { alpha, accumulate: true };
  const steps: MatmulBackwardStep[] = [];

  if (!ta) {
    steps.push({ grad: 'dA', x: 'dOut', y: 'b', p: { ...base, M, K: N, N: K, transB: !tb, batch, broadcastB: bb } });
  } else if (!bb) {
    steps.push({ grad: 'dA', x: 'b', y: 'dOut', p: { ...base, M: K, K: N, N: M, transA: tb, transB: true, batch } });
  } else {
    steps.push({
      grad: 'dA',
      x: 'b',
      y: 'dOut',
      p: { ...base, M: K, K: N, N: M, transA: tb, transB: true },
      perBatch: { count: batch, grad: K * M, x: 0, y: M * N },
    });
  }

  const dbParams: MatmulParams = tb
    ? { ...base, M: N, K: M, N: K, transA: true, transB: ta }
    : { ...base, M: K, K: M, N, transA: !ta };
  const x: MatmulOperand = tb ? 'dOut' : 'a',
    y: MatmulOperand = tb ? 'a' : 'dOut';
  if (!bb) {
    steps.push({ grad: 'dB', x, y, p: { ...dbParams, batch } });
  } else if (!ta) {
    // a (batch*M, K) and dOut (batch*M, N) are contiguous: sum_z A_z^T G_z = A_all^T G_all.
    steps.push({ grad: 'dB', x, y, p: { ...dbParams, K: batch * M } });
  } else {
    const sx = tb ? M * N : M * K,
      sy = tb ? M * K : M * N;
    steps.push({ grad: 'dB', x, y, p: dbParams, perBatch: { count: batch, grad: 0, x: sx, y: sy } });
  }
  return steps;
}

/** Accumulates the gradients of out = alpha * opA(a) opB(b) + bias into dA, dB, dBias (each may be null). */
export function matmulBackwardRef(
  dA: FArr | null,
  dB: FArr | null,
  dBias: FArr | null,
  dOut: FArr,
  a: FArr,
  b: FArr,
  p: MatmulParams,
): void {
  const operands = { dOut, a, b };
  for (const s of matmulBackwardSteps(p)) {
    const g = s.grad === 'dA' ? dA : dB;
    if (!g) continue;
    const x = operands[s.x],
      y = operands[s.y];
    if (!s.perBatch) {
      matmulRef(g, x, y, null, s.p);
      continue;
    }
    const { count, grad: sg, x: sx, y: sy } = s.perBatch;
    for (let z = 0; z < count; z++) {
      matmulRef(g.subarray(z * sg), x.subarray(z * sx), y.subarray(z * sy), null, s.p);
    }
  }
  if (dBias) sumRowsRef(dBias, dOut, (p.batch ?? 1) * p.M, p.N, true);
}
