// Trying a model out: GPT-2 text generation (greedy, temperature and top-k sampling) by a full forward per new token,
// without a KV cache, and encoder classification with softmax probabilities. Works on any Backend. Whatever adapters
// are attached to the model's linears take part; the caller attaches or detaches them (base vs adapted).
//
// The forward runs at a fixed (B,T) window, by default the training batch shape, so the network's activation
// workspace is reused instead of reallocated: the context sits left-aligned in row 0 (the last T tokens), padding
// after it cannot change earlier positions under the causal mask, and the other rows repeat row 0.

import { Rng } from '../tensor/rng';
import type { Backend } from '../tensor/backend';
import type { SeqClsNet } from './arch/types';
import { uploadEncoderBatch } from './batch';
import type { LoadedModel } from './load';

/** A causal LM (GPT-2, Llama family). */
export type Gpt2Model = Extract<LoadedModel, { task: 'causal-lm' }>;
export type EncoderModel = Extract<LoadedModel, { task: 'seq-cls' }>;

export interface SampleOptions {
  maxTokens: number;
  /** 0 = greedy (argmax). */
  temperature: number;
  /** Keep the k most likely tokens before sampling; 0 = all. */
  topK: number;
  seed: number;
}

/** The (B,T) forward window; T is also the longest context the model sees. */
export interface Window {
  B: number;
  T: number;
}

/** Index of the largest value (the first one on ties). */
export function argmax(x: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
  return best;
}

/** Picks the next token from one row of logits: greedy at temperature 0, else softmax(logits / T) over the top k. */
export function sampleToken(logits: ArrayLike<number>, temperature: number, topK: number, rng: Rng): number {
  if (!(temperature > 0) || topK === 1) return argmax(logits);
  let idx = Array.from({ length: logits.length }, (_, i) => i);
  if (topK > 0 && topK < idx.length) idx = idx.sort((a, b) => logits[b] - logits[a] || a - b).slice(0, topK);
  let max = -Infinity;
  for (const i of idx) max = Math.max(max, logits[i]);
  const w = idx.map((i) => Math.exp((logits[i] - max) / temperature));
  const total = w.reduce((a, b) => a + b, 0);
  let u = rng.next() * total;
  for (let j = 0; j < idx.length; j++) {
    u -= w[j];
    if (u <= 0) return idx[j];
  }
  return idx[idx.length - 1];
}

/** softmax of one row, in float64 for the sums. */
export function softmax(x: ArrayLike<number>): number[] {
  let max = -Infinity;
  for (let i = 0; i < x.length; i++) max = Math.max(max, x[i]);
  const e = Array.from({ length: x.length }, (_, i) => Math.exp(x[i] - max));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

/** Continues `prompt` by up to opts.maxTokens tokens; returns only the new text. Stops at the end-of-text token. */
export async function generate(be: Backend, model: Gpt2Model, prompt: string, opts: SampleOptions, window?: Window): Promise<string> {
  const { vocab: V, maxPositions: nPositions } = model.arch.dims(model.config);
  const B = window?.B ?? 1, T = Math.min(window?.T ?? 64, nPositions);
  const eos = model.tokenizer.eosId ?? 0;
  const context = model.tokenizer.encode(prompt).ids;
  if (context.length === 0) context.push(eos);
  const rng = new Rng(opts.seed >>> 0), out: number[] = [];
  const ids = be.zeros([B * T], 'i32', 'generate ids'), row = be.zeros([V], 'f32', 'generate logits');
  const host = new Int32Array(B * T);
  try {
    for (let n = 0; n < opts.maxTokens; n++) {
      const ctx = context.slice(-T), len = ctx.length;
      host.fill(eos);
      for (let b = 0; b < B; b++) host.set(ctx, b * T);
      be.write(ids, host);
      const logits = model.net.forward(ids, B, T);
      be.copy(row, logits, V, (len - 1) * V, 0);
      be.flush();
      const next = sampleToken((await be.read(row)) as Float32Array, opts.temperature, opts.topK, rng);
      if (next === model.tokenizer.eosId) break;
      context.push(next);
      out.push(next);
    }
  } finally {
    be.dispose(ids);
    be.dispose(row);
  }
  return model.tokenizer.decode(out);
}

/** Class probabilities of `text` (softmax of the head's logits), at the window's (B,T) with every row the same text. */
export async function classify(be: Backend, model: EncoderModel, text: string, window?: Window): Promise<number[]> {
  const arch = model.arch, cfg = model.config;
  const B = window?.B ?? 1, T = Math.min(window?.T ?? 128, arch.dims(cfg).maxPositions);
  const enc = model.tokenizer.encode(text);
  const batch = uploadEncoderBatch(be, arch.clsBatch(cfg, Array.from({ length: B }, () => enc), T));
  try {
    const logits = (model.net as SeqClsNet).forward(batch);
    be.flush();
    const all = (await be.read(logits)) as Float32Array;
    return softmax(all.subarray(0, arch.numLabels(cfg)));
  } finally {
    for (const t of [batch.ids, batch.typeIds, batch.posIds, batch.mask, batch.clsRows]) be.dispose(t);
  }
}
