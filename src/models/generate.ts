// Trying a model out: text generation through a KV cache (greedy, temperature and top-k sampling) for any causal
// decoder (src/nn/decoder.ts), and encoder classification with softmax probabilities. Works on any Backend. Whatever
// adapters are attached to the model's linears take part; the caller attaches or detaches them (base vs adapted).
//
// Generation allocates one cache per call (one row, prompt + new tokens positions), prefills the prompt in one forward
// and then runs one token per step; it stops at any end-of-sequence id, after maxTokens, or when the model's positions
// are used up. The classifier's forward runs at a fixed (B,T) window, by default the training batch shape, so the
// network's activation workspace is reused instead of reallocated.

import type { CausalDecoder } from '../nn/decoder';
import type { Backend } from '../tensor/backend';
import { Rng } from '../tensor/rng';
import type { SeqClsNet } from './arch/types';
import { uploadEncoderBatch } from './batch';
import { ConfigError } from './config';
import type { LoadedModel } from './load';
import { DownloadError, type ModelSource } from './sources';
import type { TextTokenizer } from './tokenizer';

export type Gpt2Model = Extract<LoadedModel, { kind: 'gpt2' }>;
export type EncoderModel = Extract<LoadedModel, { task: 'seq-cls' }>;

/** What generation needs of a loaded model: a decoder, its tokenizer and its raw config.json. */
export interface GenerativeModel {
  net: CausalDecoder;
  tokenizer: TextTokenizer;
  config: { raw: Record<string, unknown> };
}

export interface SampleOptions {
  maxTokens: number;
  /** 0 = greedy (argmax). */
  temperature: number;
  /** Keep the k most likely tokens before sampling; 0 = all. */
  topK: number;
  seed: number;
}

export interface GenerateOptions extends SampleOptions {
  /** Ids that end generation (not part of the output). Default: eosIdsFromConfig(config.json, tokenizer). */
  eosIds?: readonly number[];
}

/** The (B,T) forward window of classify; T is also the longest text the model sees. */
export interface Window {
  B: number;
  T: number;
}

/** `eos_token_id` of a parsed config (an int or a list of ints), or null when absent; `file` names it in errors. */
function eosField(raw: Record<string, unknown>, file: string): number[] | null {
  const v = raw.eos_token_id;
  if (v === undefined || v === null) return null;
  const list = Array.isArray(v) ? v : [v];
  if (list.length === 0 || !list.every((x) => Number.isInteger(x) && x >= 0)) {
    throw new ConfigError(
      file,
      'eos_token_id',
      `${file}: eos_token_id must be a token id or a list of token ids, ` +
        `got ${JSON.stringify(v)}; fix or remove the field.`,
    );
  }
  return list as number[];
}

/** config.json's bos_token_id, or null when absent. */
function bosField(raw: Record<string, unknown>): number | null {
  const v = raw.bos_token_id;
  if (v === undefined || v === null) return null;
  if (!(Number.isInteger(v) && (v as number) >= 0)) {
    throw new ConfigError(
      'config.json',
      'bos_token_id',
      `config.json: bos_token_id must be a token id, got ${JSON.stringify(v)}; fix or remove the field.`,
    );
  }
  return v as number;
}

/** End-of-sequence ids from config.json's eos_token_id, else the tokenizer's end token, else none. */
function eosIdsFromConfig(raw: Record<string, unknown>, tokenizer: TextTokenizer): number[] {
  return eosField(raw, 'config.json') ?? (tokenizer.eosId !== null ? [tokenizer.eosId] : []);
}

/** End-of-sequence ids: generation_config.json's eos_token_id (text, when the model folder has the file), else
 * eosIdsFromConfig. Throws ConfigError naming the file when it is not JSON or the field is not an id or id list. */
export function eosIds(
  generationConfig: string | null,
  raw: Record<string, unknown>,
  tokenizer: TextTokenizer,
): number[] {
  const FILE = 'generation_config.json';
  if (generationConfig !== null) {
    let g: unknown;
    try {
      g = JSON.parse(generationConfig);
    } catch (e) {
      throw new ConfigError(FILE, '(file)', `${FILE}: not valid JSON (${(e as Error).message}); fix or remove it.`);
    }
    if (!g || typeof g !== 'object' || Array.isArray(g)) {
      throw new ConfigError(FILE, '(file)', `${FILE}: expected a JSON object; fix or remove it.`);
    }
    const ids = eosField(g as Record<string, unknown>, FILE);
    if (ids) return ids;
  }
  return eosIdsFromConfig(raw, tokenizer);
}

/** eosIds with generation_config.json read from the model's source. The file is optional: a source that cannot
 * provide it (absent, or a server answering with its HTML page, as a dev server's page fallback does) leaves
 * config.json's eos_token_id and the tokenizer's end token in charge. */
export async function readEosIds(src: ModelSource, model: GenerativeModel): Promise<number[]> {
  let text: string | null = null;
  try {
    const bytes = await src.get('generation_config.json', true);
    text = bytes ? new TextDecoder().decode(bytes) : null;
  } catch (e) {
    if (!(e instanceof DownloadError)) throw e;
  }
  if (text?.trimStart().startsWith('<')) text = null;
  return eosIds(text, model.config.raw, model.tokenizer);
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

function checkOptions(o: GenerateOptions): void {
  const bad = (field: string, rule: string, v: unknown) => {
    throw new RangeError(`generate: ${field} must be ${rule}, got ${v}`);
  };
  if (!(Number.isInteger(o.maxTokens) && o.maxTokens >= 0)) bad('maxTokens', 'a non-negative integer', o.maxTokens);
  if (!(o.temperature >= 0 && Number.isFinite(o.temperature))) {
    bad('temperature', 'a finite number >= 0', o.temperature);
  }
  if (!(Number.isInteger(o.topK) && o.topK >= 0)) bad('topK', 'a non-negative integer', o.topK);
}

/**
 * Continues the prompt's token ids by up to opts.maxTokens tokens through the model's KV cache; returns only the new
 * ids. Stops before any end-of-sequence id, and when the model's positions are used up. A prompt longer than the
 * model's positions keeps its last ones; an empty prompt starts from config.json's bos_token_id, else from the first
 * end-of-sequence id (GPT-2's <|endoftext|> is both).
 */
export async function generateIds(
  be: Backend,
  model: GenerativeModel,
  promptIds: readonly number[],
  opts: GenerateOptions,
): Promise<number[]> {
  checkOptions(opts);
  const net = model.net,
    stop = opts.eosIds ?? eosIdsFromConfig(model.config.raw, model.tokenizer);
  const context = promptIds.length ? promptIds.slice(-net.maxPositions) : [bosField(model.config.raw) ?? stop[0] ?? 0];
  const out: number[] = [];
  if (opts.maxTokens === 0) return out;
  const rng = new Rng(opts.seed >>> 0);
  // The last sampled token is never fed back, so the cache needs prompt + maxTokens - 1 positions.
  const cache = net.createCache(1, Math.min(net.maxPositions, context.length + opts.maxTokens - 1));
  try {
    let logits = net.prefill(cache, Int32Array.from(context), context.length);
    for (;;) {
      // The read submits the recorded step: one submission per token on WebGPU.
      const next = sampleToken((await be.read(logits)) as Float32Array, opts.temperature, opts.topK, rng);
      if (stop.includes(next)) break;
      out.push(next);
      if (out.length >= opts.maxTokens || cache.free === 0) break;
      logits = net.decodeStep(cache, Int32Array.of(next));
    }
  } finally {
    cache.dispose();
  }
  return out;
}

/** generateIds on the tokenized prompt; returns only the new text. */
export async function generate(
  be: Backend,
  model: GenerativeModel,
  prompt: string,
  opts: GenerateOptions,
): Promise<string> {
  return model.tokenizer.decode(await generateIds(be, model, model.tokenizer.encode(prompt).ids, opts));
}

/** Class probabilities of `text` (softmax of the head's logits), at the window's (B,T) with every row the same text. */
export async function classify(be: Backend, model: EncoderModel, text: string, window?: Window): Promise<number[]> {
  const arch = model.arch,
    cfg = model.config;
  const B = window?.B ?? 1,
    T = Math.min(window?.T ?? 128, arch.dims(cfg).maxPositions);
  const enc = model.tokenizer.encode(text);
  const batch = uploadEncoderBatch(
    be,
    arch.clsBatch(
      cfg,
      Array.from({ length: B }, () => enc),
      T,
    ),
  );
  try {
    const logits = (model.net as SeqClsNet).forward(batch);
    be.flush();
    const all = (await be.read(logits)) as Float32Array;
    return softmax(all.subarray(0, arch.numLabels(cfg)));
  } finally {
    for (const t of [batch.ids, batch.typeIds, batch.posIds, batch.mask, batch.clsRows]) be.dispose(t);
  }
}
