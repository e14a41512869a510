// Where model files come from: a Hugging Face hub id, a URL of a folder, or files the user dropped. Downloads report
// progress, are checked for truncation, HTML error pages and their format (JSON, safetensors header) before they
// go into an optional cache; a cached file that fails the same check is dropped and reported.

import { ModelFormatError } from './errors';
import { checkModelFile } from './files';

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
  /** Removes an entry (a damaged one); without it the error says how to clear the cache. */
  delete?(key: string): Promise<void>;
  /** Where an entry lives, for messages (a file path, a Cache API name); the key when absent. */
  where?(key: string): string;
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

const DEFAULT_HUB = 'https://huggingface.co';

/** Files of a hub repository: `{hubBase}/{id}/resolve/{revision}/{file}`. */
export function hubSource(id: string, opts: FetchOptions & { hubBase?: string; revision?: string } = {}): ModelSource {
  checkHubId(id);
  const revision = opts.revision ?? 'main';
  // A branch may contain "/" (refs/pr/1); each part is encoded, and "." / ".." parts would leave the repository.
  const parts = revision.split('/');
  if (parts.some((p) => p === '' || p === '.' || p === '..')) {
    throw new DownloadError(
      '(hub id)',
      'revision',
      `"${revision}" is not a revision (a branch, tag or commit hash). Check --revision.`,
    );
  }
  const base = (opts.hubBase ?? DEFAULT_HUB).replace(/\/+$/, '');
  return urlSource(`${base}/${id}/resolve/${parts.map(encodeURIComponent).join('/')}/`, { ...opts, name: id });
}

/** Hugging Face's rules for repository ids: "name" or "owner/name", each part of letters, digits, "_", "-" and "."
 * with a letter, digit or "_" at both ends, no "--" or "..", at most 96 characters, not ending in ".git". */
function checkHubId(id: string): void {
  const parts = id.split('/');
  const part = /^[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,94}[A-Za-z0-9_])?$/;
  const problem =
    id === ''
      ? 'it is empty'
      : parts.length > 2
        ? 'it has more than one "/"'
        : parts.some((p) => p === '')
          ? 'a part is empty'
          : id.includes('..') || id.includes('--')
            ? 'it contains ".." or "--"'
            : !parts.every((p) => part.test(p))
              ? 'a part is not 1-96 letters, digits, "_", "-", "." ("-", "." not at its ends)'
              : id.endsWith('.git')
                ? 'it ends with ".git"'
                : null;
  if (problem !== null) {
    throw new DownloadError(
      '(hub id)',
      'id',
      `${JSON.stringify(id.slice(0, 200))} is not a Hugging Face model id: ${problem}. ` +
        'Give "name" or "owner/name" as on the model\'s hub page.',
    );
  }
}

/** Files next to each other under a folder URL (a bundled demo model, or any static host). */
export function urlSource(folderUrl: string, opts: FetchOptions & { name?: string } = {}): ModelSource {
  const base = folderUrl.endsWith('/') ? folderUrl : `${folderUrl}/`;
  return {
    name: opts.name ?? base,
    get: async (file, optional = false) => {
      const url = new URL(
        file,
        base.startsWith('http') ? base : new URL(base, globalThis.location?.href ?? 'http://localhost/'),
      ).href;
      const cache = opts.cache;
      const hit = await cache?.get(url);
      if (hit && cache) return checkCached(cache, url, file, hit);
      const bytes = await download(url, file, optional, opts);
      if (bytes === null) return null;
      // Checked before caching, so that an error page or a cut-off file is not served from the cache forever.
      checkModelFile(file, bytes);
      if (cache) await cache.put(url, bytes);
      return bytes;
    },
  };
}

/** A cached file that fails the format check is dropped, and the error says it came from the cache. */
async function checkCached(cache: FileCache, key: string, file: string, bytes: Uint8Array): Promise<Uint8Array> {
  try {
    checkModelFile(file, bytes);
    return bytes;
  } catch (e) {
    if (!(e instanceof ModelFormatError)) throw e;
    const where = cache.where?.(key) ?? key;
    let fix: string;
    if (cache.delete) {
      await cache.delete(key);
      fix = 'It has been removed from the cache: load the model again to download the file afresh.';
    } else fix = `Clear the download cache (${where}), then load the model again.`;
    const message = `${file}: the cached copy at ${where} is damaged (${e.message}). ${fix}`;
    throw new DownloadError(file, where, message, { cause: e });
  }
}

/** Files the user dropped or picked (matched by base name, so a dropped folder works too). */
export function filesSource(
  files: Iterable<{ name: string; bytes: () => Promise<Uint8Array> }>,
  name = 'local files',
): ModelSource {
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
      throw new DownloadError(
        file,
        '(file)',
        `${file} is missing from the dropped files; a model needs config.json, tokenizer.json and model.safetensors.`,
      );
    },
  };
}

async function download(url: string, file: string, optional: boolean, opts: FetchOptions): Promise<Uint8Array | null> {
  const f = opts.fetch ?? globalThis.fetch;
  let res: Response;
  try {
    res = await f(url);
  } catch (e) {
    throw new DownloadError(
      file,
      url,
      `${file}: could not reach ${url} (${(e as Error).message}). Check the address and your connection.`,
    );
  }
  // Error answers are not read: cancel their bodies so the connection is released at once.
  const discard = () => res.body?.cancel().catch(() => {});
  if (res.status === 404 && optional) {
    await discard();
    return null;
  }
  if (!res.ok) {
    await discard();
    const hint =
      res.status === 401 || res.status === 403
        ? ' The model may be private or gated: download it yourself and drop the files.'
        : '';
    throw new DownloadError(file, url, `${file}: ${url} answered HTTP ${res.status}.${hint}`);
  }
  const type = res.headers.get('content-type') ?? '';
  if (type.includes('text/html')) {
    await discard();
    throw new DownloadError(
      file,
      url,
      `${file}: ${url} returned an HTML page instead of the file; the URL or model id is probably wrong.`,
    );
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
        throw new DownloadError(
          file,
          url,
          `${file}: the download broke off after ${loaded} bytes (${(e as Error).message}). Try again.`,
        );
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
  for (const c of chunks) {
    out.set(c, o);
    o += c.byteLength;
  }
  return out;
}
