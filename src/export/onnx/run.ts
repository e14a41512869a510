// Running an exported model.onnx in onnxruntime-web, as transformers.js would: greedy generation through
// past_key_values for the decoders (GPT-2, Llama family) and class probabilities for the classifiers. The runtime is
// passed in, so the page's worker (wasm files served by vite) and Node's tests (onnxruntime-web's Node build) share
// these loops.

import type * as Ort from 'onnxruntime-web';
import type { ModelConfig } from '../../models/arch/index';
import { argmax, softmax } from '../../models/generate';
import { onnxFamilyIfAny } from './families';

type OrtModule = Pick<typeof Ort, 'Tensor'>;

/** The cache shape of a decoder graph: past_key_values.N.key/value are (batch, kvHeads, past, headDim). */
export interface OnnxDecoderLayout {
  layers: number;
  kvHeads: number;
  headDim: number;
  maxPositions: number;
}

/** The past_key_values layout of a causal-LM config's ONNX graph, or null for a classifier. */
export function decoderLayout(config: ModelConfig): OnnxDecoderLayout | null {
  if (config.task !== 'causal-lm') return null;
  return onnxFamilyIfAny(config)?.decoderLayout?.(config) ?? null;
}

const i64 = (ort: OrtModule, v: readonly number[], dims: number[]) =>
  new ort.Tensor(
    'int64',
    BigInt64Array.from(v, (x) => BigInt(x)),
    dims,
  );

export interface OnnxGreedyOptions {
  maxTokens: number;
  /** Ids that end generation (not part of the output). */
  eosIds: readonly number[];
}

/**
 * Greedy continuation of `promptIds` (non-empty) by the decoder graph in `session`: the prompt in one call with empty
 * past tensors, then one token per call with the previous call's present.N.* as past. Returns only the new ids; stops
 * before an end-of-sequence id and when the model's positions are used up, as generateIds does.
 */
export async function onnxGreedyIds(
  ort: OrtModule,
  session: Ort.InferenceSession,
  layout: OnnxDecoderLayout,
  promptIds: readonly number[],
  opts: OnnxGreedyOptions,
): Promise<number[]> {
  if (promptIds.length === 0) throw new RangeError('onnxGreedyIds: the prompt has no tokens');
  const context = promptIds.slice(-layout.maxPositions);
  const out: number[] = [];
  if (opts.maxTokens === 0) return out;
  const limit = Math.min(layout.maxPositions, context.length + opts.maxTokens - 1);
  let past: Record<string, Ort.Tensor> = {};
  for (let l = 0; l < layout.layers; l++) {
    for (const kv of ['key', 'value']) {
      past[`present.${l}.${kv}`] = new ort.Tensor('float32', new Float32Array(0), [
        1,
        layout.kvHeads,
        0,
        layout.headDim,
      ]);
    }
  }
  let tokens = context,
    pos = 0;
  for (;;) {
    const total = pos + tokens.length;
    const feeds: Record<string, Ort.Tensor> = {
      input_ids: i64(ort, tokens, [1, tokens.length]),
      attention_mask: i64(ort, new Array(total).fill(1), [1, total]),
      position_ids: i64(
        ort,
        tokens.map((_, i) => pos + i),
        [1, tokens.length],
      ),
    };
    for (let l = 0; l < layout.layers; l++) {
      for (const kv of ['key', 'value']) feeds[`past_key_values.${l}.${kv}`] = past[`present.${l}.${kv}`];
    }
    const res = await session.run(feeds);
    const logits = res.logits.data as Float32Array,
      V = logits.length / tokens.length;
    const next = argmax(logits.subarray((tokens.length - 1) * V));
    if (opts.eosIds.includes(next)) break;
    out.push(next);
    if (out.length >= opts.maxTokens || total >= limit) break;
    past = res;
    pos = total;
    tokens = [next];
  }
  return out;
}

/** One classification batch as the encoder graphs take it: (B, T) row-major ids, mask and token types. */
export interface OnnxClsBatch {
  ids: ArrayLike<number>;
  mask: ArrayLike<number>;
  typeIds: ArrayLike<number>;
  B: number;
  T: number;
}

/** softmax of the classifier graph's logits for row 0 of `batch`. */
export async function onnxClassProbs(
  ort: OrtModule,
  session: Ort.InferenceSession,
  batch: OnnxClsBatch,
): Promise<number[]> {
  const dims = [batch.B, batch.T];
  const feeds: Record<string, Ort.Tensor> = {
    input_ids: i64(ort, Array.from(batch.ids), dims),
    attention_mask: i64(ort, Array.from(batch.mask), dims),
  };
  if (session.inputNames.includes('token_type_ids')) feeds.token_type_ids = i64(ort, Array.from(batch.typeIds), dims);
  const logits = (await session.run(feeds)).logits;
  const labels = logits.dims[1];
  return softmax((logits.data as Float32Array).subarray(0, labels));
}
