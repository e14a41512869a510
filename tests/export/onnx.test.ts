// `dynrank export --format onnx`: the merged model (base + a LoRA adapter trained here) as a transformers.js folder,
// run in onnxruntime-web (wasm, in Node) against our CPU forward of the same merged weights, and checked by the
// official ONNX checker (Debian's python3-onnx, full_check).
//
// Tolerance 1e-4 absolute: both sides compute in float32 with different summation orders over K <= 256.
// A missing merge would move the logits by far more: each case checks that the base model's logits differ from the
// exported ones by more than 10x the bound.

import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-web';
import Papa from 'papaparse';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main';
import { mergeImportedAdapter } from '../../src/export/merge';
import { encoderBatch, uploadEncoderBatch } from '../../src/models/batch';
import { instantiate, readModelFiles } from '../../src/models/load';
import { dirSource } from '../../src/models/node';
import type { HostTensor } from '../../src/models/weights';
import { importPeft } from '../../src/peft/import';
import { CpuBackend } from '../../src/tensor/cpu';
import { expectClose } from '../helpers/check';

const PYTHON = '/usr/bin/python3';
const TOL = 1e-4;

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [],
    err: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...a) => {
    out.push(a.join(' '));
  });
  const error = vi.spyOn(console, 'error').mockImplementation((...a) => {
    err.push(a.join(' '));
  });
  const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    const code = await main(args);
    return { code, out: out.join('\n'), err: err.join('\n') };
  } finally {
    log.mockRestore();
    error.mockRestore();
    stderr.mockRestore();
  }
}

async function ok(args: string[]): Promise<void> {
  const r = await cli(args);
  if (r.code !== 0) throw new Error(`dynrank ${args.join(' ')} exited ${r.code}:\n${r.err}`);
}

const root = mkdtempSync(join(tmpdir(), 'dynrank-onnx-'));
const SHORT = ['--steps', '6', '--batch', '2', '--seq', '16', '--backend', 'cpu', '--lr', '0.05'];

/** Our weights for `model` with the adapter in `dir` merged, and the model config and tokenizer. */
async function merged(model: string, dir: string | null, numLabels?: number) {
  const src = dirSource(`public/models/${model}`);
  const files = await readModelFiles(src, { numLabels });
  let tensors: Map<string, HostTensor> = files.weights.tensors;
  if (dir) {
    const imp = importPeft(
      readFileSync(join(dir, 'adapter_config.json'), 'utf8'),
      new Uint8Array(readFileSync(join(dir, 'adapter_model.safetensors'))),
      files.config.kind,
    );
    tensors = mergeImportedAdapter(tensors, imp, files.config.kind);
  }
  const be = new CpuBackend();
  return { be, ...files, m: instantiate(be, files.config, files.tokenizer, { ...files.weights, tensors }, model) };
}

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) =>
  Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i])));

const i64 = (v: number[], dims: number[]) => new ort.Tensor('int64', BigInt64Array.from(v.map(BigInt)), dims);

async function session(dir: string): Promise<ort.InferenceSession> {
  ort.env.wasm.numThreads = 1;
  return ort.InferenceSession.create(readFileSync(join(dir, 'onnx/model.onnx')));
}

function checkModel(path: string): { status: number | null; stderr: string } {
  const r = spawnSync(
    PYTHON,
    ['-c', 'import sys, onnx; onnx.checker.check_model(sys.argv[1], full_check=True)', path],
    { encoding: 'utf8' },
  );
  return { status: r.status, stderr: r.error ? r.error.message : r.stderr };
}

function requireOnnxPython(): void {
  const r = spawnSync(PYTHON, ['-c', 'import onnx'], { encoding: 'utf8' });
  if (r.status !== 0)
    throw new Error(
      `${PYTHON} cannot import onnx; the ONNX checker needs Debian's python3-onnx: apt-get install python3-onnx`,
    );
}

const GPT2_TEXT = 'Call me Ishmael. Some years ago, never mind how long';
const BERT_TEXTS = ['Win money now! Lose weight and gain muscle, guaranteed.', 'see you at lunch'];

describe('dynrank export --format onnx', () => {
  const gptAdapter = join(root, 'gpt-run'),
    bertAdapter = join(root, 'bert-run');
  const gptOut = join(root, 'gpt-onnx'),
    bertOut = join(root, 'bert-onnx');
  const llamaAdapter = join(root, 'llama-run'),
    llamaOut = join(root, 'llama-onnx');

  beforeAll(async () => {
    const sotu = join(root, 'sotu.txt');
    writeFileSync(sotu, readFileSync('public/datasets/sotu.txt', 'utf8').slice(0, 20_000));
    const rows = Papa.parse<{ text: string; label: string }>(readFileSync('public/datasets/spam.csv', 'utf8'), {
      header: true,
      skipEmptyLines: true,
    }).data.slice(0, 40);
    const spam = join(root, 'spam3.csv');
    // Three labels, so the head is not the config's default size.
    writeFileSync(
      spam,
      Papa.unparse(
        rows.map((r, i) => ({ text: r.text, label: i % 3 === 0 ? 'other' : r.label })),
        { columns: ['text', 'label'] },
      ),
    );
    await ok([
      'train',
      '--model',
      'gpt2-tiny',
      '--data',
      sotu,
      '--method',
      'lora',
      '--rank',
      '4',
      '--target',
      'attn.c_attn,mlp.c_fc',
      ...SHORT,
      '--out',
      gptAdapter,
    ]);
    await ok([
      'train',
      '--model',
      'bert-tiny',
      '--data',
      spam,
      '--method',
      'lora',
      '--rank',
      '4',
      ...SHORT,
      '--out',
      bertAdapter,
    ]);
    await ok([
      'train',
      '--model',
      'llama-demo',
      '--data',
      sotu,
      '--method',
      'lora',
      '--rank',
      '4',
      ...SHORT,
      '--out',
      llamaAdapter,
    ]);
    await ok(['export', '--model', 'gpt2-tiny', '--adapter', gptAdapter, '--format', 'onnx', '--out', gptOut]);
    await ok(['export', '--model', 'llama-demo', '--adapter', llamaAdapter, '--format', 'onnx', '--out', llamaOut]);
    await ok(['export', '--model', 'bert-tiny', '--adapter', bertAdapter, '--format', 'onnx', '--out', bertOut]);
  }, 300_000);

  it('writes the transformers.js folder layout', () => {
    for (const f of [
      'onnx/model.onnx',
      'config.json',
      'tokenizer.json',
      'tokenizer_config.json',
      'generation_config.json',
    ]) {
      expect(existsSync(join(gptOut, f)), f).toBe(true);
    }
    expect(existsSync(join(bertOut, 'generation_config.json'))).toBe(false);
    const gen = JSON.parse(readFileSync(join(gptOut, 'generation_config.json'), 'utf8'));
    expect(gen).toMatchObject({ bos_token_id: 1023, eos_token_id: 1023 });
    const cfg = JSON.parse(readFileSync(join(bertOut, 'config.json'), 'utf8'));
    expect(cfg.architectures).toEqual(['BertForSequenceClassification']);
    // The model's generation_config.json ends generation at both of its eos ids, as our try-it does.
    const llamaGen = JSON.parse(readFileSync(join(llamaOut, 'generation_config.json'), 'utf8'));
    expect(llamaGen).toMatchObject({ bos_token_id: 2044, eos_token_id: [2045, 2047] });
    const labels = JSON.parse(readFileSync(join(bertAdapter, 'dynrank.json'), 'utf8')).labels as string[];
    expect(Object.values(cfg.id2label)).toEqual(labels);
    expect(labels.length).toBe(3);
  });

  it('gpt2-tiny + LoRA: logits, and prefill then one token through past_key_values, equal our forward', async () => {
    const { be, m, tokenizer } = await merged('gpt2-tiny', gptAdapter);
    if (m.kind !== 'gpt2') throw new Error('gpt2 expected');
    const ids = tokenizer.encode(GPT2_TEXT).ids,
      T = ids.length,
      V = m.config.arch.vocabSize;
    const { nLayer: L, nHead: H, nEmbd: C } = m.config.arch,
      D = C / H;
    const ours = (await be.read(m.net.forward(be.fromArray(Int32Array.from(ids), [T]), 1, T))) as Float32Array;
    const s = await session(gptOut);
    expect(s.inputNames).toEqual([
      'input_ids',
      'attention_mask',
      'position_ids',
      ...Array.from({ length: L }, (_, l) => [`past_key_values.${l}.key`, `past_key_values.${l}.value`]).flat(),
    ]);
    expect(s.outputNames).toEqual([
      'logits',
      ...Array.from({ length: L }, (_, l) => [`present.${l}.key`, `present.${l}.value`]).flat(),
    ]);
    const empty = () => new ort.Tensor('float32', new Float32Array(0), [1, H, 0, D]);
    const feeds = (tok: number[], past: number, kv: (name: string) => ort.Tensor) => {
      const f: Record<string, ort.Tensor> = {
        input_ids: i64(tok, [1, tok.length]),
        attention_mask: i64(new Array(past + tok.length).fill(1), [1, past + tok.length]),
        position_ids: i64(
          tok.map((_, i) => past + i),
          [1, tok.length],
        ),
      };
      for (let l = 0; l < L; l++)
        for (const k of ['key', 'value']) f[`past_key_values.${l}.${k}`] = kv(`present.${l}.${k}`);
      return f;
    };
    const full = await s.run(feeds(ids, 0, empty));
    expect(full.logits.dims).toEqual([1, T, V]);
    expect(full['present.0.key'].dims).toEqual([1, H, T, D]);
    expectClose(full.logits.data as Float32Array, ours, TOL, 0, 'full forward logits vs ours');

    const prefill = await s.run(feeds(ids.slice(0, T - 1), 0, empty));
    const step = await s.run(feeds(ids.slice(T - 1), T - 1, (name) => prefill[name]));
    expect(step.logits.dims).toEqual([1, 1, V]);
    expect(step['present.1.value'].dims).toEqual([1, H, T, D]);
    expectClose(
      step.logits.data as Float32Array,
      ours.subarray((T - 1) * V),
      TOL,
      0,
      'cached last-token logits vs ours',
    );
    console.info(
      `gpt2-tiny+LoRA, ${T} tokens: max |onnx - ours| full ` +
        `${maxDiff(full.logits.data as Float32Array, ours).toExponential(2)}, ` +
        `cached step ${maxDiff(step.logits.data as Float32Array, ours.subarray((T - 1) * V)).toExponential(2)}`,
    );

    // The adapter is in the file: the base model's logits are far from the exported ones.
    const base = await merged('gpt2-tiny', null);
    if (base.m.kind !== 'gpt2') throw new Error('gpt2 expected');
    const plain = (await base.be.read(
      base.m.net.forward(base.be.fromArray(Int32Array.from(ids), [T]), 1, T),
    )) as Float32Array;
    const moved = maxDiff(plain, ours);
    console.info(`gpt2-tiny: max |base - merged| logits ${moved.toExponential(2)}`);
    expect(moved).toBeGreaterThan(10 * TOL);
  });

  it('llama-demo + LoRA: prefill then one token through past_key_values equal our forward', async () => {
    const { be, m, tokenizer } = await merged('llama-demo', llamaAdapter);
    if (m.kind !== 'llama' || m.task !== 'causal-lm') throw new Error('llama expected');
    const ids = tokenizer.encode(GPT2_TEXT).ids,
      T = ids.length,
      V = m.config.arch.vocabSize;
    const { layers: L, kvHeads: KVH, headDim: D } = m.config.arch;
    const ours = (await be.read(m.net.forward(be.fromArray(Int32Array.from(ids), [T]), 1, T))) as Float32Array;
    const s = await session(llamaOut);
    const feeds = (tok: number[], past: number, kv: (name: string) => ort.Tensor) => {
      const f: Record<string, ort.Tensor> = {
        input_ids: i64(tok, [1, tok.length]),
        attention_mask: i64(new Array(past + tok.length).fill(1), [1, past + tok.length]),
        position_ids: i64(
          tok.map((_, i) => past + i),
          [1, tok.length],
        ),
      };
      for (let l = 0; l < L; l++)
        for (const k of ['key', 'value']) f[`past_key_values.${l}.${k}`] = kv(`present.${l}.${k}`);
      return f;
    };
    const empty = () => new ort.Tensor('float32', new Float32Array(0), [1, KVH, 0, D]);
    const full = await s.run(feeds(ids, 0, empty));
    expectClose(full.logits.data as Float32Array, ours, TOL, 0, 'llama full forward logits vs ours');
    const prefill = await s.run(feeds(ids.slice(0, T - 1), 0, empty));
    const step = await s.run(feeds(ids.slice(T - 1), T - 1, (name) => prefill[name]));
    expect(step['present.0.key'].dims).toEqual([1, KVH, T, D]);
    const last = ours.subarray((T - 1) * V);
    expectClose(step.logits.data as Float32Array, last, TOL, 0, 'llama cached last-token logits vs ours');
    console.info(
      `llama-demo+LoRA, ${T} tokens: max |onnx - ours| full ` +
        `${maxDiff(full.logits.data as Float32Array, ours).toExponential(2)}, ` +
        `cached step ${maxDiff(step.logits.data as Float32Array, last).toExponential(2)}`,
    );
    const base = await merged('llama-demo', null);
    if (base.m.kind !== 'llama' || base.m.task !== 'causal-lm') throw new Error('llama expected');
    const plain = (await base.be.read(
      base.m.net.forward(base.be.fromArray(Int32Array.from(ids), [T]), 1, T),
    )) as Float32Array;
    const moved = maxDiff(plain, ours);
    console.info(`llama-demo: max |base - merged| logits ${moved.toExponential(2)}`);
    expect(moved).toBeGreaterThan(10 * TOL);
  });

  it('bert-tiny classification + LoRA (3-label head): a padded batch of two gives our logits', async () => {
    const { be, m, tokenizer } = await merged('bert-tiny', bertAdapter, 3);
    if (m.kind !== 'bert') throw new Error('bert expected');
    const encs = BERT_TEXTS.map((t) => tokenizer.encode(t));
    const batch = encoderBatch(encs, m.config.arch);
    expect(batch.mask).toContain(0); // the second text is padded
    const ours = (await be.read(m.net.forward(uploadEncoderBatch(be, batch)))) as Float32Array;
    const s = await session(bertOut);
    expect(s.inputNames).toEqual(['input_ids', 'attention_mask', 'token_type_ids']);
    const dims = [batch.B, batch.T];
    const out = await s.run({
      input_ids: i64([...batch.ids], dims),
      attention_mask: i64([...batch.mask], dims),
      token_type_ids: i64([...batch.typeIds], dims),
    });
    expect(out.logits.dims).toEqual([2, 3]);
    // The freshly trained head gives logits of ~1e-2: the bound is relative to them when they are below 1.
    const big = Math.max(...ours.map(Math.abs));
    expectClose(out.logits.data as Float32Array, ours, TOL * Math.min(1, big), 0, 'classifier logits vs ours');
    console.info(
      `bert-tiny+LoRA: max |onnx - ours| ${maxDiff(out.logits.data as Float32Array, ours).toExponential(2)}, ` +
        `max |logit| ${big.toExponential(2)}`,
    );
  });

  it('the ONNX checker (python3-onnx, full_check) accepts the three files', () => {
    requireOnnxPython();
    for (const dir of [gptOut, bertOut, llamaOut]) {
      const r = checkModel(join(dir, 'onnx/model.onnx'));
      expect(r.stderr, dir).toBe('');
      expect(r.status, dir).toBe(0);
    }
    // ...and it does check: a graph whose logits come from an unknown value is rejected.
    const bad = join(root, 'bad.py');
    writeFileSync(
      bad,
      [
        'import sys, onnx',
        'm = onnx.load(sys.argv[1])',
        'm.graph.node[-1].input[0] = "no_such_value"',
        'onnx.save(m, sys.argv[2])',
      ].join('\n'),
    );
    execFileSync(PYTHON, [bad, join(bertOut, 'onnx/model.onnx'), join(root, 'bad.onnx')]);
    expect(checkModel(join(root, 'bad.onnx')).status).not.toBe(0);
  });

  it('rejects bad input with a message that says what to do', async () => {
    const fmt = await cli(['export', '--model', 'gpt2-tiny', '--format', 'gguf', '--out', join(root, 'x')]);
    expect(fmt.code).toBe(2);
    expect(fmt.err).toMatch(/--format must be onnx/);
    const head = await cli(['export', '--model', 'bert-tiny', '--format', 'onnx', '--out', join(root, 'nohead')]);
    expect(head.code).toBe(2);
    expect(head.err).toMatch(/no trained classification head \(classifier\.weight\).*--adapter/);
    const noAdapter = await cli(['export', '--model', 'gpt2-tiny', '--adapter', root, '--out', join(root, 'y')]);
    expect(noAdapter.code).toBe(2);
    expect(noAdapter.err).toMatch(
      /--adapter .*: adapter_config\.json is missing; pass the folder of a PEFT LoRA adapter/,
    );
    const full = await cli(['export', '--model', 'gpt2-tiny', '--format', 'onnx', '--out', gptOut]);
    expect(full.code).toBe(2);
    expect(full.err).toMatch(/not empty.*--force/);
  });
});
