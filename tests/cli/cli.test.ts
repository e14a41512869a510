// The dynrank CLI on the bundled demo models: info, logits, and a training run that is interrupted, resumed and
// evaluated, with the resumed run reproducing the uninterrupted one exactly on the CPU backend.

import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main';
import { parseSafetensors } from '../../src/models/safetensors';

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [], err: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...a) => { out.push(a.join(' ')); });
  const error = vi.spyOn(console, 'error').mockImplementation((...a) => { err.push(a.join(' ')); });
  const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    const code = await main(args);
    return { code, out: out.join('\n'), err: err.join('\n') };
  } finally {
    log.mockRestore(); error.mockRestore(); stderr.mockRestore();
  }
}

afterEach(() => vi.restoreAllMocks());

describe('dynrank info / logits', () => {
  it.each([['gpt2-tiny', 'gpt2', 4], ['bert-tiny', 'bert', 6]])('info %s', async (name, type, perLayer) => {
    const r = await run(['info', '--model', name]);
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.modelType).toBe(type);
    expect(j.layers).toBe(2);
    expect(j.adaptableModules.length).toBe(2 * perLayer);
    expect(j.parameters).toBeGreaterThan(10_000);
  });

  it('logits: one row per position for GPT-2, one row of num_labels for BERT', async () => {
    const g = JSON.parse((await run(['logits', '--model', 'gpt2-tiny', '--text', 'Call me Ishmael.', '--backend', 'cpu'])).out);
    expect(g.logits.length).toBe(g.input_ids.length);
    expect(g.logits[0].length).toBe(1024);
    const b = JSON.parse((await run(['logits', '--model', 'bert-tiny', '--text', 'win money now', '--backend', 'cpu'])).out);
    expect(b.logits.length).toBe(1);
    expect(b.logits[0].length).toBe(2);
  });

  it('says what is wrong with bad input', async () => {
    expect((await run(['info', '--model', '/nonexistent/dir'])).code).toBe(1);
    const r = await run(['logits', '--model', 'gpt2-tiny']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--text is required/);
    expect((await run(['train', '--model', 'gpt2-tiny', '--data', 'x.csv', '--method', 'dorra', '--out', '/tmp/x'])).err).toMatch(/--method must be/);
  });
});

describe('dynrank train: interrupted, resumed, evaluated', () => {
  // The first 20 kB of the demo corpus keep tokenization (pure-JS BPE) short.
  const data = join(mkdtempSync(join(tmpdir(), 'dynrank-data-')), 'sotu-head.txt');
  writeFileSync(data, readFileSync('public/datasets/sotu.txt', 'utf8').slice(0, 20_000));
  const common = ['--model', 'gpt2-tiny', '--data', data, '--method', 'dora', '--budget', '2', '--steps', '16',
    '--batch', '2', '--seq', '16', '--prune-interval', '2', '--log-every', '1', '--checkpoint-every', '4', '--backend', 'cpu'];

  it('reproduces the uninterrupted run and writes a PEFT adapter whose ranks add up to the budget', async () => {
    const whole = mkdtempSync(join(tmpdir(), 'dynrank-whole-')), parts = mkdtempSync(join(tmpdir(), 'dynrank-parts-'));
    expect((await run(['train', ...common, '--out', whole])).code).toBe(0);
    const stopped = await run(['train', ...common, '--out', parts, '--stop-after', '6']);
    expect(stopped.code, stopped.err).toBe(0);
    expect(JSON.parse(stopped.out).interrupted).toBe(true);
    const resumed = await run(['train', '--resume', parts, '--backend', 'cpu']);
    expect(resumed.code, resumed.err).toBe(0);
    const losses = (dir: string) => readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).loss);
    expect(losses(parts)).toEqual(losses(whole));
    const cfg = JSON.parse(readFileSync(join(parts, 'adapter_config.json'), 'utf8'));
    const ranks = Object.values(cfg.rank_pattern as Record<string, number>).reduce((a, b) => a + b, 0);
    expect(ranks).toBe(8 * 2);
    expect(cfg.use_dora).toBe(false);
    const st = parseSafetensors(new Uint8Array(readFileSync(join(parts, 'adapter_model.safetensors'))));
    expect([...st.tensors.keys()].every((k) => k.startsWith('base_model.model.transformer.h.'))).toBe(true);
    const ev = await run(['eval', '--model', 'gpt2-tiny', '--adapter', parts, '--data', data, '--seq', '16', '--val-fraction', '0.1', '--batch', '16', '--backend', 'cpu']);
    expect(ev.code, ev.err).toBe(0);
    const m = JSON.parse(ev.out);
    expect(m.perplexity).toBeGreaterThan(1);
    expect(Number.isFinite(m.loss)).toBe(true);
  });
});

describe('dynrank train on the encoder demo: interrupted, resumed, evaluated', () => {
  const data = join(mkdtempSync(join(tmpdir(), 'dynrank-spam-')), 'spam-head.csv');
  writeFileSync(data, readFileSync('public/datasets/spam.csv', 'utf8').split('\n').slice(0, 81).join('\n'));
  const common = ['--model', 'bert-tiny', '--data', data, '--method', 'lora', '--rank', '2', '--steps', '10', '--batch', '4',
    '--seq', '32', '--log-every', '1', '--checkpoint-every', '3', '--backend', 'cpu'];

  it('bert-tiny on spam: the resumed run equals the uninterrupted one; eval prints classification metrics', async () => {
    const whole = mkdtempSync(join(tmpdir(), 'dynrank-bw-')), parts = mkdtempSync(join(tmpdir(), 'dynrank-bp-'));
    expect((await run(['train', ...common, '--out', whole])).code).toBe(0);
    expect(JSON.parse((await run(['train', ...common, '--out', parts, '--stop-after', '4'])).out).interrupted).toBe(true);
    const resumed = await run(['train', '--resume', parts, '--backend', 'cpu']);
    expect(resumed.code, resumed.err).toBe(0);
    const losses = (dir: string) => readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).loss);
    expect(losses(parts)).toEqual(losses(whole));
    const cfg = JSON.parse(readFileSync(join(parts, 'adapter_config.json'), 'utf8'));
    expect(cfg.task_type).toBe('SEQ_CLS');
    expect(cfg.modules_to_save).toEqual(['classifier']);
    const ev = await run(['eval', '--model', 'bert-tiny', '--adapter', parts, '--data', data, '--seq', '32', '--backend', 'cpu']);
    expect(ev.code, ev.err).toBe(0);
    const m = JSON.parse(ev.out);
    for (const k of ['accuracy', 'f1', 'mcc', 'loss']) expect(Number.isFinite(m[k]), k).toBe(true);
  });
});
