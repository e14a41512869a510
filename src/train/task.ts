// The training task on top of a loaded model: causal-LM or sequence-classification batches, written into input
// tensors that are allocated once per batch shape, and the forward/loss/backward calls of the right network.

import type { CausalLmNet, SeqClsNet } from '../models/arch/types';
import type { HostEncoderBatch } from '../models/batch';
import { uploadEncoderBatch } from '../models/batch';
import type { LoadedModel } from '../models/load';
import type { EncoderBatch } from '../nn/bert';
import type { Linear } from '../nn/linear';
import type { Recompute } from '../nn/recompute';
import type { Backend, Tensor } from '../tensor/backend';

export type HostBatch =
  | { kind: 'lm'; B: number; T: number; ids: Int32Array; targets: Int32Array }
  | { kind: 'cls'; enc: HostEncoderBatch; labels: Int32Array };

/** Options of TaskModel.forwardLoss. */
interface ForwardLossOptions {
  /** The backward follows (a causal LM runs its head's backward in the loss's pass). */
  withGrad?: boolean;
  /** The gradient's divisor, a 1-element tensor read when the gradient is recorded; the batch's own label count
   * unless given. A classifier's returned count holds it after the call. */
  gradCount?: Tensor;
}

export interface TaskModel {
  readonly model: LoadedModel;
  linears(): Linear[];
  /** Uploads one batch and selects it (setBatches([b])). */
  setBatch(b: HostBatch): void;
  /** Uploads the micro-batches of one step, each into its own input tensors, and selects the first. All writes happen
   * here, before the step is recorded, so the step's passes need no upload between them (one submission). */
  setBatches(parts: readonly HostBatch[]): void;
  /** Selects micro-batch `part` of the last setBatches for forwardLoss and backward. */
  usePart(part: number): void;
  /** Records forward + loss for the current batch; `withGrad` when backward() follows (a causal LM then runs its
   * head's backward in the loss's pass). The gradient is divided by `gradCount` (a 1-element tensor, as it holds when
   * the gradient is recorded), or by the returned `count` unless given: micro-batches pass the step's total. */
  forwardLoss(opts?: ForwardLossOptions): { lossSum: Tensor; count: Tensor };
  /** Records the backward of the last forwardLoss. */
  backward(): void;
  /** Tokens (LM) or sequences' tokens (classification) in the last setBatches, all parts, for throughput. */
  tokens(): number;
  /** Logits of the current batch after forwardLoss. */
  logits(): Tensor;
  /** Train mode with the model's own dropout drawn from `seed`, or eval mode (null): no dropout. `firstRow`: the
   * current micro-batch's first row within the step's batch (0 unless given), where its masks are drawn. */
  setDropout(seed: number | null, firstRow?: number): void;
  /** Activation recomputation (src/nn/recompute.ts), where the network supports it (GPT-2, BERT, the Llama family);
   * returns whether it does. */
  setRecompute(mode: Recompute): boolean;
}

/** Batch rows (sequences) of a host batch. */
export function batchRows(b: HostBatch): number {
  return b.kind === 'lm' ? b.B : b.enc.B;
}

/** Rows [first, first + count) of a host batch as a batch of its own (classification rows re-based to the part). */
export function sliceBatch(b: HostBatch, first: number, count: number): HostBatch {
  if (b.kind === 'lm') {
    const { T } = b,
      rows = (a: Int32Array) => a.slice(first * T, (first + count) * T);
    return { kind: 'lm', B: count, T, ids: rows(b.ids), targets: rows(b.targets) };
  }
  const { T } = b.enc,
    rows = (a: Int32Array) => a.slice(first * T, (first + count) * T);
  return {
    kind: 'cls',
    enc: {
      B: count,
      T,
      ids: rows(b.enc.ids),
      typeIds: rows(b.enc.typeIds),
      posIds: rows(b.enc.posIds),
      mask: rows(b.enc.mask),
      clsRows: b.enc.clsRows.slice(first, first + count).map((r) => r - first * T),
    },
    labels: b.labels.slice(first, first + count),
  };
}

/** Labels the loss averages over: the targets (LM) or labels (classification) other than ignoreIndex. */
export function lossCount(b: HostBatch, ignoreIndex = -100): number {
  const labels = b.kind === 'lm' ? b.targets : b.labels;
  let n = 0;
  for (const t of labels) if (t !== ignoreIndex) n++;
  return n;
}

type DropoutNet = { dropoutSeed?: number | null; dropoutFirstRow?: number };

function setNetRecompute(net: { recompute?: Recompute }, mode: Recompute): boolean {
  if (!('recompute' in net)) return false;
  net.recompute = mode;
  return true;
}

function setNetDropout(net: DropoutNet, seed: number | null, firstRow: number): void {
  if (!('dropoutSeed' in net)) return;
  net.dropoutSeed = seed;
  net.dropoutFirstRow = firstRow;
}

/** The micro-batch slots a task holds: setBatches uploads batch k into slot k and selects slot 0; usePart selects the
 * slot (below the number last uploaded) that forwardLoss and backward read. */
interface PartCursor {
  cur: number;
  used: number;
  setBatches(bs: readonly HostBatch[]): void;
  usePart(k: number): void;
}

function partCursor(upload: (b: HostBatch, k: number) => void): PartCursor {
  const c: PartCursor = {
    cur: 0,
    used: 0,
    setBatches(bs) {
      bs.forEach(upload);
      c.used = bs.length;
      c.cur = 0;
    },
    usePart(k) {
      if (!(k >= 0 && k < c.used)) throw new RangeError(`micro-batch ${k} of ${c.used}`);
      c.cur = k;
    },
  };
  return c;
}

/** The task's batches and network calls; the model's `task` decides, the family's network does the rest. */
export function taskFor(be: Backend, model: LoadedModel): TaskModel {
  const m = model as LoadedModel;
  if (m.task === 'causal-lm') {
    const net: CausalLmNet = m.net;
    const parts: { B: number; T: number; ids: Tensor; targets: Tensor }[] = [];
    const upload = (b: HostBatch, k: number) => {
      if (b.kind !== 'lm') throw new Error('a causal LM trains on causal-LM batches');
      let p = parts[k];
      if (!p || b.B !== p.B || b.T !== p.T) {
        if (p) {
          be.dispose(p.ids);
          be.dispose(p.targets);
        }
        p = parts[k] = {
          B: b.B,
          T: b.T,
          ids: be.zeros([b.B * b.T], 'i32', 'input ids'),
          targets: be.zeros([b.B * b.T], 'i32', 'targets'),
        };
      }
      be.write(p.ids, b.ids);
      be.write(p.targets, b.targets);
    };
    const at = partCursor(upload);
    const task: TaskModel = {
      model,
      linears: () => net.linears(),
      setBatch: (b) => task.setBatches([b]),
      setBatches: at.setBatches,
      usePart: at.usePart,
      forwardLoss(opts = {}) {
        const p = parts[at.cur];
        net.forwardHidden(p.ids, p.B, p.T);
        return net.loss(p.targets, { withGrad: opts.withGrad, gradCount: opts.gradCount });
      },
      backward() {
        net.backward(parts[at.cur].ids, parts[at.cur].targets);
      },
      tokens: () => parts.slice(0, at.used).reduce((n, p) => n + p.B * p.T, 0),
      // The loss never holds every position's logits: a forward that does.
      logits: () => net.forward(parts[at.cur].ids, parts[at.cur].B, parts[at.cur].T),
      setDropout(seed, firstRow = 0) {
        setNetDropout(net, seed, firstRow);
      },
      setRecompute: (mode) => setNetRecompute(net, mode),
    };
    return task;
  }
  const net: SeqClsNet = m.net;
  const parts: { batch: EncoderBatch; labels: Tensor }[] = [];
  let logits: Tensor | null = null;
  const upload = (b: HostBatch, k: number) => {
    if (b.kind !== 'cls') throw new Error('a sequence classifier trains on classification batches');
    const p = parts[k];
    if (!p || p.batch.B !== b.enc.B || p.batch.T !== b.enc.T) {
      if (p)
        for (const t of [p.batch.ids, p.batch.typeIds, p.batch.posIds, p.batch.mask, p.batch.clsRows]) be.dispose(t);
      if (p) be.dispose(p.labels);
      parts[k] = { batch: uploadEncoderBatch(be, b.enc), labels: be.fromArray(b.labels, [b.enc.B], 'labels') };
      return;
    }
    be.write(p.batch.ids, b.enc.ids);
    be.write(p.batch.typeIds, b.enc.typeIds);
    be.write(p.batch.posIds, b.enc.posIds);
    be.write(p.batch.mask, b.enc.mask);
    be.write(p.batch.clsRows, b.enc.clsRows);
    be.write(p.labels, b.labels);
  };
  const at = partCursor(upload);
  const task: TaskModel = {
    model,
    linears: () => net.linears(),
    setBatch: (b) => task.setBatches([b]),
    setBatches: at.setBatches,
    usePart: at.usePart,
    forwardLoss(opts = {}) {
      logits = net.forward(parts[at.cur].batch);
      const r = net.loss(parts[at.cur].labels);
      // The classifier's backward divides by the loss's count tensor as it holds then.
      if (opts.gradCount) be.copy(r.count, opts.gradCount, 1);
      return r;
    },
    backward() {
      net.backward(parts[at.cur].batch, parts[at.cur].labels);
    },
    tokens: () => parts.slice(0, at.used).reduce((n, p) => n + p.batch.B * p.batch.T, 0),
    logits: () => logits!,
    setDropout(seed, firstRow = 0) {
      setNetDropout(net, seed, firstRow);
    },
    setRecompute: (mode) => setNetRecompute(net, mode),
  };
  return task;
}
