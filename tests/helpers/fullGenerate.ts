// The generation the KV cache must reproduce: a full training forward over the whole context for every new token
// (what src/models/generate.ts did before it had a cache), reading the last position's logits.

import { type SampleOptions, sampleToken } from '../../src/models/generate';
import type { CausalDecoder } from '../../src/nn/decoder';
import type { Backend, Tensor } from '../../src/tensor/backend';
import { Rng } from '../../src/tensor/rng';

/** A causal LM with a training forward: logits (B*T, V) for ids (B*T) (Gpt2, Llama). */
export type FullForwardModel = Pick<CausalDecoder, 'vocabSize' | 'maxPositions'> & {
  forward(ids: Tensor, B: number, T: number): Tensor;
};

/** New token ids after `prompt`, stopping before any of `eos` and when the model's positions are used up. */
export async function fullForwardGenerate(
  be: Backend,
  net: FullForwardModel,
  prompt: readonly number[],
  opts: SampleOptions,
  eos: readonly number[],
): Promise<number[]> {
  const V = net.vocabSize,
    P = net.maxPositions,
    ctx = [...prompt],
    out: number[] = [];
  const rng = new Rng(opts.seed >>> 0);
  while (out.length < opts.maxTokens) {
    const ids = be.fromArray(Int32Array.from(ctx), [ctx.length], 'reference ids');
    const logits = (await be.read(net.forward(ids, 1, ctx.length))) as Float32Array;
    be.dispose(ids);
    const next = sampleToken(logits.subarray((ctx.length - 1) * V, ctx.length * V), opts.temperature, opts.topK, rng);
    if (eos.includes(next)) break;
    out.push(next);
    if (ctx.length === P) break;
    ctx.push(next);
  }
  return out;
}
