// The CPU backend: every op is its pure-TS reference from src/ops. Slow, exact, and able to run tiny models whole
// (`--backend cpu`), which makes it the oracle for the WebGPU kernels.

import { adamwRef, clipScaleRef } from '../ops/adamw';
import { adapterBackwardRef, adapterForwardRef, adapterImportanceRef } from '../ops/adapter';
import { attentionBackwardRef, attentionRef } from '../ops/attention';
import { attentionDecodeRef, kvWriteRef } from '../ops/attentionDecode';
import {
  crossEntropyBackwardRef,
  crossEntropyPartGradRef,
  crossEntropyPartLossRef,
  crossEntropyPartStatsRef,
  crossEntropyRef,
  crossEntropyValidRef,
} from '../ops/crossEntropy';
import { demRef } from '../ops/dem';
import { dropoutBackwardRef, dropoutRef } from '../ops/dropout';
import { addRef, axpyRef, mulRef, scaleRef, tanhBackwardRef, tanhRef } from '../ops/elementwise';
import { embeddingBackwardRef, embeddingRef } from '../ops/embedding';
import { geluBackwardRef, geluRef } from '../ops/gelu';
import { layernormBackwardRef, layernormRef } from '../ops/layernorm';
import { matmulRef, sumRowsRef } from '../ops/matmul';
import { sumRef, sumSquaresRef } from '../ops/reduce';
import { rmsnormBackwardRef, rmsnormRef } from '../ops/rmsnorm';
import { ropeBackwardRef, ropeRef } from '../ops/rope';
import { applyMaskRef, emaRef, kthSmallestRef, thresholdMaskRef } from '../ops/select';
import { softmaxBackwardRef, softmaxRef } from '../ops/softmax';
import { swigluBackwardRef, swigluRef } from '../ops/swiglu';
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
  KvWriteParams,
  MatmulParams,
  RopeParams,
  Tensor,
  TensorPart,
  WeightOptions,
} from './backend';
import { decodeF16, encodeF16 } from './half';

export interface CpuTensor extends Tensor {
  readonly data: Float32Array | Int32Array;
}

const f = (t: Tensor): Float32Array => (t as CpuTensor).data as Float32Array;
const i = (t: Tensor): Int32Array => (t as CpuTensor).data as Int32Array;
const fo = (t: Tensor | null): Float32Array | null => (t ? f(t) : null);

/** Options of the CPU backend. */
export interface CpuBackendOptions {
  /** Tensors above this many bytes report row-range parts (views of their storage), as WebGPU stores tensors beyond
   * its binding limit: tests of the parted paths. Default: no limit. */
  maxTensorBytes?: number;
}

export class CpuBackend implements Backend {
  readonly kind = 'cpu' as const;
  readonly maxTensorBytes: number;
  private readonly partsOf = new WeakMap<Tensor, TensorPart[]>();

  constructor(opts: CpuBackendOptions = {}) {
    this.maxTensorBytes = opts.maxTensorBytes ?? Infinity;
  }

  parts(t: Tensor): readonly TensorPart[] {
    let ps = this.partsOf.get(t);
    if (ps) return ps;
    const rows = t.shape[0] ?? 1,
      width = t.size / Math.max(rows, 1),
      elemBytes = t.dtype === 'f16' ? 2 : 4,
      per = Math.max(1, Math.floor(this.maxTensorBytes / (elemBytes * width)));
    ps = [];
    for (let start = 0; start < rows || ps.length === 0; start += per) {
      const n = Math.min(per, rows - start),
        data = (t as CpuTensor).data.subarray(start * width, (start + n) * width);
      const tensor: CpuTensor =
        n === rows
          ? (t as CpuTensor)
          : {
              shape: [n, ...t.shape.slice(1)],
              size: n * width,
              dtype: t.dtype,
              label: `${t.label} [${start}..]`,
              data,
            };
      ps.push({ tensor, start, rows: n });
    }
    this.partsOf.set(t, ps);
    return ps;
  }

  zeros(shape: readonly number[], dtype: DType = 'f32', label = 'tensor'): CpuTensor {
    const size = shape.reduce((a, b) => a * b, 1);
    return {
      shape: [...shape],
      size,
      dtype,
      label,
      data: dtype === 'i32' ? new Int32Array(size) : new Float32Array(size),
    };
  }

  fromArray(data: Float32Array | Int32Array, shape: readonly number[], label = 'tensor'): CpuTensor {
    const t = this.zeros(shape, data instanceof Int32Array ? 'i32' : 'f32', label);
    t.data.set(data);
    return t;
  }

  /** An f16 weight keeps f16-rounded values in f32 storage: every op reads the numbers the GPU unpacks. */
  weight(data: Float32Array, shape: readonly number[], opts: WeightOptions): CpuTensor {
    if (opts.precision === 'f32') return this.fromArray(data, shape, opts.label);
    const t = this.zeros(shape, 'f16', opts.label);
    t.data.set(decodeF16(encodeF16(data)));
    return t;
  }

  write(t: Tensor, data: Float32Array | Int32Array, offset = 0): void {
    (t as CpuTensor).data.set(t.dtype === 'f16' ? decodeF16(encodeF16(data)) : data, offset);
  }

  async read(t: Tensor): Promise<Float32Array | Int32Array> {
    return (t as CpuTensor).data.slice();
  }

  fill(t: Tensor, value: number): void {
    (t as CpuTensor).data.fill(value);
  }

  copy(dst: Tensor, src: Tensor, count = src.size, srcOffset = 0, dstOffset = 0): void {
    (dst as CpuTensor).data.set((src as CpuTensor).data.subarray(srcOffset, srcOffset + count), dstOffset);
  }

  dispose(): void {}
  flush(): void {}

  matmul(out: Tensor, a: Tensor, b: Tensor, bias: Tensor | null, p: MatmulParams): void {
    matmulRef(f(out), f(a), f(b), fo(bias), p);
  }
  sumRows(out: Tensor, x: Tensor, M: number, N: number, accumulate = false): void {
    sumRowsRef(f(out), f(x), M, N, accumulate);
  }
  add(out: Tensor, a: Tensor, b: Tensor): void {
    addRef(f(out), f(a), f(b));
  }
  mul(out: Tensor, a: Tensor, b: Tensor): void {
    mulRef(f(out), f(a), f(b));
  }
  scale(out: Tensor, a: Tensor, s: number): void {
    scaleRef(f(out), f(a), s);
  }
  axpy(out: Tensor, x: Tensor, alpha: number): void {
    axpyRef(f(out), f(x), alpha);
  }
  tanh(out: Tensor, x: Tensor): void {
    tanhRef(f(out), f(x));
  }
  tanhBackward(dx: Tensor, y: Tensor, dout: Tensor): void {
    tanhBackwardRef(f(dx), f(y), f(dout));
  }
  gelu(out: Tensor, x: Tensor, kind: GeluKind): void {
    geluRef(f(out), f(x), kind);
  }
  geluBackward(dx: Tensor, x: Tensor, dout: Tensor, kind: GeluKind, accumulate = false): void {
    geluBackwardRef(f(dx), f(x), f(dout), kind, accumulate);
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
    layernormRef(f(out), f(mean), f(rstd), f(x), f(w), f(b), N, C, eps);
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
    layernormBackwardRef(f(dx), fo(dw), fo(db), f(dout), f(x), f(w), f(mean), f(rstd), N, C, accumulate);
  }
  softmax(out: Tensor, x: Tensor, rows: number, cols: number): void {
    softmaxRef(f(out), f(x), rows, cols);
  }
  softmaxBackward(dx: Tensor, y: Tensor, dy: Tensor, rows: number, cols: number): void {
    softmaxBackwardRef(f(dx), f(y), f(dy), rows, cols);
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
    attentionRef(f(out), f(att), f(q), f(k), f(v), keyMask ? i(keyMask) : null, p);
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
    attentionBackwardRef(f(dq), f(dk), f(dv), f(dout), f(att), f(q), f(k), f(v), p);
  }
  embedding(out: Tensor, ids: Tensor, W: Tensor, N: number, C: number): void {
    embeddingRef(f(out), i(ids), f(W), N, C);
  }
  embeddingBackward(dW: Tensor, ids: Tensor, dout: Tensor, N: number, C: number, V: number): void {
    embeddingBackwardRef(f(dW), i(ids), f(dout), N, C, V);
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
    crossEntropyRef(f(losses), f(valid), f(logits), i(targets), N, V, ignoreIndex);
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
    crossEntropyBackwardRef(f(dlogits), f(logits), i(targets), f(dloss), f(count), N, V, ignoreIndex);
  }
  crossEntropyValid(valid: Tensor, targets: Tensor, N: number, V: number, ignoreIndex: number): void {
    crossEntropyValidRef(f(valid), i(targets), N, V, ignoreIndex);
  }
  crossEntropyPartStats(state: Tensor, logits: Tensor, targets: Tensor, p: CePartParams): void {
    crossEntropyPartStatsRef(f(state), f(logits), i(targets), p);
  }
  crossEntropyPartLoss(losses: Tensor, state: Tensor, targets: Tensor, p: CePartParams): void {
    crossEntropyPartLossRef(f(losses), f(state), i(targets), p);
  }
  crossEntropyPartGrad(
    logits: Tensor,
    state: Tensor,
    targets: Tensor,
    dloss: Tensor,
    count: Tensor,
    p: CePartParams,
  ): void {
    crossEntropyPartGradRef(f(logits), f(state), i(targets), f(dloss), f(count), p);
  }
  sum(out: Tensor, x: Tensor, accumulate = false): void {
    sumRef(f(out), f(x), accumulate);
  }
  sumSquares(out: Tensor, x: Tensor, accumulate = false): void {
    sumSquaresRef(f(out), f(x), accumulate);
  }
  dem(partials: Tensor, grad: Tensor, theta: Tensor, { slots }: AdapterSlots, coef: number): void {
    slots.forEach((s, m) => {
      demRef(f(partials), f(grad), f(theta), s, coef, m * 2 * s.R0);
    });
  }
  dropout(out: Tensor, x: Tensor, p: number, seed: number, offset = 0): void {
    dropoutRef(f(out), f(x), p, seed, offset);
  }
  dropoutBackward(dx: Tensor, dout: Tensor, p: number, seed: number, offset = 0): void {
    dropoutBackwardRef(f(dx), f(dout), p, seed, offset);
  }
  adapterForward(y: Tensor, h: Tensor, x: Tensor, theta: Tensor, live: Tensor, a: AdapterCall): void {
    adapterForwardRef(f(y), f(h), f(x), f(theta), i(live), a);
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
    adapterBackwardRef(dx && f(dx), f(dh), f(grad), f(dy), f(h), f(x), f(theta), i(live), a);
  }
  adapterImportance(scores: Tensor, theta: Tensor, { slots }: AdapterSlots): void {
    slots.forEach((s, m) => {
      adapterImportanceRef(f(scores), f(theta), s, m * s.R0);
    });
  }
  ema(out: Tensor, x: Tensor, beta: number): void {
    emaRef(f(out), f(x), beta);
  }
  kthSmallest(out: Tensor, x: Tensor, k: number): void {
    kthSmallestRef(f(out), f(x), k);
  }
  thresholdMask(target: Tensor, mask: Tensor, scores: Tensor, thr: Tensor, targetOffset: number): void {
    thresholdMaskRef(f(target), f(mask), f(scores), f(thr), targetOffset);
  }
  applyMask(target: Tensor, mask: Tensor, targetOffset: number): void {
    applyMaskRef(f(target), f(mask), targetOffset);
  }
  clipScale(scale: Tensor, sumsq: Tensor, maxNorm: number): void {
    clipScaleRef(f(scale), f(sumsq), maxNorm);
  }
  adamw(param: Tensor, grad: Tensor, m: Tensor, v: Tensor, gradScale: Tensor, p: AdamWParams): void {
    adamwRef(f(param), f(grad), f(m), f(v), f(gradScale), p);
  }
  rmsnorm(out: Tensor, rstd: Tensor, x: Tensor, w: Tensor, N: number, D: number, eps: number): void {
    rmsnormRef(f(out), f(rstd), f(x), f(w), N, D, eps);
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
    rmsnormBackwardRef(f(dx), fo(dw), f(dout), f(x), f(w), f(rstd), N, D, accumulate);
  }
  swiglu(out: Tensor, gate: Tensor, up: Tensor): void {
    swigluRef(f(out), f(gate), f(up));
  }
  swigluBackward(dgate: Tensor, dup: Tensor, dout: Tensor, gate: Tensor, up: Tensor): void {
    swigluBackwardRef(f(dgate), f(dup), f(dout), f(gate), f(up));
  }
  rope(out: Tensor, x: Tensor, table: Tensor, p: RopeParams): void {
    ropeRef(f(out), f(x), f(table), p);
  }
  ropeBackward(dx: Tensor, dout: Tensor, table: Tensor, p: RopeParams): void {
    ropeBackwardRef(f(dx), f(dout), f(table), p);
  }

  // --- KV-cache decoding
  attentionDecode(out: Tensor, q: Tensor, kCache: Tensor, vCache: Tensor, p: AttentionDecodeParams): void {
    attentionDecodeRef(f(out), f(q), f(kCache), f(vCache), p);
  }
  kvCacheWrite(cache: Tensor, src: Tensor, p: KvWriteParams): void {
    kvWriteRef(f(cache), f(src), p);
  }
}
