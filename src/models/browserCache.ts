// The page's download cache: the Cache API (available in pages and workers), so a model fetched from the hub once
// loads offline afterwards. Falls back to no caching where the API is missing (file:// pages, old browsers).

import type { FileCache } from './sources';

export function browserCache(name = 'dynrank-models'): FileCache | undefined {
  const api = (globalThis as { caches?: CacheStorage }).caches;
  if (!api) return undefined;
  return {
    get: async (key) => {
      const hit = await (await api.open(name)).match(key);
      return hit ? new Uint8Array(await hit.arrayBuffer()) : null;
    },
    put: async (key, data) => {
      await (await api.open(name)).put(
        key,
        new Response(new Blob([data as BlobPart]), { headers: { 'content-length': String(data.byteLength) } }),
      );
    },
    delete: async (key) => {
      await (await api.open(name)).delete(key);
    },
    where: (key) => `the browser's Cache API store "${name}", entry ${key}`,
  };
}
