// Dropped or picked model files live only in the worker's memory, so a reload would lose them and with them every
// checkpoint of a run on that model. The first checkpoint of such a run stores the files in the model cache under
// a key made from their contents (a second folder with the same name but other weights gets its own key), and a
// resume after a reload reads them back from there.

import type { FileCache } from '../models/sources';
import type { ModelRef } from './protocol';

type FilesRef = Extract<ModelRef, { kind: 'files' }>;

const hex = (b: ArrayBuffer) => Array.from(new Uint8Array(b), (x) => x.toString(16).padStart(2, '0')).join('');

/** The cache key prefix of a set of files: SHA-256 over each file's name and its SHA-256. */
export async function filesKey(files: FilesRef['files']): Promise<string> {
  const parts: string[] = [];
  for (const f of [...files].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    parts.push(`${f.name}\n${hex(await crypto.subtle.digest('SHA-256', f.bytes as Uint8Array<ArrayBuffer>))}`);
  }
  return `dropped/${hex(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(parts.join('\n'))))}`;
}

/** Stores the files (once per key) and returns the ref a checkpoint records: no bytes, the key to find them. */
export async function storeFiles(ref: FilesRef, cache: FileCache): Promise<FilesRef> {
  const key = await filesKey(ref.files);
  if (!(await cache.get(`${key}/files.json`))) {
    for (const [i, f] of ref.files.entries()) await cache.put(`${key}/${i}`, f.bytes);
    // The index goes last: a store cut short (quota, closed tab) leaves no index, so it reads as not stored.
    await cache.put(`${key}/files.json`, new TextEncoder().encode(JSON.stringify(ref.files.map((f) => f.name))));
  }
  return { kind: 'files', name: ref.name, files: [], stored: key };
}

/** The files a checkpoint's ref points to, or null when they are not (or no longer) in the cache. */
export async function loadFiles(ref: FilesRef, cache: FileCache): Promise<FilesRef | null> {
  if (!ref.stored) return null;
  const index = await cache.get(`${ref.stored}/files.json`);
  if (!index) return null;
  const names = JSON.parse(new TextDecoder().decode(index)) as string[];
  const files: FilesRef['files'] = [];
  for (const [i, name] of names.entries()) {
    const bytes = await cache.get(`${ref.stored}/${i}`);
    if (!bytes) return null;
    files.push({ name, bytes });
  }
  return { kind: 'files', name: ref.name, files };
}
