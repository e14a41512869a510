// The op interface every compute backend implements: the CPU reference (src/tensor/cpu.ts) and WebGPU (src/gpu/backend.ts).
// Models, adapters and the trainer are written against this interface only, so the same code runs on either.
//
// Shape alphabet (docs/design.md): B batch, T sequence, C channels, H heads, D head size (C = H*D), V vocab,
// R adapter rank, N rows (B*T usually), M/K/N for a matmul's (rows, inner, cols).
// Conventions: tensors are dense row-major; `out` comes first; ops that say "accumulate" add into `out`.
// Scalars that change from step to step on the GPU (loss scale, clip factor) live in 1-element tensors, so a
// recorded training step needs no readback and no new pipeline.

/** Element type of a tensor. Token ids and masks are i32; a frozen base weight loaded at weight precision 'f16' is
 * f16 (see Backend.weight); everything else is f32. */
export type DType = 'f32' | 'i32' | 'f16';

/** Storage of frozen base weights: 'f32', or 'f16' (IEEE half, rounded to nearest even at load; every kernel still
 * computes and accumulates in f32). Trainable tensors are always f32. */
export type WeightPrecision = 'f32' | 'f16';

export interface WeightOptions {
  precision: WeightPrecision;
  label?: string;
}

/** A handle to backend-owned memory. Backends attach their own storage (typed array or GPUBuffer). */
export interface Tensor {
  readonly shape: readonly number[];
  readonly size: number;
  readonly dtype: DType;
  readonly label: string;
}

/** out(batch,M,N) = alpha * opA(a) @ opB(b) [+ bias(N)] [+ out if accumulate]. */
export interface MatmulParams {
  M: number;
  K: number;
  N: number;
  /** a is stored (K,M) instead of (M,K). */
  transA?: boolean;
  /** b is stored (N,K) instead of (K,N) (nn.Linear weights are (out,in): use transB). */
  transB?: boolean;
  /** Number of independent products; each operand advances by its matrix size unless its broadcast flag is set. */
  batch?: number;
  /** b is one matrix shared by every batch entry (a weight). */
  broadcastB?: boolean;
  alpha?: number;
  accumulate?: boolean;
}

/** A chunk of rows (rowStart.. of the batch, `rows` of them) and one vocabulary part [vStart, vStart + vp) of V. */
export interface CePartParams {
  rows: number;
  rowStart: number;
  vStart: number;
  vp: number;
  V: number;
  ignoreIndex: number;
}

/** A row range of a tensor (rows start.. start + rows of its first dimension) as a tensor of its own. */
export interface TensorPart {
  tensor: Tensor;
  start: number;
  rows: number;
}

export type GeluKind = 'tanh' | 'erf';

/** Scaled dot-product attention over q, k, v stored inside (B,T,stride) buffers at channel `offset`; out is (B,T,H*D).
 * D (head_dim) need not be hidden / H (Qwen3): every width comes from H, KVH and D. */
export interface AttentionParams {
  B: number;
  T: number;
  H: number;
  D: number;
  /** Row stride (elements) and start channel of q, k and v; GPT-2's fused qkv uses stride 3C, offsets 0, C, 2C. */
  qStride: number;
  qOffset: number;
  kStride: number;
  kOffset: number;
  vStride: number;
  vOffset: number;
  causal: boolean;
  /** 1/sqrt(D) unless given. */
  scale?: number;
  /** Key/value heads (grouped-query attention, num_key_value_heads): k and v views are KVH*D wide and query head h
   * reads kv head floor(h / (H / KVH)). H unless given; H % KVH must be 0. */
  KVH?: number;
  /** Dropout on the probabilities (training): entry e of att is kept as src/ops/dropout.ts keeps element offset + e
   * (offset 0 unless given: a micro-batch's first row times H*T*T). */
  dropout?: DropoutMask;
}

/** Rotary embeddings over H heads of D channels stored inside a (B,T,stride) buffer at channel `offset` (HF rotate_half
 * layout: channel i of a head pairs with i + D/2). The cos/sin table (rows of [cos(D/2) | sin(D/2)] per position) comes
 * from ropeTable in src/ops/rope.ts. */
export interface RopeParams {
  B: number;
  T: number;
  /** num_attention_heads for q, num_key_value_heads for k. */
  H: number;
  /** head_dim; even. */
  D: number;
  /** Row stride (elements) and start channel of the view. */
  stride: number;
  offset: number;
  /** Token t sits at position posOffset + t (a KV-cache continuation); 0 unless given. */
  posOffset?: number;
}

/** AdamW hyperparameters as torch.optim.AdamW; `step` is 1-based for the bias correction. */
export interface AdamWParams {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  step: number;
}

/** Where one adapted module's parameters live inside a packed parameter tensor (element offsets).
 * A is (R0, inF) row-major at offA, B is (outF, R0) row-major at offB, c is (R0) at offC. LoRA has no c (c = 1). */
export interface AdapterSlot {
  inF: number;
  outF: number;
  R0: number;
  offA: number;
  offB: number;
  /** -1 for LoRA: every component has c = 1 and no dc is computed. */
  offC: number;
}

/** Every adapted module of an adapter set, for the passes that treat them all at once (importance, DEM): the slots in
 * module order, all of one R0, and `table`, the same slots as i32 (ops/adapter.ts adapterSlotTable), which the set
 * uploads once. Module m's importance scores start at m * R0, its DEM partials at m * 2 * R0. */
export interface AdapterSlots {
  slots: readonly AdapterSlot[];
  table: Tensor;
}

/** Dropout drawn inside a kernel (attention's probabilities, an adapter's input) rather than stored: the mask
 * Backend.dropout(x, p, seed, offset) would draw, so element e of the kernel's tensor is kept as element offset + e. */
export interface DropoutMask {
  p: number;
  seed: number;
  /** 0 unless given: a micro-batch's first row times the tensor's elements per batch row. */
  offset?: number;
}

/** One adapted module's forward/backward call: N rows, the live components, and the constant scale s. */
export interface AdapterCall extends AdapterSlot {
  N: number;
  scale: number;
  /** Input dropout (training) over x (N, inF), element (n, k) at n * inF + k; absent or p = 0: none. The dropped input
   * is never stored. */
  dropout?: DropoutMask;
  /** Components computed are live[liveOffset .. liveOffset + liveCount) (indices into 0..R0). */
  liveOffset: number;
  liveCount: number;
}

/** Kernel tuning on the running device (Backend.tuneKernels). */
export interface KernelTuneOptions {
  /** Stop timing new shapes after this many milliseconds; the rest keep the fixed rule (default 3000). */
  budgetMs?: number;
}

/** One kernel shape timed by Backend.tuneKernels. */
export interface TunedKernel {
  kernel: 'matmul';
  /** The shape as batch x M x K x N, transposition/broadcast/accumulate flags, bias, b's dtype. */
  shape: string;
  flops: number;
  /** Times the tuned step ran this shape. */
  calls: number;
  /** The variant the fixed rule picks, and the one now used. */
  rule: string;
  chosen: string;
  /** Median milliseconds per op of each variant timed. */
  msPerOp: Record<string, number>;
}

export interface KernelTuneReport {
  /** Wall-clock milliseconds the tuning took. */
  ms: number;
  kernels: TunedKernel[];
  /** Shapes left to the fixed rule because the time budget ran out. */
  untimed: number;
}

export interface Backend extends DecodeOps {
  readonly kind: 'cpu' | 'webgpu';

  /** Kernel tuning, where the backend has variants to choose between per device (WebGPU on a GPU): note the kernel
   * shapes of the work recorded from now on (one training step), then tuneKernels() times each shape's variants and
   * uses the fastest from then on. Variants compute the same result. Absent, or a null report: nothing to tune. */
  noteKernels?(): void;
  tuneKernels?(opts?: KernelTuneOptions): Promise<KernelTuneReport | null>;

  /** A zero-filled tensor. */
  zeros(shape: readonly number[], dtype?: DType, label?: string): Tensor;
  fromArray(data: Float32Array | Int32Array, shape: readonly number[], label?: string): Tensor;
  /** A frozen weight at `opts.precision`. 'f16' rounds `data` to IEEE half (a dtype 'f16' tensor: two per 32-bit word
   * on WebGPU, f16-rounded f32 values on the CPU, so both compute the same products). An f16 tensor is read only as
   * matmul's b operand and embedding's W; read() returns its values as f32, write() rounds them. */
  weight(data: Float32Array, shape: readonly number[], opts: WeightOptions): Tensor;
  /** Overwrite the tensor's contents (data.length elements from element `offset`). */
  write(t: Tensor, data: Float32Array | Int32Array, offset?: number): void;
  read(t: Tensor): Promise<Float32Array | Int32Array>;
  fill(t: Tensor, value: number): void;
  /** dst[dstOffset .. +count] = src[srcOffset .. +count] (elements). */
  copy(dst: Tensor, src: Tensor, count?: number, srcOffset?: number, dstOffset?: number): void;
  dispose(t: Tensor): void;
  /** Submit the work recorded so far (one queue submission on WebGPU; a no-op on the CPU). */
  flush(): void;
  /** The largest tensor in bytes one op can bind; a larger tensor is stored in row-range parts (`parts`). */
  readonly maxTensorBytes: number;
  /** The row-range parts of a tensor, in order: one part (the tensor itself) unless it exceeds maxTensorBytes. Ops
   * that take a whole parted tensor: write, read, fill, copy, dispose, sum, sumSquares, adamw, embedding and its
   * backward; matmul and the others take its parts. */
  parts(t: Tensor): readonly TensorPart[];

  // --- linear algebra
  /** b may be an f16 weight (its values are used as f32); every other operand is f32. */
  matmul(out: Tensor, a: Tensor, b: Tensor, bias: Tensor | null, p: MatmulParams): void;
  /** out(N) (+)= sum over rows of x(M,N): the bias gradient. */
  sumRows(out: Tensor, x: Tensor, M: number, N: number, accumulate?: boolean): void;

  // --- elementwise (n = out.size)
  add(out: Tensor, a: Tensor, b: Tensor): void;
  mul(out: Tensor, a: Tensor, b: Tensor): void;
  scale(out: Tensor, a: Tensor, s: number): void;
  /** out += alpha * x */
  axpy(out: Tensor, x: Tensor, alpha: number): void;
  tanh(out: Tensor, x: Tensor): void;
  /** dx = (1 - y^2) * dout, from the saved output y = tanh(x). */
  tanhBackward(dx: Tensor, y: Tensor, dout: Tensor): void;
  gelu(out: Tensor, x: Tensor, kind: GeluKind): void;
  /** dx (+)= gelu'(x) * dout */
  geluBackward(dx: Tensor, x: Tensor, dout: Tensor, kind: GeluKind, accumulate?: boolean): void;

  // --- normalisation
  /** Over the last dim C of x(N,C); mean and rstd (N) are saved for the backward. */
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
  ): void;
  /** dx (+)= ...; dw and db accumulate when given (null for frozen LayerNorms). */
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
    accumulate?: boolean,
  ): void;
  softmax(out: Tensor, x: Tensor, rows: number, cols: number): void;
  softmaxBackward(dx: Tensor, y: Tensor, dy: Tensor, rows: number, cols: number): void;

  // --- attention
  /** out(B,T,C) = softmax(q k^T * scale + masks) v; att(B,H,T,T) keeps the probabilities for the backward.
   * keyMask (B,T) i32: 1 = attend, 0 = padding; null means every key is real. */
  attention(
    out: Tensor,
    att: Tensor,
    q: Tensor,
    k: Tensor,
    v: Tensor,
    keyMask: Tensor | null,
    p: AttentionParams,
  ): void;
  /** Writes (not accumulates) dq, dk, dv at the same strides and offsets as q, k, v. */
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
  ): void;

  // --- embeddings and loss
  /** out(N,C) = W[ids[n]] (ids i32; W f32 or an f16 weight). */
  embedding(out: Tensor, ids: Tensor, W: Tensor, N: number, C: number): void;
  /** dW[ids[n]] += dout[n] (deterministic on every backend). */
  embeddingBackward(dW: Tensor, ids: Tensor, dout: Tensor, N: number, C: number, V: number): void;
  /** losses(N) = -log softmax(logits(N,V))[target]; 0 and valid(N) = 0 where target == ignoreIndex, else valid = 1. */
  crossEntropy(
    losses: Tensor,
    valid: Tensor,
    logits: Tensor,
    targets: Tensor,
    N: number,
    V: number,
    ignoreIndex: number,
  ): void;
  /** dlogits = (softmax - onehot) * dloss[0] / count[0] on valid rows, 0 on ignored ones. */
  crossEntropyBackward(
    dlogits: Tensor,
    logits: Tensor,
    targets: Tensor,
    dloss: Tensor,
    count: Tensor,
    N: number,
    V: number,
    ignoreIndex: number,
  ): void;

  /** valid(N) = 1 where targets[n] is a class in [0, V), 0 where it is ignoreIndex (the CPU rejects other ids). */
  crossEntropyValid(valid: Tensor, targets: Tensor, N: number, V: number, ignoreIndex: number): void;
  /** Cross-entropy of a chunk of rows whose logits arrive in vocabulary parts (ascending vStart, the first at 0):
   * folds the part's logits (rows, vp) into state (rows, 4), an online log-sum-exp per row. */
  crossEntropyPartStats(state: Tensor, logits: Tensor, targets: Tensor, p: CePartParams): void;
  /** After every part's stats: losses[rowStart + r] = logsumexp - target logit, 0 on ignored rows. */
  crossEntropyPartLoss(losses: Tensor, state: Tensor, targets: Tensor, p: CePartParams): void;
  /** After every part's stats: the part's logits are overwritten by (softmax - onehot) * dloss[0] / count[0], 0 on
   * ignored rows. */
  crossEntropyPartGrad(
    logits: Tensor,
    state: Tensor,
    targets: Tensor,
    dloss: Tensor,
    count: Tensor,
    p: CePartParams,
  ): void;

  // --- reductions
  /** out[0] (+)= sum(x) */
  sum(out: Tensor, x: Tensor, accumulate?: boolean): void;
  /** out[0] (+)= sum(x^2) */
  sumSquares(out: Tensor, x: Tensor, accumulate?: boolean): void;

  // --- adapters (LoRA and the dynamic-rank method); theta is the packed trainable parameter tensor
  /** out = x * keep / (1 - p) with keep drawn from a counter-based hash of (seed, offset + index); p = 0 copies. The
   * offset (0 unless given) lets a micro-batch's tensor draw the elements its rows have in the whole batch's tensor. */
  dropout(out: Tensor, x: Tensor, p: number, seed: number, offset?: number): void;
  /** dx += dout * keep / (1 - p), the same keep as dropout(seed, offset). */
  dropoutBackward(dx: Tensor, dout: Tensor, p: number, seed: number, offset?: number): void;
  /** h(N,live) = xd A_live^T;  y(N,outF) += scale * (h * c_live) B_live^T, with xd = dropout(x) under a.dropout (drawn
   * in the kernels, never stored), else x. h is (N, R0) scratch, first liveCount columns used. */
  adapterForward(y: Tensor, h: Tensor, x: Tensor, theta: Tensor, live: Tensor, a: AdapterCall): void;
  /** From dy(N,outF): dx(N,inF) += the input's gradient (dh A_live through a.dropout's mask; not computed when dx is
   * null); grad (packed like theta) accumulates dA, dB, dc of the live components; dh (N,R0) is scratch. x and
   * a.dropout as in the forward. */
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
  ): void;
  /** For every module m of `slots`: scores[m R0 + i] = |c_i| |a_i| |b_i| / (|sum_j c_j b_j a_j^T|_F + 1e-8) for its R0
   * components, from the R0xR0 Gram matrices of A and B (never the full update). */
  adapterImportance(scores: Tensor, theta: Tensor, slots: AdapterSlots): void;
  /** DEM regulariser (Mao et al. Eq. 10), for every module m of `slots`: partials[2 m R0 + i] = coef Var(a_i),
   * [2 m R0 + R0 + i] = coef Var(b_i) (unbiased variances) for its R0 components; grad (packed) accumulates the
   * gradient. */
  dem(partials: Tensor, grad: Tensor, theta: Tensor, slots: AdapterSlots, coef: number): void;
  /** out = beta * out + (1 - beta) * x */
  ema(out: Tensor, x: Tensor, beta: number): void;
  /** out[0] = the k-th smallest value of x (1-based, k clamped to [1, n]); deterministic. */
  kthSmallest(out: Tensor, x: Tensor, k: number): void;
  /** mask[i] = scores[i] <= thr[0] ? 0 : 1 and target[targetOffset + i] *= mask[i], for i < scores.size. */
  thresholdMask(target: Tensor, mask: Tensor, scores: Tensor, thr: Tensor, targetOffset: number): void;
  /** target[targetOffset + i] *= mask[i] for i < mask.size (enforcing a frozen mask after each optimizer step). */
  applyMask(target: Tensor, mask: Tensor, targetOffset: number): void;

  // --- optimisation
  /** scale[0] = min(1, maxNorm / (sqrt(sumsq[0]) + 1e-6)), torch.nn.utils.clip_grad_norm_'s factor; -1 when sumsq is
   * NaN or infinite, which makes adamw skip the step. */
  clipScale(scale: Tensor, sumsq: Tensor, maxNorm: number): void;
  /** One AdamW step on param with grad * gradScale[0]; m and v are the moment buffers. A negative gradScale[0] (non-finite
   * gradients) skips the step entirely. */
  adamw(param: Tensor, grad: Tensor, m: Tensor, v: Tensor, gradScale: Tensor, p: AdamWParams): void;

  // --- Llama family (RMSNorm, rotary embeddings, SwiGLU; grouped-query attention is AttentionParams.KVH)
  /** Over the last dim D of x(N,D): out = x * rsqrt(mean(x^2) + eps) * w; rstd (N) is saved for the backward. Any number
   * of rows, so it serves the residual stream and Qwen3's per-head q/k norm ((B*T*H, head_dim) rows). */
  rmsnorm(out: Tensor, rstd: Tensor, x: Tensor, w: Tensor, N: number, D: number, eps: number): void;
  /** dx (+)= ... (overwritten unless `accumulate`); dw accumulates over rows when given (null for a frozen norm). */
  rmsnormBackward(
    dx: Tensor,
    dw: Tensor | null,
    dout: Tensor,
    x: Tensor,
    w: Tensor,
    rstd: Tensor,
    N: number,
    D: number,
    accumulate?: boolean,
  ): void;
  /** out = silu(gate) * up elementwise (n = out.size); gate and up are the gate_proj and up_proj outputs. */
  swiglu(out: Tensor, gate: Tensor, up: Tensor): void;
  /** dgate = dout * up * silu'(gate), dup = dout * silu(gate) (both overwritten; n = dout.size). */
  swigluBackward(dgate: Tensor, dup: Tensor, dout: Tensor, gate: Tensor, up: Tensor): void;
  /** out = x rotated by rotary embeddings on the view p describes (other channels of out untouched). The one op whose
   * output may be its input: out === x rotates in place. table: (positions, D) from ropeTable (src/ops/rope.ts). */
  rope(out: Tensor, x: Tensor, table: Tensor, p: RopeParams): void;
  /** dx = dout rotated by -angle (overwritten on the view); dx may be dout. */
  ropeBackward(dx: Tensor, dout: Tensor, table: Tensor, p: RopeParams): void;
}

// --- KV-cache decoding (inference only; no backward)

/** Attention of Tq new queries at positions pos..pos+Tq-1 over a per-layer key/value cache laid out (B, Tmax, KVH*D):
 * query t sees cached keys 0..pos+t (causal). q is read from a (B,Tq,qStride) buffer at channel qOffset (GPT-2's fused
 * qkv: stride 3C, offset 0); out is (B,Tq,H*D). */
export interface AttentionDecodeParams {
  B: number;
  /** New queries per row (the prompt length when prefilling, 1 per decode step). */
  Tq: number;
  /** Position of the first new query; the cache already holds keys 0..pos-1 and the new ones at pos..pos+Tq-1. */
  pos: number;
  /** Positions the cache holds (its second dimension). */
  Tmax: number;
  H: number;
  D: number;
  /** Key/value heads; H unless given; must divide H (query head h reads kv head floor(h / (H / KVH))). */
  KVH?: number;
  qStride: number;
  qOffset: number;
  /** 1/sqrt(D) unless given. */
  scale?: number;
}

/** cache(B,Tmax,width)[b, pos + t, :] = src[(b*Tq + t)*srcStride + srcOffset + (0..width)] for t < Tq. */
export interface KvWriteParams {
  B: number;
  Tq: number;
  pos: number;
  Tmax: number;
  /** KVH*D: channels of one cached row. */
  width: number;
  srcStride: number;
  srcOffset: number;
}

/** The decode ops (CPU: src/ops/attentionDecode.ts; WebGPU: shaders/attention_decode.wgsl). */
interface DecodeOps {
  /** out(B,Tq,H*D) = softmax(q k^T * scale) v over the cached keys 0..pos+t of each query t (AttentionDecodeParams). */
  attentionDecode(out: Tensor, q: Tensor, kCache: Tensor, vCache: Tensor, p: AttentionDecodeParams): void;
  /** Copies Tq new key (or value) rows per batch row into the cache at position pos. */
  kvCacheWrite(cache: Tensor, src: Tensor, p: KvWriteParams): void;
}
