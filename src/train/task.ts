// The training task on top of a loaded model: causal-LM or sequence-classification batches, written into input
// tensors that are allocated once per batch shape, and the forward/loss/backward calls of the right network.

import type { CausalLmNet, SeqClsNet } from '../models/arch/types';
import type { HostEncoderBatch } from '../models/batch';
import { uploadEncoderBatch } from '../models/batch';
import type { LoadedModel } from '../models/load';
import type { EncoderBatch } from '../nn/bert';
import type { Linear } from '../nn/linear';
import type { Backend, Tensor } from '../tensor/backend';

export type HostBatch =
  | { kind: 'lm'; B: number; T: number; ids: Int32Array; targets: Int32Array }
  | { kind: 'cls'; enc: HostEncoderBatch; labels: Int32Array };

export interface TaskModel {
  readonly model: LoadedModel;
  linears(): Linear[];
  setBatch(b: HostBatch): void;
  /** Records forward + loss for the current batch; `withGrad` when backward() follows (a causal LM then runs its
   * head's backward in the loss's pass). */
  forwardLoss(opts?: { withGrad?: boolean }): { lossSum: Tensor; count: Tensor };
  /** Records the backward of the last forwardLoss. */
  backward(): void;
  /** Tokens (LM) or sequences' tokens (classification) in the current batch, for throughput. */
  tokens(): number;
  /** Logits of the current batch after forwardLoss. */
  logits(): Tensor;
  /** Train mode with the model's own dropout drawn from `seed`, or eval mode (null): no dropout. */
  setDropout(seed: number | null): void;
}

/** The task's batches and network calls; the model's `task` decides, the family's network does the rest. */
export function taskFor(be: Backend, model: LoadedModel): TaskModel {
  const m = model as LoadedModel;
  if (m.task === 'causal-lm') {
    const net: CausalLmNet = m.net;
    let ids: Tensor | null = null,
      targets: Tensor | null = null,
      B = 0,
      T = 0;
    return {
      model,
      linears: () => net.linears(),
      setBatch(b) {
        if (b.kind !== 'lm') throw new Error('a causal LM trains on causal-LM batches');
        if (!ids || b.B !== B || b.T !== T) {
          if (ids) {
            be.dispose(ids);
            be.dispose(targets!);
          }
          [B, T] = [b.B, b.T];
          ids = be.zeros([B * T], 'i32', 'input ids');
          targets = be.zeros([B * T], 'i32', 'targets');
        }
        be.write(ids, b.ids);
        be.write(targets!, b.targets);
      },
      forwardLoss(opts = {}) {
        net.forwardHidden(ids!, B, T);
        return net.loss(targets!, { withGrad: opts.withGrad });
      },
      backward() {
        net.backward(ids!, targets!);
      },
      tokens: () => B * T,
      // The loss never holds every position's logits: a forward that does.
      logits: () => net.forward(ids!, B, T),
      setDropout(seed) {
        if ('dropoutSeed' in net) net.dropoutSeed = seed;
      },
    };
  }
  const net: SeqClsNet = m.net;
  let batch: EncoderBatch | null = null,
    labels: Tensor | null = null,
    logits: Tensor | null = null;
  return {
    model,
    linears: () => net.linears(),
    setBatch(b) {
      if (b.kind !== 'cls') throw new Error('a sequence classifier trains on classification batches');
      if (!batch || batch.B !== b.enc.B || batch.T !== b.enc.T) {
        if (batch)
          for (const t of [batch.ids, batch.typeIds, batch.posIds, batch.mask, batch.clsRows, labels!]) be.dispose(t);
        batch = uploadEncoderBatch(be, b.enc);
        labels = be.fromArray(b.labels, [b.enc.B], 'labels');
        return;
      }
      be.write(batch.ids, b.enc.ids);
      be.write(batch.typeIds, b.enc.typeIds);
      be.write(batch.posIds, b.enc.posIds);
      be.write(batch.mask, b.enc.mask);
      be.write(batch.clsRows, b.enc.clsRows);
      be.write(labels!, b.labels);
    },
    forwardLoss() {
      logits = net.forward(batch!);
      return net.loss(labels!);
    },
    backward() {
      net.backward(batch!, labels!);
    },
    tokens: () => (batch ? batch.B * batch.T : 0),
    logits: () => logits!,
    setDropout(seed) {
      if ('dropoutSeed' in net) net.dropoutSeed = seed;
    },
  };
}
