// Model files for the worker: bundled demo folders fetched once and kept in memory, models added from the hub, a URL
// or dropped files (downloads kept in the Cache API), and the architecture summary the set-up panel shows (layers,
// parameters, adaptable modules) read from them without touching a backend.

import { adaptableModules, archFor } from '../models/arch/index';
import { browserCache } from '../models/browserCache';
import { parameterCount, readModelFiles } from '../models/load';
import { filesSource, hubSource, type ModelSource, type Progress, urlSource } from '../models/sources';
import { storeFiles } from './droppedFiles';
import type { ModelRef, ModelSummary } from './protocol';

const sources = new Map<string, ModelSource>();
const refs = new Map<string, ModelRef>();
/** Checkpoint refs of registered models (savedRefOf), made once per registration. */
const stored = new Map<string, Promise<ModelRef>>();

/** The model id the page uses for a source: the bundled name, or the kind and address. */
export function modelIdOf(ref: ModelRef): string {
  switch (ref.kind) {
    case 'bundled':
      return ref.id;
    case 'hub':
      return `hub:${ref.id}`;
    case 'url':
      return `url:${ref.url}`;
    case 'files':
      return `files:${ref.name}`;
  }
}

/** Makes `ref`'s files available under modelIdOf(ref); hub and URL downloads report progress and go through the Cache API. */
export function registerModel(ref: ModelRef, onProgress?: (p: Progress) => void): string {
  const id = modelIdOf(ref);
  if (ref.kind === 'bundled') return id;
  const memo = new Map<string, Uint8Array>(),
    disk = browserCache();
  // In memory first (a run reads config.json several times), then the Cache API, then the network.
  const cache = {
    get: async (k: string) => memo.get(k) ?? (await disk?.get(k)) ?? null,
    put: async (k: string, v: Uint8Array) => {
      memo.set(k, v);
      await disk?.put(k, v);
    },
    // A damaged cached file is dropped from both layers, so the next load downloads it again.
    delete: async (k: string) => {
      memo.delete(k);
      await disk?.delete?.(k);
    },
    where: (k: string) => disk?.where?.(k) ?? `the in-memory download cache (${k})`,
  };
  sources.set(
    id,
    ref.kind === 'hub'
      ? hubSource(ref.id, { hubBase: ref.hubBase, cache, onProgress })
      : ref.kind === 'url'
        ? urlSource(ref.url, { cache, onProgress })
        : filesSource(
            ref.files.map((f) => ({ name: f.name, bytes: async () => f.bytes })),
            ref.name,
          ),
  );
  refs.set(id, ref);
  // Other files under the same name are another model: they get their own cache key at the next checkpoint.
  stored.delete(id);
  return id;
}

/** Whether model `id` was registered in this worker (a hub, URL or files model added since it started). */
export const isRegistered = (id: string): boolean => refs.has(id);

/** The picker's label for a model that is not one of the bundled ones. */
export function modelLabel(ref: ModelRef): string {
  switch (ref.kind) {
    case 'bundled':
      return ref.id;
    case 'hub':
      return `${ref.id} · Hugging Face hub`;
    case 'url':
      return `${ref.url} · URL`;
    case 'files':
      return `${ref.name} · local files`;
  }
}

/** The ref a checkpoint records for model `id` (bundled unless registered). Dropped files are stored in the model
 * cache the first time (droppedFiles.ts) and recorded by key; where that fails (no Cache API, quota) the ref has
 * neither bytes nor key, and a resume asks for the files again. */
export function savedRefOf(id: string): Promise<ModelRef> {
  const r = refs.get(id) ?? { kind: 'bundled', id };
  if (r.kind !== 'files') return Promise.resolve(r);
  let p = stored.get(id);
  if (!p) {
    const cache = browserCache();
    const bare: ModelRef = { kind: 'files', name: r.name, files: [] };
    p = cache ? storeFiles(r, cache).catch(() => bare) : Promise.resolve(bare);
    stored.set(id, p);
  }
  return p;
}

/** The files of model `id`: a registered source, else the bundled folder of that name. */
export function sourceFor(id: string): ModelSource {
  return sources.get(id) ?? bundledSource(id);
}

/** The bundled model `id` (a folder under public/models), its files cached in memory after the first read. */
function bundledSource(id: string): ModelSource {
  let src = sources.get(id);
  if (!src) {
    if (!/^[\w.-]+$/.test(id)) throw new RangeError(`"${id}" is not a bundled model name`);
    const base = new URL(`${import.meta.env.BASE_URL}models/${id}/`, globalThis.location.origin).href;
    const files = new Map<string, Uint8Array>();
    src = urlSource(base, {
      name: id,
      cache: {
        get: async (k) => files.get(k) ?? null,
        put: async (k, v) => {
          files.set(k, v);
        },
      },
    });
    sources.set(id, src);
  }
  return src;
}

export { adaptableModules };

export async function summarize(id: string): Promise<ModelSummary> {
  const { config, weights } = await readModelFiles(sourceFor(id));
  const arch = archFor(config),
    modules = adaptableModules(config);
  return {
    id,
    kind: config.kind,
    title: arch.title(config),
    task: config.task,
    head: arch.headSize(config),
    parameters: parameterCount(weights),
    modules,
    moduleTypes: [...new Set(modules.map((m) => m.type))],
    defaultTargets: [...arch.defaultTargets],
    ...arch.dims(config),
    shapes: { config: config.raw, weights: [...weights.tensors].map(([n, t]) => [n, t.shape]) },
  };
}
