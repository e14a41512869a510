// The causal LMs' head and cross-entropy in row chunks: logits = hidden Wᵀ never exist for the whole batch. Per chunk
// of token rows: the chunk's logits per vocabulary part of W (W beyond the binding limit is stored in row-range parts,
// Backend.parts), an online log-sum-exp over the parts, the rows' losses, and with gradients the logits overwritten by
// d loss / d logits, then dHidden(chunk) = dlogits W and dW += dlogitsᵀ hidden(chunk). One set of chunk buffers serves
// every chunk; the loss is the sum over valid rows, its scale dloss/count known before the first chunk.

import type { Backend, CePartParams, Tensor } from '../tensor/backend';
import { disposeAll } from './params';

/** Bytes a chunk's logits aim at (all vocabulary parts together). */
const HEAD_CHUNK_BYTES = 64 * 2 ** 20;

/** Rows per chunk: as many as keep the chunk's logits within HEAD_CHUNK_BYTES (a multiple of 64 from 64 up, the
 * matmul tile) and each part's within maxPartBytes; at least 1, at most N. */
function headChunkRows(N: number, V: number, widestPart: number, maxPartBytes: number): number {
  let R = Math.floor(HEAD_CHUNK_BYTES / (4 * V));
  if (R >= 64) R = Math.floor(R / 64) * 64;
  R = Math.min(R, Math.floor(maxPartBytes / (4 * widestPart)));
  return Math.max(1, Math.min(N, R));
}

/** The gradient outputs of a head pass. */
interface HeadGrads {
  /** (N, C), overwritten. */
  dHidden: Tensor;
  /** (V, C) accumulated into, or null when the head is frozen. */
  dW: Tensor | null;
}

export interface HeadLossParams {
  hidden: Tensor;
  W: Tensor;
  targets: Tensor;
  N: number;
  ignoreIndex: number;
  /** With gradients of lossSum * dloss / count (dloss a 1-element tensor of 1). */
  grads?: HeadGrads;
  /** The gradient's divisor count (1 element, read when the gradient is recorded); the rows' own valid count unless
   * given. Micro-batches pass the whole batch's label count, so the passes' gradients add up to the batch's mean. */
  gradCount?: Tensor;
}

interface Workspace {
  N: number;
  R: number;
  hc: Tensor;
  dhc: Tensor;
  logits: Tensor[];
  state: Tensor;
  losses: Tensor;
  valid: Tensor;
  lossSum: Tensor;
  count: Tensor;
  one: Tensor;
}

/** Head + cross-entropy of one model: logits = hidden Wᵀ with W (V, C). */
export class ChunkedLmHead {
  /** Rows per chunk; null: headChunkRows. Settable (tests of the chunk boundaries). */
  chunkRows: number | null = null;
  private ws: Workspace | null = null;
  private scratch: Tensor | null = null;

  constructor(
    private readonly be: Backend,
    private readonly V: number,
    private readonly C: number,
  ) {}

  private workspace(N: number, W: Tensor): Workspace {
    const parts = this.be.parts(W),
      widest = Math.max(...parts.map((p) => p.rows));
    const R = Math.min(N, this.chunkRows ?? headChunkRows(N, this.V, widest, this.be.maxTensorBytes));
    if (this.ws && this.ws.N === N && this.ws.R === R) return this.ws;
    if (this.ws) disposeAll(this.be, this.ws);
    const z = (s: number[], label: string) => this.be.zeros(s, 'f32', label);
    this.ws = {
      N,
      R,
      hc: z([R, this.C], 'head chunk hidden'),
      dhc: z([R, this.C], 'head chunk d hidden'),
      logits: parts.map((p) => z([R, p.rows], `chunk logits [${p.start}..]`)),
      state: z([R, 4], 'chunk log-sum-exp state'),
      losses: z([N], 'losses'),
      valid: z([N], 'valid'),
      lossSum: z([1], 'loss sum'),
      count: z([1], 'count'),
      one: this.be.fromArray(new Float32Array([1]), [1], 'one'),
    };
    return this.ws;
  }

  /** Sum of the rows' cross-entropy and the count of valid rows (1-element tensors, reused by the next call); with
   * `grads`, the head's backward in the same pass. */
  loss(p: HeadLossParams): { lossSum: Tensor; count: Tensor } {
    const be = this.be,
      { N, W, hidden, targets, grads } = p,
      C = this.C,
      ws = this.workspace(N, W),
      parts = be.parts(W),
      dWParts = grads?.dW ? be.parts(grads.dW) : null;
    be.crossEntropyValid(ws.valid, targets, N, this.V, p.ignoreIndex);
    be.sum(ws.count, ws.valid);
    const whole = ws.R === N;
    for (let r0 = 0; r0 < N; r0 += ws.R) {
      const rows = Math.min(ws.R, N - r0),
        hc = whole ? hidden : ws.hc,
        dhc = whole && grads ? grads.dHidden : ws.dhc;
      if (!whole) be.copy(hc, hidden, rows * C, r0 * C, 0);
      const cp = (i: number): CePartParams => ({
        rows,
        rowStart: r0,
        vStart: parts[i].start,
        vp: parts[i].rows,
        V: this.V,
        ignoreIndex: p.ignoreIndex,
      });
      parts.forEach((part, i) => {
        be.matmul(ws.logits[i], hc, part.tensor, null, { M: rows, K: C, N: part.rows, transB: true });
        be.crossEntropyPartStats(ws.state, ws.logits[i], targets, cp(i));
      });
      be.crossEntropyPartLoss(ws.losses, ws.state, targets, cp(0));
      if (!grads) continue;
      parts.forEach((part, i) => {
        const lg = ws.logits[i];
        be.crossEntropyPartGrad(lg, ws.state, targets, ws.one, p.gradCount ?? ws.count, cp(i));
        // logits = hc Wᵀ  =>  dhc = dlogits W;  dW += dlogitsᵀ hc
        be.matmul(dhc, lg, part.tensor, null, { M: rows, K: part.rows, N: C, accumulate: i > 0 });
        if (dWParts) {
          be.matmul(dWParts[i].tensor, lg, hc, null, { M: part.rows, K: rows, N: C, transA: true, accumulate: true });
        }
      });
      if (!whole) be.copy(grads.dHidden, dhc, rows * C, 0, r0 * C);
    }
    be.sum(ws.lossSum, ws.losses);
    return { lossSum: ws.lossSum, count: ws.count };
  }

  /** out (M, V) = hidden (M, C) Wᵀ: every logit of a few rows (generation, the logits command). */
  logits(out: Tensor, hidden: Tensor, W: Tensor, M: number): void {
    const be = this.be,
      parts = be.parts(W);
    if (parts.length === 1) {
      be.matmul(out, hidden, W, null, { M, K: this.C, N: this.V, transB: true });
      return;
    }
    const widest = Math.max(...parts.map((p) => p.rows));
    if (!this.scratch || this.scratch.size < M * widest) {
      if (this.scratch) be.dispose(this.scratch);
      this.scratch = be.zeros([M, widest], 'f32', 'head part logits');
    }
    for (const part of parts) {
      be.matmul(this.scratch, hidden, part.tensor, null, { M, K: this.C, N: part.rows, transB: true });
      for (let m = 0; m < M; m++) be.copy(out, this.scratch, part.rows, m * part.rows, m * this.V + part.start);
    }
  }
}

/** Options of a causal LM's loss. */
export interface LmLossOptions {
  /** Also the head's backward (dHidden, the head's gradient) in the same pass: the training step's backward follows
   * and then runs the body only. */
  withGrad?: boolean;
  /** Targets equal to it are not counted (default -100). */
  ignoreIndex?: number;
  /** The gradient's divisor (1-element tensor): the rows' own valid count unless given (HeadLossParams.gradCount).
   * Applies to the gradient of this loss, here with withGrad or in the backward that follows. */
  gradCount?: Tensor;
}

/** Bytes of the head's buffers at N rows: one chunk's logits and log-sum-exp state, the chunk's hidden rows and their
 * gradient, and the per-row losses and validity (the memory estimate's share of the LM head). */
export function headActivationBytes(N: number, V: number, C: number): number {
  const R = headChunkRows(N, V, V, Infinity);
  return 4 * (R * (V + 4 + 2 * C) + 2 * N);
}
