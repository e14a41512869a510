// Launchers for shaders/matmul.wgsl. Design: a 32x32 output tile per 8x8 workgroup (or 64x64 per 16x16), a 4x4
// register block per invocation and K staged through workgroup memory in steps of 32, the tfjs/WebGPU-samples shape:
// 16 FMAs per pair of shared vec4 loads, and small enough tiles that GPT-2-tiny sizes (M=128, N=64..192) still fill
// many workgroups. Bounds checks in the tile loads/stores let any M, K, N through one pipeline per tile size; shapes,
// transpositions, alpha and accumulate are uniform params, so no shape creates a pipeline. Grid (N/T, M/T, batch).

import code from '../../../shaders/matmul.wgsl?raw';
import type { MatmulParams } from '../../tensor/backend';
import type { GpuContext, GpuTensor } from '../context';

const shader = { name: 'matmul', code };

/** Which output tile the matmul uses: 32x32 (WG 8) or 64x64 (WG 16). 'auto' takes 64 once the output has 64 such
 * tiles: on an H200 (bench/results/2026-11-28-nvidia-h200.md) 64x64 ran 1.2-2x faster from 512x512 up (14.3 vs 7.0
 * TFLOP/s at 4096^3) and cut GPT-2-small and BERT-base steps by 8-19%, while the tiny demo models keep the small
 * tiles that spread their few rows over more workgroups. Settable for benchmarks and tests. */
export type MatmulTiling = 'auto' | 32 | 64;
let tiling: MatmulTiling = 'auto';
export function setMatmulTiling(t: MatmulTiling): void { tiling = t; }

function tileFor(M: number, N: number, batch: number): 32 | 64 {
  if (tiling !== 'auto') return tiling;
  return Math.ceil(M / 64) * Math.ceil(N / 64) * batch >= 64 ? 64 : 32;
}
const FORMAT = 'uuuuuuuuuf';

function need(t: GpuTensor, n: number, what: string): void {
  if (t.size < n) throw new Error(`matmul: ${what} (${t.label}) has ${t.size} elements, needs ${n}`);
}

/** out(batch,M,N) = alpha * opA(a) @ opB(b) [+ bias(N)] [+ out if p.accumulate] (see MatmulParams). */
export function matmul(ctx: GpuContext, out: GpuTensor, a: GpuTensor, b: GpuTensor, bias: GpuTensor | null, p: MatmulParams): void {
  const { M, K, N } = p;
  const batch = p.batch ?? 1;
  need(out, batch * M * N, 'out');
  need(a, batch * M * K, 'a');
  need(b, p.broadcastB ? K * N : batch * K * N, 'b');
  if (bias) need(bias, N, 'bias');
  const values = [M, K, N, p.transA ? 1 : 0, p.transB ? 1 : 0, M * K, p.broadcastB ? 0 : K * N, M * N,
    p.accumulate ? 1 : 0, p.alpha ?? 1];
  const tile = tileFor(M, N, batch);
  // The bias-free entry point does not declare the bias binding, so no placeholder buffer is needed.
  ctx.dispatch({
    shader,
    entry: bias ? 'matmul_bias_forward' : 'matmul_forward',
    bindings: bias ? [undefined, out, a, b, bias] : [undefined, out, a, b],
    params: { format: FORMAT, values },
    defines: { WG: tile / 4 },
    workgroups: [Math.ceil(N / tile), Math.ceil(M / tile), batch],
  });
}

/** out(N) (+)= sum over the M rows of x(M,N): the bias gradient, a fixed-order (deterministic) column reduction. */
export function sumRows(ctx: GpuContext, out: GpuTensor, x: GpuTensor, M: number, N: number, accumulate = false): void {
  need(out, N, 'out');
  need(x, M * N, 'x');
  ctx.dispatch({
    shader,
    entry: 'sum_rows_forward',
    defines: { WG: 8 },
    bindings: [undefined, out, x],
    params: { format: FORMAT, values: [M, 0, N, 0, 0, 0, 0, 0, accumulate ? 1 : 0, 1] },
    workgroups: [Math.ceil(N / 32)],
  });
}
