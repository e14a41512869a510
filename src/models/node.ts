// Node-only sources and cache: a model folder on disk, and a download cache directory. Never imported by the page.

import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DownloadError, type FileCache, hubSource, type ModelSource, urlSource } from './sources';

export function dirSource(dir: string): ModelSource {
  const root = resolve(dir);
  return {
    name: root,
    get: async (file, optional = false) => {
      const p = join(root, file);
      if (!existsSync(p)) {
        if (optional) return null;
        throw new DownloadError(file, p, `${file} is missing from the folder ${root}.`);
      }
      return new Uint8Array(await readFile(p));
    },
  };
}

export function dirCache(dir: string): FileCache {
  const path = (key: string) => join(dir, createHash('sha256').update(key).digest('hex'));
  return {
    get: async (key) => (existsSync(path(key)) ? new Uint8Array(await readFile(path(key))) : null),
    put: async (key, data) => {
      await mkdir(dir, { recursive: true });
      // Write then rename, so an interrupted write never leaves a short file that a later get would return.
      const tmp = `${path(key)}.${process.pid}.${Date.now()}.tmp`;
      await writeFile(tmp, data);
      await rename(tmp, path(key));
    },
    delete: async (key) => {
      await rm(path(key), { force: true });
    },
    where: (key) => path(key),
  };
}

/** `--model` as the CLI takes it: a folder, a bundled demo name, an http(s) URL of a folder, or a hub id. */
export function resolveModelArg(
  arg: string,
  opts: {
    hubBase?: string;
    cacheDir?: string;
    onProgress?: (p: { file: string; loaded: number; total: number | null }) => void;
  } = {},
): ModelSource {
  const cache = opts.cacheDir ? dirCache(opts.cacheDir) : undefined;
  if (existsSync(arg)) return dirSource(arg);
  const bundled = resolve(fileURLToPath(new URL('../../public/models/', import.meta.url)), arg);
  if (/^[\w.-]+$/.test(arg) && existsSync(join(bundled, 'config.json'))) return { ...dirSource(bundled), name: arg };
  if (/^https?:\/\//.test(arg)) return urlSource(arg, { cache, onProgress: opts.onProgress });
  return hubSource(arg, { hubBase: opts.hubBase, cache, onProgress: opts.onProgress });
}
