// Launchers for shaders/matmul.wgsl and matmul_flat.wgsl. The GPU design: a 32x32 output tile per 8x8 workgroup (or
// 64x64 per 16x16), a 4x4 register block per invocation and K staged through workgroup memory in steps of 32, the
// tfjs/WebGPU-samples shape: 16 FMAs per pair of shared vec4 loads, and small enough tiles that GPT-2-tiny sizes
// (M=128, N=64..192) still fill many workgroups; a 128x128 variant with 8x8 blocks (64 FMAs per 4 loads). Bounds
// checks in the tile loads/stores let any M, K, N through one pipeline per tile size; shapes, transpositions, alpha
// and accumulate are uniform params. Grid (N/T, M/T, batch). Under CPU emulation that design loses to barrier-free
// code compiled per shape (the way jax-js generates its kernels), so there the flat kernel runs instead. Which kernel
// and variant a call takes: matmulRules.ts (the rules and settings) and matmulTuned.ts (what tuning measured).

import code from '../../../shaders/matmul.wgsl?raw';
import aScalar from '../../../shaders/matmul_a.wgsl?raw';
import aVec4 from '../../../shaders/matmul_a_vec4.wgsl?raw';
import bScalar from '../../../shaders/matmul_b.wgsl?raw';
import bVec4 from '../../../shaders/matmul_b_vec4.wgsl?raw';
import common from '../../../shaders/matmul_common.wgsl?raw';
import f16Scale from '../../../shaders/matmul_f16.wgsl?raw';
import f32Scale from '../../../shaders/matmul_f32.wgsl?raw';
import flatCode from '../../../shaders/matmul_flat.wgsl?raw';
import stridedPrelude from '../../../shaders/matmul_strided.wgsl?raw';
import store from '../../../shaders/store_out.wgsl?raw';
import type { MatmulParams } from '../../tensor/backend';
import type { GpuContext, GpuTensor } from '../context';
import type { ShaderSource } from '../shader';
import {
  MAX_GROUPS,
  matmulPhasesDefine,
  matmulSplitFor,
  matmulStagingFor,
  matmulVectorLoadsFor,
  TILED,
  usesF16Arithmetic,
} from './matmulRules';
import { kernelOf, type MatmulKernel, type NotedMatmul, type TiledKernel } from './matmulTuned';
import { ABSMAX_PARTS, absMaxParts } from './reduce';

// Params and layout and the output store, then the operands as f32 elements (matmul_a.wgsl, matmul_b.wgsl).
const prelude = `${common}\n${store}\n${aScalar}\n${bScalar}`;
const shader = { name: 'matmul', code, prelude: `${prelude}\n${f32Scale}` };
const flatShader = { name: 'matmul_flat', code: flatCode, prelude };

/** The tiled kernel's module for its operand bindings: a and an f32 b as vec4 arrays or as elements, and f32 or (T =
 * f16) f16 operand tiles and products, opA(a) scaled into f16's range (matmul_f16.wgsl). One ShaderSource per
 * combination, so each has its own name in the pipeline cache: matmul, matmul_strided or matmul_f16, with the vec4
 * operands in brackets ("matmul[a4,b4]"), which kernel profiles group under the plain name. */
const tiledShaders = new Map<string, ShaderSource>();
export function tiledShader(f16: boolean, vecA: boolean, vecB: boolean, strided = false): ShaderSource {
  const vec = [vecA ? 'a4' : '', vecB ? 'b4' : ''].filter(Boolean).join(',');
  const name = `matmul${strided ? '_strided' : ''}${f16 ? '_f16' : ''}${vec ? `[${vec}]` : ''}`;
  let s = tiledShaders.get(name);
  if (!s) {
    const operands = `${vecA ? aVec4 : aScalar}\n${vecB ? bVec4 : bScalar}`;
    // The strided layout brings its own Params and scale (matmul_strided.wgsl: f32 only).
    const prelude = strided
      ? `${stridedPrelude}\n${store}\n${operands}`
      : `${common}\n${store}\n${operands}\n${f16 ? f16Scale : f32Scale}`;
    s = { name, code, prelude, ...(f16 ? { enables: ['f16'] as const } : {}) };
    tiledShaders.set(name, s);
  }
  return s;
}

/** Shapes compiled into their own flat pipeline, per device. A model has a handful (its layer widths at the batch
 * shape); past the limit a shape takes the one generic flat pipeline, so odd shapes cannot pile up compilations. */
let flatShapeLimit = 64;
const flatShapes = new WeakMap<GpuContext, Set<string>>();
/** For tests: 0 sends every shape to the generic flat pipeline. */
export function setFlatShapeLimit(n: number): void {
  flatShapeLimit = n;
}

/** The flat kernel's placeholders: the shape as literals while under the limit, else the uniform fields. */
function flatDefines(ctx: GpuContext, values: number[]): Record<string, string> {
  const [M, K, N, ta, tb, sa, sb, so] = values;
  const key = values.slice(0, 8).join(',');
  let seen = flatShapes.get(ctx);
  if (!seen) flatShapes.set(ctx, (seen = new Set()));
  if (!seen.has(key) && seen.size < flatShapeLimit) seen.add(key);
  if (!seen.has(key)) {
    return {
      M: 'p.M',
      K: 'p.K',
      N: 'p.N',
      TA: '(p.trans_a != 0u)',
      TB: '(p.trans_b != 0u)',
      SA: 'p.stride_a',
      SB: 'p.stride_b',
      SO: 'p.stride_out',
    };
  }
  return {
    M: `${M}u`,
    K: `${K}u`,
    N: `${N}u`,
    TA: String(ta === 1),
    TB: String(tb === 1),
    SA: `${sa}u`,
    SB: `${sb}u`,
    SO: `${so}u`,
  };
}
const FORMAT = 'uuuuuuuuufuu';

/** The flat kernel reads an f16 b a word (two elements) at a time when no pair straddles a word: a transposed b with
 * K even (pairs along k), or a row-major one with N a multiple of 8 (pairs along n); matmul_flat.wgsl ld_b2. */
function flatPairs(b: GpuTensor, p: MatmulParams): boolean {
  if (b.dtype !== 'f16') return false;
  return p.transB ? p.K % 2 === 0 : p.N % 8 === 0;
}

function need(t: GpuTensor, n: number, what: string): void {
  if (t.size < n) throw new Error(`matmul: ${what} (${t.label}) has ${t.size} elements, needs ${n}`);
}

/** out(batch,M,N) = alpha * opA(a) @ opB(b) [+ bias(N)] [+ out if p.accumulate] (see MatmulParams). */
export function matmul(
  ctx: GpuContext,
  out: GpuTensor,
  a: GpuTensor,
  b: GpuTensor,
  bias: GpuTensor | null,
  p: MatmulParams,
): void {
  const { M, K, N } = p;
  const batch = p.batch ?? 1;
  need(out, batch * M * N, 'out');
  need(a, batch * M * K, 'a');
  need(b, p.broadcastB ? K * N : batch * K * N, 'b');
  if (bias) need(bias, N, 'bias');
  const values = paramValues(p);
  dispatchMatmul(ctx, out, a, b, bias, p, values, kernelOf(ctx, out, a, b, bias, p));
}

/** Records a noted matmul with the given kernel into `out` (tuneMatmuls' timing; out is scratch of noted.out
 * elements). */
export function replayMatmul(ctx: GpuContext, noted: NotedMatmul, out: GpuTensor, kernel: TiledKernel): void {
  dispatchMatmul(ctx, out, noted.a, noted.b, noted.bias, noted.p, paramValues(noted.p), kernel);
}

function paramValues(p: MatmulParams): number[] {
  const { M, K, N } = p;
  return [
    M,
    K,
    N,
    p.transA ? 1 : 0,
    p.transB ? 1 : 0,
    M * K,
    p.broadcastB ? 0 : K * N,
    M * N,
    p.accumulate ? 1 : 0,
    p.alpha ?? 1,
    1,
    K,
  ];
}

function dispatchMatmul(
  ctx: GpuContext,
  out: GpuTensor,
  a: GpuTensor,
  b: GpuTensor,
  bias: GpuTensor | null,
  p: MatmulParams,
  values: number[],
  kernel: MatmulKernel,
): void {
  const { M, K, N } = p;
  const { tile } = kernel;
  const batch = p.batch ?? 1;
  // A frozen f16 weight as b: the same kernels, reading b through unpack2x16float (matmul_common.wgsl).
  const half = b.dtype === 'f16';
  const B_F16 = String(half),
    B_ELEM = half ? 'u32' : 'f32';
  const entry = (t: GpuTensor | null) => (t ? 'matmul_bias_forward' : 'matmul_forward');
  // The bias-free entry point does not declare the bias binding, so no placeholder buffer is needed.
  const bindings = (o: GpuTensor, t: GpuTensor | null) => (t ? [undefined, o, a, b, t] : [undefined, o, a, b]);
  if (tile === 'flat') {
    const blocks = Math.ceil(M / 8) * Math.ceil(N / 8);
    ctx.dispatch({
      shader: flatShader,
      entry: entry(bias),
      bindings: bindings(out, bias),
      params: { format: FORMAT, values },
      defines: { ...flatDefines(ctx, values), B_F16, B_ELEM, B_PAIRS: String(flatPairs(b, p)) },
      workgroups: [Math.ceil(blocks / 64), 1, batch],
    });
    return;
  }
  const f16 = usesF16Arithmetic(ctx, b, tile);
  const { VA, VB } = matmulVectorLoadsFor(p);
  const dims = {
    ...TILED[tile],
    ...matmulStagingFor(ctx.limits.maxComputeWorkgroupStorageSize, {
      tile,
      f16,
      transA: !!p.transA,
      transB: !!p.transB,
      prefetch: kernel.prefetch,
      VA,
      VB,
    }),
    ...matmulPhasesDefine(),
    B_F16,
    B_ELEM,
    T: f16 ? 'f16' : 'f32',
    VA,
    VB,
  };
  // An f16 weight's 4-element loads are two words of the element binding (matmul_b.wgsl b4_at).
  const tiled = tiledShader(f16, VA === 4, VB === 4 && !half);
  const { splits, kSplit } = matmulSplitFor(M, K, N, batch);
  // With split K the tiled pass writes partials (no bias, not accumulated) to scratch; splitSum finishes.
  const part = splits > 1 ? ctx.tensor([batch * splits * M * N], 'f32', 'matmul split-K partials', false) : null;
  const first = part
    ? { out: part, bias: null, values: [...values.slice(0, 8), 0, values[9], splits, kSplit] }
    : { out, bias, values };
  const workgroups: [number, number, number] = [Math.ceil(N / tile), Math.ceil(M / tile), batch * splits];
  if (!f16) {
    ctx.dispatch({
      shader: tiled,
      entry: entry(first.bias),
      bindings: bindings(first.out, first.bias),
      params: { format: FORMAT, values: first.values },
      defines: dims,
      workgroups,
    });
  } else {
    // max |a| as partial maxima, from which the kernel scales opA(a) into f16's range (shaders/matmul_f16.wgsl).
    const absmax = ctx.tensor([ABSMAX_PARTS], 'f32', 'matmul f16 a absmax', false);
    absMaxParts(ctx, absmax, a, batch * M * K);
    ctx.dispatch({
      shader: tiled,
      entry: entry(first.bias),
      bindings: [undefined, first.out, a, b, first.bias ?? undefined, absmax],
      params: { format: FORMAT, values: first.values },
      defines: { ...dims, A_PARTS: ABSMAX_PARTS },
      workgroups,
    });
    // Later work runs after this dispatch, so the scratch can go back to the pool now (as reduce.ts does).
    ctx.release(absmax);
  }
  if (part) {
    splitSum(ctx, out, part, bias, { M, N, batch, splits, accumulate: p.accumulate ?? false });
    ctx.release(part);
  }
}

/** The tiled module's other placeholders for its helper passes (split sum, sumRows), which read f32 a by element. */
const SCALAR_DEFINES = {
  PAD_A: 0,
  PAD_B: 0,
  B_F16: 'false',
  B_ELEM: 'f32',
  T: 'f32',
  VA: 1,
  VB: 1,
  PREFETCH: 'false',
  STAGES: 1,
  SWZ_A: 'false',
  SWZ_B: 'false',
  PHASES: 0,
};

/** Split K's second pass: out (+)= [bias +] the partials summed in split order (shaders/matmul.wgsl split_sum). */
function splitSum(
  ctx: GpuContext,
  out: GpuTensor,
  part: GpuTensor,
  bias: GpuTensor | null,
  s: { M: number; N: number; batch: number; splits: number; accumulate: boolean },
): void {
  const groups = Math.ceil((s.batch * s.M * s.N) / 256);
  const x = Math.min(groups, MAX_GROUPS);
  ctx.dispatch({
    shader,
    entry: bias ? 'split_sum_bias_forward' : 'split_sum_forward',
    bindings: bias ? [undefined, out, part, undefined, bias] : [undefined, out, part],
    params: { format: FORMAT, values: [s.M, s.batch, s.N, 0, 0, 0, 0, 0, s.accumulate ? 1 : 0, 1, s.splits, 0] },
    defines: { ...TILED[64], ...SCALAR_DEFINES },
    workgroups: [x, Math.ceil(groups / x), 1],
  });
}

/** out(N) (+)= sum over the M rows of x(M,N): the bias gradient, a fixed-order (deterministic) column reduction. */
export function sumRows(ctx: GpuContext, out: GpuTensor, x: GpuTensor, M: number, N: number, accumulate = false): void {
  need(out, N, 'out');
  need(x, M * N, 'x');
  ctx.dispatch({
    shader,
    entry: 'sum_rows_forward',
    defines: { ...TILED[32], ...SCALAR_DEFINES },
    bindings: [undefined, out, x],
    params: { format: FORMAT, values: [M, 0, N, 0, 0, 0, 0, 0, accumulate ? 1 : 0, 1, 1, 0] },
    workgroups: [Math.ceil(N / 32)],
  });
}
