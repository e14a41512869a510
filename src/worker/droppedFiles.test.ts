// Dropped model files survive a reload through the model cache: stored once under a key made from their contents,
// read back intact, and a cut-short store or a cleared cache reads as "not stored" instead of half a model.

import { describe, expect, it } from 'vitest';
import type { FileCache } from '../models/sources';
import { filesKey, loadFiles, storeFiles } from './droppedFiles';

function memoryCache(): FileCache & { puts: string[]; map: Map<string, Uint8Array> } {
  const map = new Map<string, Uint8Array>(),
    puts: string[] = [];
  return {
    map,
    puts,
    get: async (k) => map.get(k) ?? null,
    put: async (k, v) => {
      puts.push(k);
      map.set(k, v.slice());
    },
  };
}

const bytes = (...v: number[]) => Uint8Array.from(v);
const model = (weights: Uint8Array) => ({
  kind: 'files' as const,
  name: 'my-model',
  files: [
    { name: 'my-model/config.json', bytes: bytes(123, 125) },
    { name: 'my-model/model.safetensors', bytes: weights },
  ],
});

describe('dropped model files', () => {
  it('round-trip through the cache, stored once', async () => {
    const cache = memoryCache();
    const ref = await storeFiles(model(bytes(1, 2, 3)), cache);
    expect(ref.files).toEqual([]);
    expect(ref.stored).toMatch(/^dropped\/[0-9a-f]{64}$/);
    const back = await loadFiles(ref, cache);
    expect(back?.name).toBe('my-model');
    expect(back?.files.map((f) => [f.name, [...f.bytes]])).toEqual([
      ['my-model/config.json', [123, 125]],
      ['my-model/model.safetensors', [1, 2, 3]],
    ]);
    const puts = cache.puts.length;
    expect(await storeFiles(model(bytes(1, 2, 3)), cache)).toEqual(ref);
    expect(cache.puts.length, 'the same files are not stored twice').toBe(puts);
  });

  it('keys by content: other weights under the same name get another key, file order does not matter', async () => {
    const a = model(bytes(1, 2, 3)),
      b = model(bytes(1, 2, 4));
    expect(await filesKey(a.files)).not.toBe(await filesKey(b.files));
    expect(await filesKey([...a.files].reverse())).toBe(await filesKey(a.files));
  });

  it('reads a cleared cache, a store cut short or a ref without a key as not stored', async () => {
    const cache = memoryCache();
    const ref = await storeFiles(model(bytes(9)), cache);
    expect(await loadFiles({ kind: 'files', name: 'my-model', files: [] }, cache)).toBeNull();
    cache.map.delete(`${ref.stored}/1`);
    expect(await loadFiles(ref, cache), 'a missing file').toBeNull();
    cache.map.clear();
    expect(await loadFiles(ref, cache), 'a cleared cache').toBeNull();
    const failing: FileCache = {
      get: async () => null,
      put: async (k) => {
        if (k.endsWith('/1')) throw new Error('QuotaExceededError');
      },
    };
    await expect(storeFiles(model(bytes(9)), failing)).rejects.toThrow('Quota');
  });
});
