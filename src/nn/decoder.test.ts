// The KV cache: per-layer (B,Tmax,KVH*D) buffers with labels, scratch reuse, position bookkeeping and its errors; a
// decoder refuses positions past its cache or the model without advancing.

import { describe, expect, it } from 'vitest';
import { randomGpt2 } from '../../tests/helpers/randomModel';
import { CpuBackend } from '../tensor/cpu';
import { KvCache } from './decoder';
import { Gpt2 } from './gpt2';
import { ParamStore } from './params';

describe('KvCache', () => {
  it('allocates labelled k/v per layer, reuses scratch by name and shape, and checks free positions', () => {
    const be = new CpuBackend(),
      c = new KvCache(be, { layers: 2, KVH: 3, D: 4 }, 2, 5);
    expect(c.k.map((t) => [t.label, ...t.shape])).toEqual([
      ['kv cache k 0', 2, 5, 12],
      ['kv cache k 1', 2, 5, 12],
    ]);
    expect(c.v[1].label).toBe('kv cache v 1');
    expect(c.scratch('x', [3, 4])).toBe(c.scratch('x', [3, 4]));
    expect(c.scratch('x', [1, 4])).not.toBe(c.scratch('x', [3, 4]));
    expect(c.scratch('x', [1, 4]).label).toBe('decode x');
    expect(c.reserve(5)).toBe(0);
    c.length = 4;
    expect(() => c.reserve(2)).toThrow(/2 new positions do not fit \(4 of 5 filled\)/);
    c.dispose();
    expect(() => c.scratch('x', [3, 4])).toThrow(/after dispose/);
    expect(() => new KvCache(be, { layers: 1, KVH: 1, D: 1 }, 0, 4)).toThrow(RangeError);
  });

  it('GPT-2 refuses a cache past n_positions and a step past the cache, without advancing', () => {
    const be = new CpuBackend(),
      tensors = randomGpt2({ V: 11, P: 8, C: 8, L: 1 });
    const params = new ParamStore(be, new Map([...tensors].map(([n, t]) => [n, be.fromArray(t.data, t.shape, n)])));
    const cfg = { vocabSize: 11, nPositions: 8, nEmbd: 8, nLayer: 1, nHead: 2, nInner: 32, eps: 1e-5 };
    const net = new Gpt2(be, cfg, params);
    expect(() => net.createCache(1, 9)).toThrow(/exceeds the model's n_positions 8/);
    const cache = net.createCache(1, 3);
    net.prefill(cache, Int32Array.from([1, 2]), 2);
    net.decodeStep(cache, Int32Array.of(3));
    expect(() => net.decodeStep(cache, Int32Array.of(4))).toThrow(/1 new positions do not fit \(3 of 3 filled\)/);
    expect(cache.length).toBe(3);
    expect(() => net.prefill(net.createCache(1, 3), Int32Array.from([1, 2, 3]), 2)).toThrow(
      /3 token ids for B=1 rows of T=2/,
    );
  });
});
