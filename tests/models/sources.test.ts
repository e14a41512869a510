// Model sources end to end: the bundled tiny models served in hub layout on 127.0.0.1 and loaded through hubSource
// (custom hubBase, owner/name and bare ids, revisions), urlSource, filesSource (a dropped folder) and resolveModelArg
// must give exactly the logits of the same model read from disk; progress events and the download cache.

import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SeqClsNet } from '../../src/models/arch/types';
import { ConfigError } from '../../src/models/config';
import { SafetensorsError } from '../../src/models/errors';
import { type LoadedModel, loadModel } from '../../src/models/load';
import { dirCache, dirSource, resolveModelArg } from '../../src/models/node';
import {
  DownloadError,
  type FileCache,
  filesSource,
  hubSource,
  type ModelSource,
  type Progress,
  urlSource,
} from '../../src/models/sources';
import type { Backend } from '../../src/tensor/backend';
import { CpuBackend } from '../../src/tensor/cpu';
import { type HubServer, startHubServer } from '../helpers/hubServer';

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
    B: 1,
    T,
    ids: be.fromArray(Int32Array.from(ids), [T]),
    typeIds: be.fromArray(Int32Array.from(typeIds), [T]),
    posIds: be.fromArray(
      Int32Array.from({ length: T }, (_, i) => i),
      [T],
    ),
    mask: be.fromArray(new Int32Array(T).fill(1), [T]),
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
    '..',
    '../x',
    'x/..',
    'a/../b',
    'a//b',
    '/a',
    '.a/b',
    'a/b.',
    '-a/b',
    'a/b-',
    'a--b/c',
    'a/b..c',
    'a/b.git',
    'a%2Fb',
    'é/b',
    'a?b',
    'a#b',
    'a\\b',
    'x'.repeat(97),
  ])('rejects the hub id %j with a DownloadError on "id" that says what is wrong', (id) => {
    const e = (() => {
      try {
        hubSource(id);
      } catch (err) {
        return err;
      }
      return null;
    })();
    expect(e).toBeInstanceOf(DownloadError);
    expect((e as DownloadError).field).toBe('id');
    expect((e as DownloadError).message).toMatch(/is not a Hugging Face model id: .+\. Give "name" or "owner\/name"/);
  });

  it('accepts the ids the hub allows', () => {
    for (const id of ['gpt2', 'bert-base-uncased', 'tiny-org/gpt2-tiny', 'A_b/c.d-e', 'x'.repeat(96), 'o/x1.5']) {
      expect(hubSource(id).name).toBe(id);
    }
  });

  it('rejects revisions with empty, "." or ".." parts, and encodes the rest', async () => {
    for (const revision of ['..', '../main', 'a//b', './x']) {
      expect(() => hubSource('a/b', { revision }), revision).toThrow(/is not a revision/);
    }
    const urls: string[] = [];
    const fetchSpy = (async (u: string | URL | Request) => {
      urls.push(String(u));
      return new Response(null, { status: 404 });
    }) as typeof fetch;
    await hubSource('a/b', { revision: 'refs/pr/1', fetch: fetchSpy, hubBase: 'http://h' }).get('config.json', true);
    expect(urls).toEqual(['http://h/a/b/resolve/refs/pr/1/config.json']);
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
    expect(hub.requests).toEqual(
      expect.arrayContaining(
        ['config.json', 'tokenizer.json', 'model.safetensors'].map((f) => `/${id}/resolve/${rev}/${f}`),
      ),
    );
    expect(hub.requests.every((p) => p.startsWith(`/${id}/resolve/${rev}/`))).toBe(true);
  });

  it('reports monotonic progress per file that ends at the total', async () => {
    const events: Progress[] = [];
    await load(hubSource('tiny-org/gpt2-tiny', { hubBase: hub.url, onProgress: (p) => events.push(p) }));
    const files = [...new Set(events.map((e) => e.file))];
    expect(files).toEqual(
      expect.arrayContaining(['config.json', 'tokenizer.json', 'tokenizer_config.json', 'model.safetensors']),
    );
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
    const second = await load(
      hubSource('tiny-org/gpt2-tiny', { hubBase: hub.url, cache: dirCache(dir), onProgress: (p) => events.push(p) }),
    );
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
    readdirSync(dir).map((f) => ({
      name: `${prefix}${f}`,
      bytes: async () => new Uint8Array(readFileSync(join(dir, f))),
    }));

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
    const files = [
      ...dropped(BERT, 'run/checkpoint-500/'),
      ...dropped(GPT2, 'run/'),
      ...dropped(BERT, 'run/checkpoint-1000/'),
    ];
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
    const src = resolveModelArg('tiny-org/gpt2-tiny', {
      hubBase: hub.url,
      cacheDir,
      onProgress: (p) => events.push(p),
    });
    expect(src.name).toBe('tiny-org/gpt2-tiny');
    expect(await logits(await load(src))).toEqual(want.get('gpt2'));
    expect(events.at(-1)).toBeDefined();
    expect(hub.requests.length).toBeGreaterThanOrEqual(3);
    hub.reset();
    expect(await logits(await load(resolveModelArg('tiny-org/gpt2-tiny', { hubBase: hub.url, cacheDir })))).toEqual(
      want.get('gpt2'),
    );
    expect(hub.requests).toEqual([]);
  });
});

describe('the download cache holds only files that pass the format check', () => {
  const url = (id: string, file: string) => `${hub.url}/${id}/resolve/main/${file}`;

  it('invalid JSON from the server is not cached: fixed on the server, the next load fetches it', async () => {
    const id = 'cache/bad-json';
    hub.addModel(id, GPT2);
    hub.writeFile(id, 'config.json', '{"model_type": "gpt2",');
    const dir = join(cacheRoot, 'bad-json'),
      cache = dirCache(dir);
    const e = await load(hubSource(id, { hubBase: hub.url, cache })).then(
      () => null,
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(ConfigError);
    expect(existsSync(cache.where!(url(id, 'config.json')))).toBe(false);
    hub.writeFile(id, 'config.json', readFileSync(join(GPT2, 'config.json')));
    hub.reset();
    expect(await logits(await load(hubSource(id, { hubBase: hub.url, cache })))).toEqual(want.get('gpt2'));
    expect(hub.requests).toContain(`/${id}/resolve/main/config.json`);
  });

  it('a cut-off safetensors file (with a matching Content-Length) is not cached', async () => {
    const id = 'cache/short-st';
    hub.addModel(id, GPT2);
    const full = readFileSync(join(GPT2, 'model.safetensors'));
    hub.writeFile(id, 'model.safetensors', full.subarray(0, full.length - 4096));
    const dir = join(cacheRoot, 'short-st'),
      cache = dirCache(dir);
    const e = await load(hubSource(id, { hubBase: hub.url, cache })).then(
      () => null,
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(SafetensorsError);
    expect(existsSync(cache.where!(url(id, 'model.safetensors')))).toBe(false);
    expect(existsSync(cache.where!(url(id, 'config.json')))).toBe(true);
    hub.writeFile(id, 'model.safetensors', full);
    expect(await logits(await load(hubSource(id, { hubBase: hub.url, cache })))).toEqual(want.get('gpt2'));
  });

  it('a damaged cached file is reported as such, with its path, and dropped; the next load downloads it', async () => {
    const id = 'tiny-org/gpt2-tiny';
    const dir = join(cacheRoot, 'damaged'),
      cache = dirCache(dir);
    await load(hubSource(id, { hubBase: hub.url, cache }));
    const path = cache.where!(url(id, 'model.safetensors'));
    writeFileSync(path, '<!DOCTYPE html><html>sign in</html>');
    hub.reset();
    const e = await load(hubSource(id, { hubBase: hub.url, cache })).then(
      () => null,
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(DownloadError);
    const d = e as DownloadError;
    expect([d.file, d.field]).toEqual(['model.safetensors', path]);
    expect(d.message).toContain(`model.safetensors: the cached copy at ${path} is damaged`);
    expect(d.message).toMatch(/removed from the cache: load the model again/);
    expect(d.cause).toBeInstanceOf(SafetensorsError);
    expect(existsSync(path)).toBe(false);
    expect(hub.requests).not.toContain(`/${id}/resolve/main/model.safetensors`);
    expect(await logits(await load(hubSource(id, { hubBase: hub.url, cache })))).toEqual(want.get('gpt2'));
    expect(hub.requests).toContain(`/${id}/resolve/main/model.safetensors`);
  });

  it('a cache that cannot delete says how to clear it', async () => {
    const bad = new TextEncoder().encode('{"model_type":');
    const map = new Map<string, Uint8Array>([[url('tiny-org/gpt2-tiny', 'config.json'), bad]]);
    const cache: FileCache = {
      get: async (k) => map.get(k) ?? null,
      put: async (k, v) => {
        map.set(k, v);
      },
    };
    const src = hubSource('tiny-org/gpt2-tiny', { hubBase: hub.url, cache });
    const e = await load(src).then(
      () => null,
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(DownloadError);
    expect((e as Error).message).toMatch(
      /config\.json: the cached copy at .*config\.json is damaged \(config\.json: not/,
    );
    expect((e as Error).message).toMatch(/Clear the download cache/);
  });
});
