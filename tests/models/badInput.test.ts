// Bad model input, over HTTP from a local hub stand-in and from disk: every case ends in a typed error that names the
// file and the field at fault, quickly (short timeouts), never a crash, a hang or a wrong model.

import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CONFIG_LIMITS, ConfigError } from '../../src/models/config';
import { ModelFormatError, SafetensorsError } from '../../src/models/errors';
import { loadModel, readModelFiles } from '../../src/models/load';
import { dirCache, dirSource } from '../../src/models/node';
import { parseSafetensors } from '../../src/models/safetensorsRead';
import { type WritableTensor, writeSafetensors } from '../../src/models/safetensorsWrite';
import { DownloadError, filesSource, hubSource, type ModelSource } from '../../src/models/sources';
import { TokenizerError } from '../../src/models/tokenizer';
import { WeightError } from '../../src/nn/params';
import { CpuBackend } from '../../src/tensor/cpu';
import { Rng } from '../../src/tensor/rng';
import { type HubServer, startHubServer } from '../helpers/hubServer';

const GPT2 = 'public/models/gpt2-tiny';
const BERT = 'public/models/bert-tiny';
const T = { timeout: 10_000 };
const ID = 'tiny-org/gpt2-tiny';

let hub: HubServer;
let tmp: string;

beforeAll(async () => {
  hub = await startHubServer();
  hub.addModel(ID, GPT2);
  tmp = mkdtempSync(join(tmpdir(), 'dynrank-bad-'));
});
afterEach(() => hub.reset());
afterAll(async () => {
  await hub?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

const fromHub = (id = ID, cacheDir?: string) =>
  hubSource(id, { hubBase: hub.url, cache: cacheDir ? dirCache(cacheDir) : undefined });
const load = (src: ModelSource) => loadModel(src, new CpuBackend(), { numLabels: 2 });

/** The error `p` rejects with, checked to be of `type` and to name `file` and `field` (a RegExp for the field, or exact). */
async function rejection<E extends Error>(
  p: Promise<unknown>,
  type: new (...a: never[]) => E,
  file: string | null,
  field?: string | RegExp,
): Promise<E> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e, 'expected a rejection').toBeInstanceOf(type);
  if (file !== null) {
    expect(e).toBeInstanceOf(ModelFormatError);
    const m = e as ModelFormatError;
    expect(m.file).toBe(file);
    expect(m.message).toContain(file);
    if (field instanceof RegExp) expect(m.field).toMatch(field);
    else if (field !== undefined) expect(m.field).toBe(field);
  }
  return e as E;
}

/** A copy of a bundled model in a temp folder, to break. */
function copyModel(from: string, name: string): string {
  const dir = join(tmp, name);
  cpSync(from, dir, { recursive: true });
  return dir;
}

describe('missing and optional files', () => {
  it.each(['config.json', 'tokenizer.json', 'model.safetensors'])(
    '%s answering 404 is a DownloadError naming it',
    async (file) => {
      hub.fault(file, { status: 404 });
      const e = await rejection(load(fromHub()), DownloadError, file, `${hub.url}/${ID}/resolve/main/${file}`);
      expect(e.message).toMatch(/HTTP 404/);
    },
    T.timeout,
  );

  it(
    'an unknown repository is a 404 on config.json',
    async () => {
      const e = await rejection(load(fromHub('nobody/nothing')), DownloadError, 'config.json');
      expect(e.message).toContain('/nobody/nothing/resolve/main/config.json');
      expect(hub.requests).toEqual(['/nobody/nothing/resolve/main/config.json']);
    },
    T.timeout,
  );

  it(
    'tokenizer_config.json is optional: a 404 for it still loads the model',
    async () => {
      hub.fault('tokenizer_config.json', { status: 404 });
      const m = await load(fromHub());
      expect(m.kind).toBe('gpt2');
      expect(hub.requests).toContain(`/${ID}/resolve/main/tokenizer_config.json`);
    },
    T.timeout,
  );

  it(
    'but a 401 for an optional file is still an error',
    async () => {
      hub.fault('tokenizer_config.json', { status: 401 });
      await rejection(load(fromHub()), DownloadError, 'tokenizer_config.json');
    },
    T.timeout,
  );

  it.each(['tokenizer.json', 'model.safetensors'])(
    '%s missing from a folder or a drop',
    async (file) => {
      const dir = copyModel(GPT2, `missing-${file}`);
      rmSync(join(dir, file));
      await rejection(load(dirSource(dir)), DownloadError, file);
      const files = readdirSync(dir).map((f) => ({
        name: `m/${f}`,
        bytes: async () => new Uint8Array(readFileSync(join(dir, f))),
      }));
      const e = await rejection(load(filesSource(files)), DownloadError, file);
      expect(e.message).toMatch(/missing/);
    },
    T.timeout,
  );

  it(
    'a drop without tokenizer_config.json loads',
    async () => {
      const files = ['config.json', 'tokenizer.json', 'model.safetensors'].map((f) => ({
        name: f,
        bytes: async () => new Uint8Array(readFileSync(join(GPT2, f))),
      }));
      expect((await load(filesSource(files))).kind).toBe('gpt2');
    },
    T.timeout,
  );
});

describe('HTTP errors and HTML pages', () => {
  it(
    '401 says the model may be private or gated',
    async () => {
      hub.fault('*', { status: 401 });
      const e = await rejection(load(fromHub()), DownloadError, 'config.json');
      expect(e.message).toMatch(/HTTP 401/);
      expect(e.message).toMatch(/private or gated/);
    },
    T.timeout,
  );

  it.each(['config.json', 'tokenizer.json', 'model.safetensors'])(
    'an HTML page (text/html) for %s is a DownloadError',
    async (file) => {
      hub.fault(file, { html: true });
      const e = await rejection(load(fromHub()), DownloadError, file);
      expect(e.message).toMatch(/HTML page/);
    },
    T.timeout,
  );

  it(
    'an HTML error status with an HTML body reports the status',
    async () => {
      hub.fault('config.json', { html: true, status: 500 });
      const e = await rejection(load(fromHub()), DownloadError, 'config.json');
      expect(e.message).toMatch(/HTTP 500/);
    },
    T.timeout,
  );

  // Served with a non-HTML content type (a static host that labels everything), the parsers still catch it.
  const page = '<!DOCTYPE html>\n<html><body>Not found</body></html>\n';

  it(
    'an HTML page in config.json is a ConfigError, not a JSON syntax crash',
    async () => {
      hub.writeFile('html/config', 'config.json', page);
      hub.writeFile('html/config', 'tokenizer.json', readFileSync(join(GPT2, 'tokenizer.json')));
      hub.writeFile('html/config', 'model.safetensors', readFileSync(join(GPT2, 'model.safetensors')));
      const e = await rejection(load(fromHub('html/config')), ConfigError, 'config.json', '(file)');
      expect(e.message).toMatch(/HTML page instead of JSON/);
    },
    T.timeout,
  );

  it(
    'an HTML page in tokenizer.json is a TokenizerError',
    async () => {
      hub.addModel('html/tok', GPT2);
      hub.writeFile('html/tok', 'tokenizer.json', page);
      await rejection(load(fromHub('html/tok')), TokenizerError, 'tokenizer.json', '(file)');
    },
    T.timeout,
  );

  it(
    'an HTML page in model.safetensors is a SafetensorsError on the header length',
    async () => {
      hub.addModel('html/st', GPT2);
      hub.writeFile('html/st', 'model.safetensors', page);
      const e = await rejection(load(fromHub('html/st')), SafetensorsError, 'model.safetensors', 'header length');
      expect(['HeaderTooLarge', 'InvalidHeaderLength']).toContain(e.code);
    },
    T.timeout,
  );

  it(
    'invalid JSON in config.json names the file',
    async () => {
      hub.addModel('bad/json', GPT2);
      hub.writeFile('bad/json', 'config.json', '{"model_type": "gpt2",');
      const e = await rejection(load(fromHub('bad/json')), ConfigError, 'config.json', '(file)');
      expect(e.message).toMatch(/not valid JSON/);
    },
    T.timeout,
  );

  it(
    'a server that cannot be reached is a DownloadError',
    async () => {
      const src = hubSource(ID, { hubBase: 'http://127.0.0.1:9' });
      await rejection(load(src), DownloadError, 'config.json');
    },
    T.timeout,
  );
});

describe('truncated downloads', () => {
  it.each([0, 1000, 300_000])(
    'model.safetensors cut after %i bytes is a DownloadError and is not cached',
    async (n) => {
      const cacheDir = join(tmp, `cache-trunc-${n}`);
      hub.fault('model.safetensors', { truncate: n });
      const e = await rejection(load(fromHub(ID, cacheDir)), DownloadError, 'model.safetensors');
      expect(e.message).toMatch(/truncated|broke off/);
      // The retry goes back to the network for the broken file only, and then loads.
      hub.reset();
      const m = await load(fromHub(ID, cacheDir));
      expect(m.kind).toBe('gpt2');
      expect(hub.requests).toEqual([`/${ID}/resolve/main/model.safetensors`]);
    },
    T.timeout,
  );

  it(
    'a truncated config.json is a DownloadError too',
    async () => {
      hub.fault('config.json', { truncate: 100 });
      await rejection(load(fromHub()), DownloadError, 'config.json');
    },
    T.timeout,
  );

  it(
    'a truncated model.safetensors on disk is a SafetensorsError',
    async () => {
      const dir = copyModel(GPT2, 'trunc-disk');
      const bytes = readFileSync(join(dir, 'model.safetensors'));
      writeFileSync(join(dir, 'model.safetensors'), bytes.subarray(0, bytes.length - 1000));
      const e = await rejection(load(dirSource(dir)), SafetensorsError, 'model.safetensors', 'data_offsets');
      expect(e.code).toBe('IncompleteBuffer');
      expect(e.message).toMatch(/truncated/);
      writeFileSync(join(dir, 'model.safetensors'), bytes.subarray(0, 100));
      const e2 = await rejection(load(dirSource(dir)), SafetensorsError, 'model.safetensors', 'header length');
      expect(e2.code).toBe('InvalidHeaderLength');
    },
    T.timeout,
  );
});

describe('config.json content', () => {
  it.each(['mistral', undefined, 42])(
    'model_type %s is a ConfigError on model_type',
    async (type) => {
      const dir = copyModel(GPT2, `type-${String(type)}`);
      const raw = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
      if (type === undefined) delete raw.model_type;
      else raw.model_type = type;
      writeFileSync(join(dir, 'config.json'), JSON.stringify(raw));
      const e = await rejection(readModelFiles(dirSource(dir)), ConfigError, 'config.json', 'model_type');
      expect(e.message).toMatch(/not supported/);
      expect(e.message).toMatch(/gpt2/);
    },
    T.timeout,
  );

  it(
    'a field of the wrong type names the field',
    async () => {
      const dir = copyModel(BERT, 'bert-field');
      const raw = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
      raw.hidden_size = '64';
      writeFileSync(join(dir, 'config.json'), JSON.stringify(raw));
      await rejection(load(dirSource(dir)), ConfigError, 'config.json', 'hidden_size');
    },
    T.timeout,
  );
});

describe('tensors of the wrong shape', () => {
  /** Rewrites model.safetensors of a copy of `from` with tensor `name` given `shape` (same data, same element count). */
  function reshaped(from: string, name: string, shape: (s: number[]) => number[]): string {
    const dir = copyModel(from, `shape-${name}`);
    const st = parseSafetensors(new Uint8Array(readFileSync(join(dir, 'model.safetensors'))));
    expect(st.tensors.has(name)).toBe(true);
    const tensors: WritableTensor[] = [...st.tensors.values()].map((t) => ({
      name: t.name,
      dtype: t.dtype as WritableTensor['dtype'],
      shape: t.name === name ? shape(t.shape) : t.shape,
      data: t.data.slice(),
    }));
    writeFileSync(join(dir, 'model.safetensors'), writeSafetensors(tensors, st.metadata));
    return dir;
  }

  it.each([
    [GPT2, 'h.0.attn.c_attn.weight', [64, 192], (s: number[]) => [s[1], s[0]]],
    [GPT2, 'wte.weight', [1024, 64], (s: number[]) => [s[0] * s[1]]],
    [BERT, 'bert.encoder.layer.1.intermediate.dense.weight', [256, 64], (s: number[]) => [s[1], s[0]]],
  ] as const)(
    '%s: %s is a WeightError when the net is built',
    async (from, name, expected, shape) => {
      const dir = reshaped(from, name, shape);
      // The files themselves are well-formed: reading them succeeds, building the network does not.
      await readModelFiles(dirSource(dir), { numLabels: 2 });
      const e = await load(dirSource(dir)).then(
        () => null,
        (err: unknown) => err,
      );
      expect(e).toBeInstanceOf(WeightError);
      const msg = (e as Error).message;
      expect(msg).toContain('model.safetensors');
      expect(msg).toContain(`"${name.replace(/^bert\./, '')}"`);
      expect(msg).toContain(`expected [${expected.join(', ')}]`);
    },
    T.timeout,
  );

  it(
    'a missing tensor is a WeightError naming it',
    async () => {
      const dir = copyModel(GPT2, 'shape-missing');
      const st = parseSafetensors(new Uint8Array(readFileSync(join(dir, 'model.safetensors'))));
      const tensors = [...st.tensors.values()]
        .filter((t) => t.name !== 'ln_f.bias')
        .map((t) => ({ name: t.name, dtype: 'F32' as const, shape: t.shape, data: t.data.slice() }));
      writeFileSync(join(dir, 'model.safetensors'), writeSafetensors(tensors));
      await expect(load(dirSource(dir))).rejects.toThrow(/model\.safetensors: .*"ln_f\.bias"/);
      await expect(load(dirSource(dir))).rejects.toBeInstanceOf(WeightError);
    },
    T.timeout,
  );
});

describe('hostile safetensors headers', () => {
  /** An 8-byte little-endian header length followed by `rest`. */
  function withHeaderLength(len: bigint, rest: Uint8Array | string = ''): Uint8Array {
    const tail = typeof rest === 'string' ? new TextEncoder().encode(rest) : rest;
    const out = new Uint8Array(8 + tail.length);
    new DataView(out.buffer).setBigUint64(0, len, true);
    out.set(tail, 8);
    return out;
  }

  it.each([
    ['header length 2^64 - 1', withHeaderLength(0xffff_ffff_ffff_ffffn, '{}'), 'HeaderTooLarge', 'header length'],
    ['header length 2^53 + 1', withHeaderLength(2n ** 53n + 1n, '{}'), 'HeaderTooLarge', 'header length'],
    ['header length 100,000,001', withHeaderLength(100_000_001n, '{}'), 'HeaderTooLarge', 'header length'],
    [
      'header length past the end of the file',
      withHeaderLength(50_000_000n, '{}'),
      'InvalidHeaderLength',
      'header length',
    ],
    ['a 4-byte file', new Uint8Array([1, 2, 3, 4]), 'HeaderTooSmall', 'header length'],
    [
      'an element count beyond 2^53',
      withHeaderLength(88n, '{"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}}'.padEnd(88)),
      'ValidationOverflow',
      'w',
    ],
    [
      'a tensor bigger than the file',
      withHeaderLength(72n, '{"w":{"dtype":"F32","shape":[1000000000],"data_offsets":[0,4000000000]}}'.padEnd(72)),
      'IncompleteBuffer',
      'data_offsets',
    ],
  ] as const)(
    '%s: a SafetensorsError from disk and over HTTP',
    async (what, bytes, code, field) => {
      hub.addModel(`hostile/${code}`, GPT2);
      hub.writeFile(`hostile/${code}`, 'model.safetensors', bytes);
      const dir = copyModel(GPT2, `hostile-${what.replace(/\W+/g, '-')}`);
      writeFileSync(join(dir, 'model.safetensors'), bytes);
      for (const src of [dirSource(dir), fromHub(`hostile/${code}`)]) {
        const e = await rejection(load(src), SafetensorsError, 'model.safetensors', field);
        expect(e.code, what).toBe(code);
      }
    },
    T.timeout,
  );
});

/** A model read from memory: the files of `dir`, with config.json edited and others replaced; `read` lists the
 * files asked for, so a test can show that an error came before the weights were even read. */
function edited(dir: string, edit: (raw: Record<string, unknown>) => void, replace: Record<string, string> = {}) {
  const read: string[] = [];
  const raw = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  edit(raw);
  const files = new Map(readdirSync(dir).map((f) => [f, new Uint8Array(readFileSync(join(dir, f)))]));
  // ±Infinity is written as ±1e999, which JSON.parse reads back as ±Infinity (JSON.stringify would write null).
  const json = JSON.stringify(raw, (_, v) => (v === Infinity ? '@inf' : v === -Infinity ? '@-inf' : v));
  files.set('config.json', new TextEncoder().encode(json.replace(/"@inf"/g, '1e999').replace(/"@-inf"/g, '-1e999')));
  for (const [f, text] of Object.entries(replace)) files.set(f, new TextEncoder().encode(text));
  const src: ModelSource = {
    name: dir,
    get: async (file, optional = false) => {
      read.push(file);
      const b = files.get(file);
      if (!b && !optional) throw new DownloadError(file, '(file)', `${file} is missing`);
      return b ?? null;
    },
  };
  return { src, read };
}

describe('config.json values are checked before anything is allocated', () => {
  it(
    'BERT hidden_size 65536 with num_labels 1e9 is a ConfigError before model.safetensors is read',
    async () => {
      const { src, read } = edited(BERT, (r) => {
        r.hidden_size = 65536;
        r.num_labels = 1e9;
      });
      const e = await rejection(readModelFiles(src), ConfigError, 'config.json', /^(hidden_size|num_labels)$/);
      expect(e.message).toMatch(/65536|1000000000/);
      expect(read).not.toContain('model.safetensors');
    },
    T.timeout,
  );

  it(
    'num_labels 1e9 alone names the field, the value and the limit',
    async () => {
      const { src, read } = edited(BERT, (r) => {
        r.num_labels = 1e9;
      });
      const e = await rejection(readModelFiles(src), ConfigError, 'config.json', 'num_labels');
      expect(e.message).toContain('1000000000');
      expect(e.message).toContain(String(CONFIG_LIMITS.labels));
      expect(read).not.toContain('model.safetensors');
    },
    T.timeout,
  );

  it.each([-1, 0, 1.5, '2', true])(
    'BERT num_labels %s is a ConfigError (not 0 labels)',
    async (v) => {
      const { src } = edited(BERT, (r) => {
        r.num_labels = v;
      });
      await rejection(readModelFiles(src), ConfigError, 'config.json', 'num_labels');
    },
    T.timeout,
  );

  it(
    'a label count asked for by the caller is bounded too',
    async () => {
      const { src } = edited(BERT, () => {});
      const e = await rejection(readModelFiles(src, { numLabels: 1e9 }), ConfigError, null);
      expect(e.field).toBe('numLabels');
      expect(e.message).toContain('1000000000');
    },
    T.timeout,
  );

  const inner = [
    ['-1', -1],
    ['2.5', 2.5],
    ['1e999', Infinity],
    ['"3072"', '3072'],
    ['0', 0],
  ] as const;
  it.each(inner)(
    'GPT-2 n_inner %s is a ConfigError',
    async (_, v) => {
      const { src } = edited(GPT2, (r) => {
        r.n_inner = v;
      });
      const e = await rejection(readModelFiles(src), ConfigError, 'config.json', 'n_inner');
      expect(e.message).toMatch(/n_inner/);
    },
    T.timeout,
  );

  it.each([
    [GPT2, 'layer_norm_epsilon', -1e-5],
    [GPT2, 'layer_norm_epsilon', 0],
    [GPT2, 'layer_norm_epsilon', 2],
    [BERT, 'layer_norm_eps', -1e-12],
    [BERT, 'initializer_range', -0.02],
    [BERT, 'pad_token_id', 4096],
    [BERT, 'pad_token_id', -1],
    [GPT2, 'n_layer', 1e9],
    [GPT2, 'n_layer', 2.5],
    [GPT2, 'vocab_size', 2 ** 40],
    [GPT2, 'n_positions', -128],
    [BERT, 'type_vocab_size', 1e6],
    [BERT, 'max_position_embeddings', 0],
    [BERT, 'intermediate_size', 1e12],
  ] as const)(
    '%s: %s %s is a ConfigError naming the field',
    async (dir, f, v) => {
      const { src, read } = edited(dir, (r) => {
        r[f] = v;
      });
      const e = await rejection(readModelFiles(src), ConfigError, 'config.json', f);
      expect(e.message).toContain(String(v));
      expect(read).not.toContain('model.safetensors');
    },
    T.timeout,
  );

  it.each([
    [GPT2, { n_head: 3 }, 'n_head'],
    [BERT, { num_attention_heads: 3 }, 'num_attention_heads'],
    [BERT, { id2label: { 0: 'a', 2: 'b' } }, 'id2label.2'],
    [BERT, { id2label: { 0: 'a', 1: 7 } }, 'id2label.1'],
    [BERT, { id2label: ['a', 'b'] }, 'id2label'],
    [BERT, { id2label: { 0: 'a', 1: 'b' }, num_labels: 3 }, 'num_labels'],
  ] as const)(
    '%s with %j is a ConfigError on %s',
    async (dir, patch, f) => {
      const { src } = edited(dir, (r) => Object.assign(r, patch));
      await rejection(readModelFiles(src), ConfigError, 'config.json', f);
    },
    T.timeout,
  );

  it.each([
    [GPT2, 'vocab_size', 2048, /wte\.weight.*1024 rows/],
    [GPT2, 'n_layer', 3, /2 layers/],
    [GPT2, 'n_positions', 64, /wpe\.weight.*128 rows/],
    [GPT2, 'n_inner', 128, /c_fc\.weight.*256 columns/],
    [BERT, 'vocab_size', 30522, /word_embeddings\.weight.*4096 rows/],
    [BERT, 'num_hidden_layers', 12, /2 layers/],
    [BERT, 'intermediate_size', 3072, /intermediate\.dense\.weight.*256 rows/],
    [BERT, 'type_vocab_size', 1, /token_type_embeddings\.weight.*2 rows/],
  ] as const)(
    '%s: %s %s disagreeing with the weights is a ConfigError naming both files',
    async (dir, f, v, re) => {
      const { src } = edited(dir, (r) => {
        r[f] = v;
      });
      const e = await rejection(readModelFiles(src), ConfigError, 'config.json', f);
      expect(e.message).toContain('model.safetensors');
      expect(e.message).toMatch(re);
    },
    T.timeout,
  );

  it(
    'hidden size disagreeing with the embedding (heads still dividing it)',
    async () => {
      const { src } = edited(GPT2, (r) => {
        r.n_embd = 128;
      });
      await rejection(readModelFiles(src), ConfigError, 'config.json', 'n_embd');
    },
    T.timeout,
  );
});

describe('config.json fuzz: random values per field load or give a typed error', () => {
  const FIELDS = {
    gpt2: [
      'vocab_size',
      'n_positions',
      'max_position_embeddings',
      'n_embd',
      'hidden_size',
      'n_layer',
      'num_hidden_layers',
      'n_head',
      'num_attention_heads',
      'n_inner',
      'layer_norm_epsilon',
      'activation_function',
      'num_labels',
      'id2label',
      'model_type',
    ],
    bert: [
      'vocab_size',
      'hidden_size',
      'num_hidden_layers',
      'num_attention_heads',
      'intermediate_size',
      'max_position_embeddings',
      'type_vocab_size',
      'layer_norm_eps',
      'pad_token_id',
      'num_labels',
      'id2label',
      'initializer_range',
      'hidden_act',
      'position_embedding_type',
      'model_type',
    ],
  };
  const values = (rng: Rng, old: unknown): unknown => {
    const n = typeof old === 'number' ? old : 64;
    const pool: unknown[] = [
      null,
      true,
      'x',
      '64',
      [],
      {},
      [1],
      { 0: 'a' },
      { 0: 'a', 1: 'b', 2: 'c' },
      0,
      -1,
      1,
      2,
      1.5,
      -0.5,
      1e-12,
      1e9,
      1e300,
      2 ** 31,
      2 ** 53,
      2 ** 53 + 2,
      Infinity,
      -Infinity,
      NaN,
      n,
      n * 2,
      n / 2,
      n + 1,
      n - 1,
      'gelu',
      'gpt2',
      'bert',
    ];
    return pool[rng.int(pool.length)];
  };

  it.each([
    [GPT2, 'gpt2'],
    [BERT, 'bert'],
  ] as const)(
    '%s: 150 mutated configs',
    async (dir, kind) => {
      const rng = new Rng(kind === 'gpt2' ? 7 : 11);
      let loaded = 0;
      for (let i = 0; i < 150; i++) {
        const patch: Record<string, unknown> = {};
        const { src } = edited(dir, (r) => {
          for (let k = 0; k < 1 + rng.int(3); k++) {
            const f = FIELDS[kind][rng.int(FIELDS[kind].length)];
            r[f] = patch[f] = values(rng, r[f]);
          }
        });
        // NaN becomes null in the text, which means "absent"; ±Infinity is written as ±1e999.
        const e = await load(src).then(
          () => null,
          (err: unknown) => err,
        );
        if (e === null) loaded++;
        else if (!(e instanceof ModelFormatError) && !(e instanceof WeightError)) {
          throw new Error(`${JSON.stringify(patch)}: ${String(e)}`);
        }
      }
      expect(loaded).toBeGreaterThan(0);
    },
    60_000,
  );
});

describe('a tokenizer must fit the embedding', () => {
  it(
    "BERT's 4096-id tokenizer on the 1024-row GPT-2 is a TokenizerError naming both sizes and files",
    async () => {
      const bertTok = readFileSync(join(BERT, 'tokenizer.json'), 'utf8');
      const { src } = edited(GPT2, () => {}, { 'tokenizer.json': bertTok, 'tokenizer_config.json': '{}' });
      const e = await rejection(load(src), TokenizerError, 'tokenizer.json', 'model.vocab');
      for (const s of ['4096', '1024', 'config.json', 'vocab_size', 'model.safetensors', 'wte.weight']) {
        expect(e.message).toContain(s);
      }
    },
    T.timeout,
  );

  it(
    'an added token past the embedding is refused too',
    async () => {
      const tok = JSON.parse(readFileSync(join(BERT, 'tokenizer.json'), 'utf8'));
      tok.added_tokens.push({ ...tok.added_tokens[0], id: 4096, content: '[NEW]' });
      const { src } = edited(BERT, () => {}, { 'tokenizer.json': JSON.stringify(tok) });
      const e = await rejection(load(src), TokenizerError, 'tokenizer.json', 'model.vocab');
      expect(e.message).toMatch(/4097 ids/);
      expect(e.message).toContain('embeddings.word_embeddings.weight');
    },
    T.timeout,
  );

  it(
    'a smaller tokenizer than the embedding is fine (vocab padded to a round size)',
    async () => {
      const { src } = edited(GPT2, () => {});
      const m = await readModelFiles(src);
      expect(m.tokenizer.vocabSize).toBeLessThanOrEqual(m.config.arch.vocabSize);
    },
    T.timeout,
  );
});
