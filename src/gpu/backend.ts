// The WebGPU backend: each op records a dispatch of its WGSL kernel into the context's encoder.

import type {
  AdamWParams,
  AdapterCall,
  AdapterSlots,
  AttentionDecodeParams,
  AttentionParams,
  Backend,
  CePartParams,
  DType,
  GeluKind,
  KernelTuneOptions,
  KernelTuneReport,
  KvWriteParams,
  MatmulParams,
  RopeParams,
  Tensor,
  TensorPart,
  WeightOptions,
} from '../tensor/backend';
import type { GpuContext, GpuTensor } from './context';
import { GpuValidationError } from './errors';
import { adamw, clipScale } from './kernels/adamw';
import { adapterBackward, adapterForward, adapterImportance } from './kernels/adapter';
import { attention, attentionBackward } from './kernels/attention';
import { attentionDecode, kvCacheWrite } from './kernels/attentionDecode';
import {
  crossEntropy,
  crossEntropyBackward,
  crossEntropyPartGrad,
  crossEntropyPartLoss,
  crossEntropyPartStats,
  crossEntropyValid,
} from './kernels/crossEntropy';
import { dem } from './kernels/dem';
import { dropout, dropoutBackward } from './kernels/dropout';
import { add, axpy, fill, mul, scale, tanh, tanhBackward } from './kernels/elementwise';
import { embedding, embeddingBackward } from './kernels/embedding';
import { gelu, geluBackward } from './kernels/gelu';
import { layernorm, layernormBackward } from './kernels/layernorm';
import { matmul, sumRows } from './kernels/matmul';
import { sum, sumSquares } from './kernels/reduce';
import { rmsnorm, rmsnormBackward } from './kernels/rmsnorm';
import { rope, ropeBackward } from './kernels/rope';
import { applyMask, ema, kthSmallest, thresholdMask } from './kernels/select';
import { softmax, softmaxBackward } from './kernels/softmax';
import { swiglu, swigluBackward } from './kernels/swiglu';
import { noteKernels, tuneMatmuls } from './tune';

/** An operand of a kernel that reads f32 or i32: a packed f16 weight there would be read as garbage, so it is refused. */
const g = (t: Tensor): GpuTensor => {
  if (t.dtype === 'f16') {
    throw new GpuValidationError(
      `f16 weight ${t.label} passed to a kernel that reads f32; only matmul's b and embedding's W read f16 weights`,
    );
  }
  return t as GpuTensor;
};
const go = (t: Tensor | null): GpuTensor | null => (t ? g(t) : null);
/** An operand that may be a packed f16 weight (matmul's b, embedding's W). */
const gw = (t: Tensor): GpuTensor => t as GpuTensor;
/** The parts of a tensor (itself when whole). */
const partsOf = (t: Tensor): GpuTensor[] => (g(t).parts ?? [{ tensor: g(t) }]).map((p) => p.tensor);

export class GpuBackend implements Backend {
  readonly kind = 'webgpu' as const;

  constructor(readonly ctx: GpuContext) {}

  get maxTensorBytes(): number {
    return this.ctx.bindingLimit;
  }

  parts(t: Tensor): readonly TensorPart[] {
    // A weight's parts: f16 ones too (matmul's b and embedding's W read them part by part).
    return gw(t).parts ?? [{ tensor: t, start: 0, rows: t.shape[0] ?? 1 }];
  }

  zeros(shape: readonly number[], dtype: DType = 'f32', label = 'tensor'): GpuTensor {
    return this.ctx.tensor(shape, dtype, label);
  }

  fromArray(data: Float32Array | Int32Array, shape: readonly number[], label = 'tensor'): GpuTensor {
    const t = this.ctx.tensor(shape, data instanceof Int32Array ? 'i32' : 'f32', label, false);
    this.ctx.write(t, data);
    return t;
  }

  weight(data: Float32Array, shape: readonly number[], opts: WeightOptions): GpuTensor {
    if (opts.precision === 'f32') return this.fromArray(data, shape, opts.label);
    const t = this.ctx.tensor(shape, 'f16', opts.label ?? 'weight', false);
    this.ctx.write(t, data);
    return t;
  }

  write(t: Tensor, data: Float32Array | Int32Array, offset = 0): void {
    this.ctx.write(gw(t), data, offset);
  }
  read(t: Tensor): Promise<Float32Array | Int32Array> {
    return this.ctx.read(gw(t));
  }
  fill(t: Tensor, value: number): void {
    for (const p of partsOf(t)) fill(this.ctx, p, value);
  }
  copy(dst: Tensor, src: Tensor, count?: number, srcOffset?: number, dstOffset?: number): void {
    this.ctx.copy(gw(dst), gw(src), count, srcOffset, dstOffset);
  }
  dispose(t: Tensor): void {
    this.ctx.release(gw(t));
  }
  flush(): void {
    this.ctx.flush();
  }
  noteKernels(): void {
    noteKernels(this.ctx);
  }
  async tuneKernels(opts?: KernelTuneOptions): Promise<KernelTuneReport | null> {
    // CPU-emulated adapters run the flat matmul compiled per shape: nothing to choose between.
    if (this.ctx.barrierFree) return null;
    return tuneMatmuls(this.ctx, opts);
  }

  matmul(out: Tensor, a: Tensor, b: Tensor, bias: Tensor | null, p: MatmulParams): void {
    matmul(this.ctx, g(out), g(a), gw(b), go(bias), p);
  }
  sumRows(out: Tensor, x: Tensor, M: number, N: number, accumulate = false): void {
    sumRows(this.ctx, g(out), g(x), M, N, accumulate);
  }
  add(out: Tensor, a: Tensor, b: Tensor): void {
    add(this.ctx, g(out), g(a), g(b));
  }
  mul(out: Tensor, a: Tensor, b: Tensor): void {
    mul(this.ctx, g(out), g(a), g(b));
  }
  scale(out: Tensor, a: Tensor, s: number): void {
    scale(this.ctx, g(out), g(a), s);
  }
  axpy(out: Tensor, x: Tensor, alpha: number): void {
    axpy(this.ctx, g(out), g(x), alpha);
  }
  tanh(out: Tensor, x: Tensor): void {
    tanh(this.ctx, g(out), g(x));
  }
  tanhBackward(dx: Tensor, y: Tensor, dout: Tensor): void {
    tanhBackward(this.ctx, g(dx), g(y), g(dout));
  }
  gelu(out: Tensor, x: Tensor, kind: GeluKind): void {
    gelu(this.ctx, g(out), g(x), kind);
  }
  geluBackward(dx: Tensor, x: Tensor, dout: Tensor, kind: GeluKind, accumulate = false): void {
    geluBackward(this.ctx, g(dx), g(x), g(dout), kind, accumulate);
  }
  layernorm(
    out: Tensor,
    mean: Tensor,
    rstd: Tensor,
    x: Tensor,
    w: Tensor,
    b: Tensor,
    N: number,
    C: number,
    eps: number,
  ): void {
    layernorm(this.ctx, g(out), g(mean), g(rstd), g(x), g(w), g(b), N, C, eps);
  }
  layernormBackward(
    dx: Tensor,
    dw: Tensor | null,
    db: Tensor | null,
    dout: Tensor,
    x: Tensor,
    w: Tensor,
    mean: Tensor,
    rstd: Tensor,
    N: number,
    C: number,
    accumulate = false,
  ): void {
    layernormBackward(this.ctx, g(dx), go(dw), go(db), g(dout), g(x), g(w), g(mean), g(rstd), N, C, accumulate);
  }
  softmax(out: Tensor, x: Tensor, rows: number, cols: number): void {
    softmax(this.ctx, g(out), g(x), rows, cols);
  }
  softmaxBackward(dx: Tensor, y: Tensor, dy: Tensor, rows: number, cols: number): void {
    softmaxBackward(this.ctx, g(dx), g(y), g(dy), rows, cols);
  }
  attention(
    out: Tensor,
    att: Tensor,
    q: Tensor,
    k: Tensor,
    v: Tensor,
    keyMask: Tensor | null,
    p: AttentionParams,
  ): void {
    attention(this.ctx, g(out), g(att), g(q), g(k), g(v), go(keyMask), p);
  }
  attentionBackward(
    dq: Tensor,
    dk: Tensor,
    dv: Tensor,
    dout: Tensor,
    att: Tensor,
    q: Tensor,
    k: Tensor,
    v: Tensor,
    p: AttentionParams,
  ): void {
    attentionBackward(this.ctx, g(dq), g(dk), g(dv), g(dout), g(att), g(q), g(k), g(v), p);
  }
  embedding(out: Tensor, ids: Tensor, W: Tensor, N: number, C: number): void {
    embedding(this.ctx, g(out), g(ids), gw(W), N, C);
  }
  embeddingBackward(dW: Tensor, ids: Tensor, dout: Tensor, N: number, C: number, V: number): void {
    embeddingBackward(this.ctx, g(dW), g(ids), g(dout), N, C, V);
  }
  crossEntropy(
    losses: Tensor,
    valid: Tensor,
    logits: Tensor,
    targets: Tensor,
    N: number,
    V: number,
    ignoreIndex: number,
  ): void {
    crossEntropy(this.ctx, g(losses), g(valid), g(logits), g(targets), N, V, ignoreIndex);
  }
  crossEntropyBackward(
    dlogits: Tensor,
    logits: Tensor,
    targets: Tensor,
    dloss: Tensor,
    count: Tensor,
    N: number,
    V: number,
    ignoreIndex: number,
  ): void {
    crossEntropyBackward(this.ctx, g(dlogits), g(logits), g(targets), g(dloss), g(count), N, V, ignoreIndex);
  }
  sum(out: Tensor, x: Tensor, accumulate = false): void {
    partsOf(x).forEach((p, i) => sum(this.ctx, g(out), p, accumulate || i > 0));
  }
  sumSquares(out: Tensor, x: Tensor, accumulate = false): void {
    partsOf(x).forEach((p, i) => sumSquares(this.ctx, g(out), p, accumulate || i > 0));
  }
  crossEntropyValid(valid: Tensor, targets: Tensor, N: number, V: number, ignoreIndex: number): void {
    crossEntropyValid(this.ctx, g(valid), g(targets), N, V, ignoreIndex);
  }
  crossEntropyPartStats(state: Tensor, logits: Tensor, targets: Tensor, p: CePartParams): void {
    crossEntropyPartStats(this.ctx, g(state), g(logits), g(targets), p);
  }
  crossEntropyPartLoss(losses: Tensor, state: Tensor, targets: Tensor, p: CePartParams): void {
    crossEntropyPartLoss(this.ctx, g(losses), g(state), g(targets), p);
  }
  crossEntropyPartGrad(
    logits: Tensor,
    state: Tensor,
    targets: Tensor,
    dloss: Tensor,
    count: Tensor,
    p: CePartParams,
  ): void {
    crossEntropyPartGrad(this.ctx, g(logits), g(state), g(targets), g(dloss), g(count), p);
  }
  dem(partials: Tensor, grad: Tensor, theta: Tensor, slots: AdapterSlots, coef: number): void {
    dem(this.ctx, g(partials), g(grad), g(theta), slots.slots, g(slots.table), coef);
  }
  dropout(out: Tensor, x: Tensor, p: number, seed: number, offset = 0): void {
    dropout(this.ctx, g(out), g(x), p, seed, offset);
  }
  dropoutBackward(dx: Tensor, dout: Tensor, p: number, seed: number, offset = 0): void {
    dropoutBackward(this.ctx, g(dx), g(dout), p, seed, offset);
  }
  adapterForward(y: Tensor, h: Tensor, x: Tensor, theta: Tensor, live: Tensor, a: AdapterCall): void {
    adapterForward(this.ctx, g(y), g(h), g(x), g(theta), g(live), a);
  }
  adapterBackward(
    dx: Tensor | null,
    dh: Tensor,
    grad: Tensor,
    dy: Tensor,
    h: Tensor,
    x: Tensor,
    theta: Tensor,
    live: Tensor,
    a: AdapterCall,
  ): void {
    adapterBackward(this.ctx, dx && g(dx), g(dh), g(grad), g(dy), g(h), g(x), g(theta), g(live), a);
  }
  adapterImportance(scores: Tensor, theta: Tensor, slots: AdapterSlots): void {
    adapterImportance(this.ctx, g(scores), g(theta), slots.slots, g(slots.table));
  }
  ema(out: Tensor, x: Tensor, beta: number): void {
    ema(this.ctx, g(out), g(x), beta);
  }
  kthSmallest(out: Tensor, x: Tensor, k: number): void {
    kthSmallest(this.ctx, g(out), g(x), k);
  }
  thresholdMask(target: Tensor, mask: Tensor, scores: Tensor, thr: Tensor, targetOffset: number): void {
    thresholdMask(this.ctx, g(target), g(mask), g(scores), g(thr), targetOffset);
  }
  applyMask(target: Tensor, mask: Tensor, targetOffset: number): void {
    applyMask(this.ctx, g(target), g(mask), targetOffset);
  }
  clipScale(s: Tensor, sumsq: Tensor, maxNorm: number): void {
    clipScale(this.ctx, g(s), g(sumsq), maxNorm);
  }
  adamw(param: Tensor, grad: Tensor, m: Tensor, v: Tensor, gradScale: Tensor, p: AdamWParams): void {
    // Parameter, gradient and moments have one shape, hence the same parts.
    const [ps, gs, ms, vs] = [param, grad, m, v].map(partsOf);
    ps.forEach((pp, i) => adamw(this.ctx, pp, gs[i], ms[i], vs[i], g(gradScale), p));
  }
  rmsnorm(out: Tensor, rstd: Tensor, x: Tensor, w: Tensor, N: number, D: number, eps: number): void {
    rmsnorm(this.ctx, g(out), g(rstd), g(x), g(w), N, D, eps);
  }
  rmsnormBackward(
    dx: Tensor,
    dw: Tensor | null,
    dout: Tensor,
    x: Tensor,
    w: Tensor,
    rstd: Tensor,
    N: number,
    D: number,
    accumulate = false,
  ): void {
    rmsnormBackward(this.ctx, g(dx), go(dw), g(dout), g(x), g(w), g(rstd), N, D, accumulate);
  }
  swiglu(out: Tensor, gate: Tensor, up: Tensor): void {
    swiglu(this.ctx, g(out), g(gate), g(up));
  }
  swigluBackward(dgate: Tensor, dup: Tensor, dout: Tensor, gate: Tensor, up: Tensor): void {
    swigluBackward(this.ctx, g(dgate), g(dup), g(dout), g(gate), g(up));
  }
  rope(out: Tensor, x: Tensor, table: Tensor, p: RopeParams): void {
    rope(this.ctx, g(out), g(x), g(table), p);
  }
  ropeBackward(dx: Tensor, dout: Tensor, table: Tensor, p: RopeParams): void {
    ropeBackward(this.ctx, g(dx), g(dout), g(table), p);
  }

  // --- KV-cache decoding
  attentionDecode(out: Tensor, q: Tensor, kCache: Tensor, vCache: Tensor, p: AttentionDecodeParams): void {
    attentionDecode(this.ctx, g(out), g(q), g(kCache), g(vCache), p);
  }
  kvCacheWrite(cache: Tensor, src: Tensor, p: KvWriteParams): void {
    kvCacheWrite(this.ctx, g(cache), g(src), p);
  }
}
