// Where model files come from: a Hugging Face hub id, a URL of a folder, or files the user dropped. Downloads report
// progress, are checked for truncation and HTML error pages, and go through an optional cache.

import { ModelFormatError } from './errors';

/** A download failed or returned something other than the file (HTTP error, HTML page, cut short). */
export class DownloadError extends ModelFormatError {}

export interface Progress {
  file: string;
  loaded: number;
  /** null when the server sent no Content-Length. */
  total: number | null;
}

/** A key-value store for downloaded files (Cache API or OPFS in the page, a folder in Node). */
export interface FileCache {
  get(key: string): Promise<Uint8Array | null>;
  put(key: string, data: Uint8Array): Promise<void>;
}

export interface ModelSource {
  /** Shown to the user and written into exported adapters as base_model_name_or_path. */
  readonly name: string;
  /** The file's bytes, or null when it does not exist and `optional` is set. */
  get(file: string, optional?: boolean): Promise<Uint8Array | null>;
}

export interface FetchOptions {
  fetch?: typeof fetch;
  cache?: FileCache;
  onProgress?: (p: Progress) => void;
}

export const DEFAULT_HUB = 'https://huggingface.co';

/** Files of a hub repository: `{hubBase}/{id}/resolve/{revision}/{file}`. */
export function hubSource(id: string, opts: FetchOptions & { hubBase?: string; revision?: string } = {}): ModelSource {
  if (!/^[\w.-]+(\/[\w.-]+)?$/.test(id)) {
    throw new DownloadError('(hub id)', 'id', `"${id}" is not a Hugging Face model id (expected "name" or "owner/name").`);
  }
  const base = (opts.hubBase ?? DEFAULT_HUB).replace(/\/+$/, '');
  return urlSource(`${base}/${id}/resolve/${opts.revision ?? 'main'}/`, { ...opts, name: id });
}

/** Files next to each other under a folder URL (a bundled demo model, or any static host). */
export function urlSource(folderUrl: string, opts: FetchOptions & { name?: string } = {}): ModelSource {
  const base = folderUrl.endsWith('/') ? folderUrl : `${folderUrl}/`;
  return {
    name: opts.name ?? base,
    get: async (file, optional = false) => {
      const url = new URL(file, base.startsWith('http') ? base : new URL(base, globalThis.location?.href ?? 'http://localhost/')).href;
      const hit = await opts.cache?.get(url);
      if (hit) return hit;
      const bytes = await download(url, file, optional, opts);
      if (bytes && opts.cache) await opts.cache.put(url, bytes);
      return bytes;
    },
  };
}

/** Files the user dropped or picked (matched by base name, so a dropped folder works too). */
export function filesSource(files: Iterable<{ name: string; bytes: () => Promise<Uint8Array> }>, name = 'local files'): ModelSource {
  // A dropped folder gives names like "model/config.json" (or "model\\config.json"); when the same base name occurs at
  // several depths (e.g. "checkpoint-500/config.json" next to "config.json") the shallowest one wins.
  const byName = new Map<string, { depth: number; bytes: () => Promise<Uint8Array> }>();
  for (const f of files) {
    const parts = f.name.split(/[\\/]/).filter((p) => p !== '');
    const base = parts.pop() ?? f.name;
    const prev = byName.get(base);
    if (!prev || parts.length < prev.depth) byName.set(base, { depth: parts.length, bytes: f.bytes });
  }
  return {
    name,
    get: async (file, optional = false) => {
      const b = byName.get(file);
      if (b) return b.bytes();
      if (optional) return null;
      throw new DownloadError(file, '(file)', `${file} is missing from the dropped files; a model needs config.json, tokenizer.json and model.safetensors.`);
    },
  };
}

async function download(url: string, file: string, optional: boolean, opts: FetchOptions): Promise<Uint8Array | null> {
  const f = opts.fetch ?? globalThis.fetch;
  let res: Response;
  try {
    res = await f(url);
  } catch (e) {
    throw new DownloadError(file, url, `${file}: could not reach ${url} (${(e as Error).message}). Check the address and your connection.`);
  }
  // Error answers are not read: cancel their bodies so the connection is released at once.
  const discard = () => res.body?.cancel().catch(() => {});
  if (res.status === 404 && optional) {
    await discard();
    return null;
  }
  if (!res.ok) {
    await discard();
    const hint = res.status === 401 || res.status === 403 ? ' The model may be private or gated: download it yourself and drop the files.' : '';
    throw new DownloadError(file, url, `${file}: ${url} answered HTTP ${res.status}.${hint}`);
  }
  const type = res.headers.get('content-type') ?? '';
  if (type.includes('text/html')) {
    await discard();
    throw new DownloadError(file, url, `${file}: ${url} returned an HTML page instead of the file; the URL or model id is probably wrong.`);
  }
  const lenHeader = res.headers.get('content-length');
  const total = lenHeader !== null && /^\d+$/.test(lenHeader) ? Number(lenHeader) : null;
  const chunks: Uint8Array[] = [];
  let loaded = 0;
  if (res.body) {
    const reader = res.body.getReader();
    for (;;) {
      let step: ReadableStreamReadResult<Uint8Array>;
      try {
        step = await reader.read();
      } catch (e) {
        throw new DownloadError(file, url, `${file}: the download broke off after ${loaded} bytes (${(e as Error).message}). Try again.`);
      }
      if (step.done) break;
      chunks.push(step.value);
      loaded += step.value.byteLength;
      opts.onProgress?.({ file, loaded, total });
    }
  } else {
    const buf = new Uint8Array(await res.arrayBuffer());
    chunks.push(buf);
    loaded = buf.byteLength;
    opts.onProgress?.({ file, loaded, total });
  }
  if (total !== null && loaded !== total && !res.headers.get('content-encoding')) {
    throw new DownloadError(file, url, `${file}: the download is truncated (${loaded} of ${total} bytes). Try again.`);
  }
  const out = new Uint8Array(loaded);
  let o = 0;
  for (const c of chunks) { out.set(c, o); o += c.byteLength; }
  return out;
}
