// Incremental decoding for causal language models: the interface every decoder (GPT-2, Llama) implements for
// generation, and the KV cache it fills. A generate call allocates one cache, prefills the prompt through it once, then
// feeds one token per step; each step reuses the cache's buffers, so after the first step nothing is allocated.

import type { Backend, Tensor } from '../tensor/backend';

/** What a decoder needs to know to lay out its cache: kv heads KVH of head dim D in every one of its layers. */
export interface KvLayout {
  layers: number;
  KVH: number;
  D: number;
}

/**
 * The keys and values of B rows of up to Tmax positions for every layer, each (B, Tmax, KVH*D), plus the decoder's
 * step activations (`scratch`), all released by dispose(). `length` is the number of positions already filled (the
 * position of the next token), the same for every row.
 */
export class KvCache {
  readonly k: Tensor[];
  readonly v: Tensor[];
  length = 0;
  private readonly scratchTensors = new Map<string, Tensor>();
  private disposed = false;

  constructor(
    readonly be: Backend,
    readonly layout: KvLayout,
    readonly B: number,
    readonly Tmax: number,
  ) {
    if (!(Number.isInteger(B) && B >= 1 && Number.isInteger(Tmax) && Tmax >= 1)) {
      throw new RangeError(`KvCache: B ${B} and Tmax ${Tmax} must be positive integers`);
    }
    const shape = [B, Tmax, layout.KVH * layout.D];
    this.k = Array.from({ length: layout.layers }, (_, l) => be.zeros(shape, 'f32', `kv cache k ${l}`));
    this.v = Array.from({ length: layout.layers }, (_, l) => be.zeros(shape, 'f32', `kv cache v ${l}`));
  }

  /** Positions still free. */
  get free(): number {
    return this.Tmax - this.length;
  }

  /** A tensor owned by the cache, allocated on first use for this (name, shape, dtype) and returned again after. */
  scratch(name: string, shape: readonly number[], dtype: 'f32' | 'i32' = 'f32'): Tensor {
    if (this.disposed) throw new Error('KvCache: used after dispose()');
    const key = `${name}:${shape.join('x')}:${dtype}`;
    let t = this.scratchTensors.get(key);
    if (!t) this.scratchTensors.set(key, (t = this.be.zeros(shape, dtype, `decode ${name}`)));
    return t;
  }

  /** Throws unless T more positions fit (before a decoder writes them). */
  reserve(T: number): number {
    if (this.disposed) throw new Error('KvCache: used after dispose()');
    if (!(Number.isInteger(T) && T >= 1) || T > this.free) {
      throw new RangeError(`KvCache: ${T} new positions do not fit (${this.length} of ${this.Tmax} filled)`);
    }
    return this.length;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const t of [...this.k, ...this.v, ...this.scratchTensors.values()]) this.be.dispose(t);
    this.scratchTensors.clear();
  }
}

/**
 * A causal LM that generates through a KV cache. Contract for implementers:
 * - `createCache(B, Tmax)` returns a KvCache laid out for the model (its layers, kv heads, head dim); Tmax must not
 *   exceed `maxPositions`.
 * - `prefill(cache, ids, T)`: ids (B*T) host token ids, row b's T tokens at positions cache.length..+T-1 (T >= 1).
 *   Runs them in eval mode (no dropout) with adapters attached to its linears, writes their keys/values into the
 *   cache, advances cache.length by T and returns logits (B, V) of each row's last new token. The tensor is owned by
 *   the cache and overwritten by the next call.
 * - `decodeStep(cache, ids)`: prefill with T = 1 (ids (B)). After the first step it records the same dispatches with
 *   the same buffers each time: reading its logits is the step's only submission and nothing is allocated.
 * Both throw a RangeError when the positions do not fit the cache. Logits equal the last rows of the training forward
 * on the whole sequence (up to float rounding).
 */
export interface CausalDecoder {
  readonly vocabSize: number;
  /** Longest sequence the model takes (n_positions / max_position_embeddings). */
  readonly maxPositions: number;
  createCache(B: number, Tmax: number): KvCache;
  prefill(cache: KvCache, ids: Int32Array, T: number): Tensor;
  decodeStep(cache: KvCache, ids: Int32Array): Tensor;
}
