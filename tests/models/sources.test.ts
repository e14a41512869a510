// Model sources end to end: the bundled tiny models served in hub layout on 127.0.0.1 and loaded through hubSource
// (custom hubBase, owner/name and bare ids, revisions), urlSource, filesSource (a dropped folder) and resolveModelArg
// must give exactly the logits of the same model read from disk; progress events and the download cache.

import type { SeqClsNet } from '../../src/models/arch/types';
import type { Backend } from '../../src/tensor/backend';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModel, type LoadedModel } from '../../src/models/load';
import { dirCache, dirSource, resolveModelArg } from '../../src/models/node';
import { DownloadError, filesSource, hubSource, urlSource, type ModelSource, type Progress } from '../../src/models/sources';
import { CpuBackend } from '../../src/tensor/cpu';
import { startHubServer, type HubServer } from '../helpers/hubServer';

const GPT2 = 'public/models/gpt2-tiny';
const BERT = 'public/models/bert-tiny';
const TEXT = 'The quick brown fox jumps over the lazy dog.';

/** Logits of one short input on the CPU backend. */
async function logits(m: LoadedModel): Promise<Float32Array> {
  const be = (m.net as { be: Backend }).be;
  const { ids, typeIds } = m.tokenizer.encode(TEXT);
  const T = ids.length;
  if (m.kind === 'gpt2') {
    return (await be.read(m.net.forward(be.fromArray(Int32Array.from(ids), [T]), 1, T))) as Float32Array;
  }
  const batch = {
    B: 1, T,
    ids: be.fromArray(Int32Array.from(ids), [T]), typeIds: be.fromArray(Int32Array.from(typeIds), [T]),
    posIds: be.fromArray(Int32Array.from({ length: T }, (_, i) => i), [T]), mask: be.fromArray(new Int32Array(T).fill(1), [T]),
    clsRows: be.fromArray(new Int32Array([0]), [1]),
  };
  return (await be.read((m.net as SeqClsNet).forward(batch))) as Float32Array;
}

const load = (src: ModelSource) => loadModel(src, new CpuBackend(), { numLabels: 2 });

let hub: HubServer;
let cacheRoot: string;
const want = new Map<string, Float32Array>();

beforeAll(async () => {
  hub = await startHubServer();
  hub.addModel('tiny-org/gpt2-tiny', GPT2);
  hub.addModel('tiny-org/gpt2-tiny', GPT2, 'v1.0');
  hub.addModel('bert-tiny', BERT);
  hub.addModel('tiny-org/bert-tiny', BERT, '0123456789abcdef0123456789abcdef01234567');
  cacheRoot = mkdtempSync(join(tmpdir(), 'dynrank-cache-'));
  want.set('gpt2', await logits(await load(dirSource(GPT2))));
  want.set('bert', await logits(await load(dirSource(BERT))));
});

afterAll(async () => {
  await hub?.close();
  if (cacheRoot) rmSync(cacheRoot, { recursive: true, force: true });
});

describe('hubSource', () => {
  it('rejects ids that are not "name" or "owner/name"', () => {
    for (const id of ['', 'a/b/c', 'https://x/y', 'a b', 'a/']) expect(() => hubSource(id), id).toThrow(DownloadError);
  });

  it.each([
    ['gpt2', 'tiny-org/gpt2-tiny', undefined],
    ['gpt2', 'tiny-org/gpt2-tiny', 'v1.0'],
    ['bert', 'bert-tiny', undefined],
    ['bert', 'tiny-org/bert-tiny', '0123456789abcdef0123456789abcdef01234567'],
  ] as const)('%s from %s @ %s with a custom hubBase gives the logits of the folder', async (kind, id, revision) => {
    hub.reset();
    const src = hubSource(id, { hubBase: `${hub.url}/`, revision });
    expect(src.name).toBe(id);
    const m = await load(src);
    expect(m.kind).toBe(kind);
    expect(m.name).toBe(id);
    expect(await logits(m)).toEqual(want.get(kind));
    const rev = revision ?? 'main';
    expect(hub.requests).toEqual(expect.arrayContaining(['config.json', 'tokenizer.json', 'model.safetensors'].map((f) => `/${id}/resolve/${rev}/${f}`)));
    expect(hub.requests.every((p) => p.startsWith(`/${id}/resolve/${rev}/`))).toBe(true);
  });

  it('reports monotonic progress per file that ends at the total', async () => {
    const events: Progress[] = [];
    await load(hubSource('tiny-org/gpt2-tiny', { hubBase: hub.url, onProgress: (p) => events.push(p) }));
    const files = [...new Set(events.map((e) => e.file))];
    expect(files).toEqual(expect.arrayContaining(['config.json', 'tokenizer.json', 'tokenizer_config.json', 'model.safetensors']));
    for (const f of files) {
      const ev = events.filter((e) => e.file === f);
      const size = statSync(join(GPT2, f)).size;
      for (let i = 0; i < ev.length; i++) {
        expect(ev[i].total, f).toBe(size);
        if (i > 0) expect(ev[i].loaded, f).toBeGreaterThan(ev[i - 1].loaded);
      }
      expect(ev[ev.length - 1].loaded, f).toBe(size);
    }
    expect(events.filter((e) => e.file === 'model.safetensors').length).toBeGreaterThan(1);
  });

  it('a second load through the same dirCache makes no HTTP request', async () => {
    const dir = join(cacheRoot, 'hub');
    hub.reset();
    const first = await load(hubSource('tiny-org/gpt2-tiny', { hubBase: hub.url, cache: dirCache(dir) }));
    expect(hub.requests.length).toBeGreaterThanOrEqual(4);
    expect(readdirSync(dir).filter((f) => !f.endsWith('.tmp')).length).toBe(hub.requests.length);
    hub.reset();
    const events: Progress[] = [];
    const second = await load(hubSource('tiny-org/gpt2-tiny', { hubBase: hub.url, cache: dirCache(dir), onProgress: (p) => events.push(p) }));
    expect(hub.requests).toEqual([]);
    expect(events).toEqual([]);
    expect(await logits(second)).toEqual(await logits(first));
    // Another revision is another cache key.
    await load(hubSource('tiny-org/gpt2-tiny', { hubBase: hub.url, revision: 'v1.0', cache: dirCache(dir) }));
    expect(hub.requests.length).toBeGreaterThan(0);
  });
});

describe('urlSource', () => {
  it.each([
    ['gpt2', 'tiny-org/gpt2-tiny/resolve/main'],
    ['bert', 'bert-tiny/resolve/main/'],
  ] as const)('%s from a folder URL', async (kind, path) => {
    const m = await load(urlSource(`${hub.url}/${path}`));
    expect(m.kind).toBe(kind);
    expect(await logits(m)).toEqual(want.get(kind));
  });
});

describe('filesSource', () => {
  const dropped = (dir: string, prefix: string) =>
    readdirSync(dir).map((f) => ({ name: `${prefix}${f}`, bytes: async () => new Uint8Array(readFileSync(join(dir, f))) }));

  it.each([
    ['gpt2', GPT2],
    ['bert', BERT],
  ] as const)('%s from a dropped folder (names with directory prefixes)', async (kind, dir) => {
    const m = await load(filesSource(dropped(dir, `${kind}-tiny/`), 'dropped'));
    expect(m.name).toBe('dropped');
    expect(await logits(m)).toEqual(want.get(kind));
  });

  it('prefers the top-level file when a sub-folder repeats a name', async () => {
    // A training output folder: the model at the top, an older checkpoint (here: the other model) below it.
    const files = [...dropped(BERT, 'run/checkpoint-500/'), ...dropped(GPT2, 'run/'), ...dropped(BERT, 'run/checkpoint-1000/')];
    const m = await load(filesSource(files));
    expect(m.kind).toBe('gpt2');
    expect(await logits(m)).toEqual(want.get('gpt2'));
  });

  it('Windows-style separators work too', async () => {
    const m = await load(filesSource(dropped(GPT2, 'models\\gpt2-tiny\\')));
    expect(await logits(m)).toEqual(want.get('gpt2'));
  });
});

describe('resolveModelArg', () => {
  it('a folder path', async () => {
    const src = resolveModelArg(BERT);
    expect(src.name).toBe(join(process.cwd(), BERT));
    expect(await logits(await load(src))).toEqual(want.get('bert'));
  });

  it('a bundled demo name', async () => {
    const src = resolveModelArg('gpt2-tiny');
    expect(src.name).toBe('gpt2-tiny');
    expect(await logits(await load(src))).toEqual(want.get('gpt2'));
  });

  it('an http URL of a folder, cached', async () => {
    const cacheDir = join(cacheRoot, 'url');
    const url = `${hub.url}/bert-tiny/resolve/main`;
    hub.reset();
    expect(await logits(await load(resolveModelArg(url, { cacheDir })))).toEqual(want.get('bert'));
    expect(hub.requests.length).toBeGreaterThanOrEqual(3);
    hub.reset();
    expect(await logits(await load(resolveModelArg(url, { cacheDir })))).toEqual(want.get('bert'));
    expect(hub.requests).toEqual([]);
  });

  it('a hub id with hubBase, progress and cacheDir', async () => {
    const cacheDir = join(cacheRoot, 'arg');
    const events: Progress[] = [];
    hub.reset();
    const src = resolveModelArg('tiny-org/gpt2-tiny', { hubBase: hub.url, cacheDir, onProgress: (p) => events.push(p) });
    expect(src.name).toBe('tiny-org/gpt2-tiny');
    expect(await logits(await load(src))).toEqual(want.get('gpt2'));
    expect(events.at(-1)).toBeDefined();
    expect(hub.requests.length).toBeGreaterThanOrEqual(3);
    hub.reset();
    expect(await logits(await load(resolveModelArg('tiny-org/gpt2-tiny', { hubBase: hub.url, cacheDir })))).toEqual(want.get('gpt2'));
    expect(hub.requests).toEqual([]);
  });
});
