// The dynrank CLI on the bundled demo models: info, logits, and a training run that is interrupted, resumed and
// evaluated, with the resumed run reproducing the uninterrupted one exactly on the CPU backend. Where a run writes
// (never over the model, atomically), a model with NaN weights, and a resume on changed weights or data.

import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { writeAtomic } from '../../src/cli/files';
import { parseSafetensors } from '../../src/models/safetensorsRead';
import { runCli as run } from '../helpers/cli';

afterEach(() => vi.restoreAllMocks());

describe('dynrank info / logits', () => {
  it.each([
    ['gpt2-tiny', 'gpt2', 4],
    ['bert-tiny', 'bert', 6],
  ])('info %s', async (name, type, perLayer) => {
    const r = await run(['info', '--model', name]);
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.modelType).toBe(type);
    expect(j.layers).toBe(2);
    expect(j.adaptableModules.length).toBe(2 * perLayer);
    expect(j.parameters).toBeGreaterThan(10_000);
  });

  it('logits: one row per position for GPT-2, one row of num_labels for BERT', async () => {
    const g = JSON.parse(
      (await run(['logits', '--model', 'gpt2-tiny', '--text', 'Call me Ishmael.', '--backend', 'cpu'])).out,
    );
    expect(g.logits.length).toBe(g.input_ids.length);
    expect(g.logits[0].length).toBe(1024);
    const b = JSON.parse(
      (await run(['logits', '--model', 'bert-tiny', '--text', 'win money now', '--backend', 'cpu'])).out,
    );
    expect(b.logits.length).toBe(1);
    expect(b.logits[0].length).toBe(2);
  });

  it('says what is wrong with bad input', async () => {
    expect((await run(['info', '--model', '/nonexistent/dir'])).code).toBe(1);
    const r = await run(['logits', '--model', 'gpt2-tiny']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--text is required/);
    expect(
      (await run(['train', '--model', 'gpt2-tiny', '--data', 'x.csv', '--method', 'dorra', '--out', '/tmp/x'])).err,
    ).toMatch(/--method must be/);
  });
});

describe('dynrank train: interrupted, resumed, evaluated', () => {
  // The first 20 kB of the demo corpus keep tokenization (pure-JS BPE) short.
  const data = join(mkdtempSync(join(tmpdir(), 'dynrank-data-')), 'sotu-head.txt');
  writeFileSync(data, readFileSync('public/datasets/sotu.txt', 'utf8').slice(0, 20_000));
  const common = [
    '--model',
    'gpt2-tiny',
    '--data',
    data,
    '--method',
    'dora',
    '--budget',
    '2',
    '--steps',
    '16',
    '--batch',
    '2',
    '--seq',
    '16',
    '--prune-interval',
    '2',
    '--log-every',
    '1',
    '--checkpoint-every',
    '4',
    '--backend',
    'cpu',
  ];

  it('reproduces the uninterrupted run and writes a PEFT adapter whose ranks add up to the budget', async () => {
    const whole = mkdtempSync(join(tmpdir(), 'dynrank-whole-')),
      parts = mkdtempSync(join(tmpdir(), 'dynrank-parts-'));
    expect((await run(['train', ...common, '--out', whole])).code).toBe(0);
    const stopped = await run(['train', ...common, '--out', parts, '--stop-after', '6']);
    expect(stopped.code, stopped.err).toBe(0);
    expect(JSON.parse(stopped.out).interrupted).toBe(true);
    const resumed = await run(['train', '--resume', parts, '--backend', 'cpu']);
    expect(resumed.code, resumed.err).toBe(0);
    const losses = (dir: string) =>
      readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).loss);
    expect(losses(parts)).toEqual(losses(whole));
    const cfg = JSON.parse(readFileSync(join(parts, 'adapter_config.json'), 'utf8'));
    const ranks = Object.values(cfg.rank_pattern as Record<string, number>).reduce((a, b) => a + b, 0);
    expect(ranks).toBe(8 * 2);
    expect(cfg.use_dora).toBe(false);
    const st = parseSafetensors(new Uint8Array(readFileSync(join(parts, 'adapter_model.safetensors'))));
    expect([...st.tensors.keys()].every((k) => k.startsWith('base_model.model.transformer.h.'))).toBe(true);
    const ev = await run([
      'eval',
      '--model',
      'gpt2-tiny',
      '--adapter',
      parts,
      '--data',
      data,
      '--seq',
      '16',
      '--val-fraction',
      '0.1',
      '--batch',
      '16',
      '--backend',
      'cpu',
    ]);
    expect(ev.code, ev.err).toBe(0);
    const m = JSON.parse(ev.out);
    expect(m.perplexity).toBeGreaterThan(1);
    expect(Number.isFinite(m.loss)).toBe(true);
  });
});

describe('dynrank train on the encoder demo: interrupted, resumed, evaluated', () => {
  const data = join(mkdtempSync(join(tmpdir(), 'dynrank-spam-')), 'spam-head.csv');
  writeFileSync(data, readFileSync('public/datasets/spam.csv', 'utf8').split('\n').slice(0, 81).join('\n'));
  const common = [
    '--model',
    'bert-tiny',
    '--data',
    data,
    '--method',
    'lora',
    '--rank',
    '2',
    '--steps',
    '10',
    '--batch',
    '4',
    '--seq',
    '32',
    '--log-every',
    '1',
    '--checkpoint-every',
    '3',
    '--backend',
    'cpu',
  ];

  it('bert-tiny on spam: the resumed run equals the uninterrupted one; eval prints classification metrics', async () => {
    const whole = mkdtempSync(join(tmpdir(), 'dynrank-bw-')),
      parts = mkdtempSync(join(tmpdir(), 'dynrank-bp-'));
    expect((await run(['train', ...common, '--out', whole])).code).toBe(0);
    expect(JSON.parse((await run(['train', ...common, '--out', parts, '--stop-after', '4'])).out).interrupted).toBe(
      true,
    );
    const resumed = await run(['train', '--resume', parts, '--backend', 'cpu']);
    expect(resumed.code, resumed.err).toBe(0);
    const losses = (dir: string) =>
      readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).loss);
    expect(losses(parts)).toEqual(losses(whole));
    const cfg = JSON.parse(readFileSync(join(parts, 'adapter_config.json'), 'utf8'));
    expect(cfg.task_type).toBe('SEQ_CLS');
    expect(cfg.modules_to_save).toEqual(['classifier']);
    const ev = await run([
      'eval',
      '--model',
      'bert-tiny',
      '--adapter',
      parts,
      '--data',
      data,
      '--seq',
      '32',
      '--backend',
      'cpu',
    ]);
    expect(ev.code, ev.err).toBe(0);
    const m = JSON.parse(ev.out);
    for (const k of ['accuracy', 'f1', 'mcc', 'loss']) expect(Number.isFinite(m[k]), k).toBe(true);
  });
});

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

/** A copy of the gpt2-tiny demo model in a fresh folder, with `edit` applied to one value of one tensor. */
function tinyCopy(edit?: { tensor: string; index: number; value: number }): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'dynrank-model-')), 'gpt2-tiny');
  cpSync('public/models/gpt2-tiny', dir, { recursive: true });
  if (edit) editTensor(join(dir, 'model.safetensors'), edit);
  return dir;
}

function editTensor(file: string, edit: { tensor: string; index: number; value: number }): void {
  const bytes = new Uint8Array(readFileSync(file)),
    t = parseSafetensors(bytes).tensors.get(edit.tensor)!;
  new DataView(t.data.buffer, t.data.byteOffset).setFloat32(4 * edit.index, edit.value, true);
  writeFileSync(file, bytes);
}

describe('dynrank train: where it writes', () => {
  const data = join(mkdtempSync(join(tmpdir(), 'dynrank-data-')), 'sotu-small.txt');
  writeFileSync(data, readFileSync('public/datasets/sotu.txt', 'utf8').slice(0, 4_000));
  const short = [
    '--data',
    data,
    '--method',
    'lora',
    '--rank',
    '2',
    '--steps',
    '2',
    '--batch',
    '2',
    '--seq',
    '16',
    '--backend',
    'cpu',
  ];

  it('never writes into the model folder, even with --force; the base model stays as it was', async () => {
    const model = tinyCopy(),
      before = sha256(join(model, 'model.safetensors'));
    for (const extra of [[], ['--force']]) {
      const r = await run(['train', '--model', model, ...short, '--out', model, '--merged', ...extra]);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/--out .* is the model's folder .*never writes there, even with --force/);
    }
    const parent = await run(['train', '--model', model, ...short, '--out', dirname(model), '--force']);
    expect(parent.code).toBe(2);
    expect(parent.err).toMatch(/contains the model's folder/);
    expect(sha256(join(model, 'model.safetensors'))).toBe(before);
    expect(readdirSync(model).sort()).toEqual(readdirSync('public/models/gpt2-tiny').sort());
  });

  it('refuses a non-empty --out that holds no run of the same configuration unless --force', async () => {
    const out = mkdtempSync(join(tmpdir(), 'dynrank-out-'));
    writeFileSync(join(out, 'notes.txt'), 'mine');
    const refused = await run(['train', '--model', 'gpt2-tiny', ...short, '--out', out]);
    expect(refused.code).toBe(2);
    expect(refused.err).toMatch(/--out .* is not empty \(notes\.txt\) and holds no dynrank run; /);
    expect(refused.err).toMatch(/use --force to overwrite its files, or --resume .* to continue/);
    expect(readdirSync(out)).toEqual(['notes.txt']);
    const forced = await run(['train', '--model', 'gpt2-tiny', ...short, '--out', out, '--force']);
    expect(forced.code, forced.err).toBe(0);
    // The same run again may overwrite its own outputs; another configuration may not.
    expect((await run(['train', '--model', 'gpt2-tiny', ...short, '--out', out])).code).toBe(0);
    const other = await run(['train', '--model', 'gpt2-tiny', ...short, '--lr', '0.5', '--out', out]);
    expect(other.code).toBe(2);
    expect(other.err).toMatch(/holds a dynrank run of another configuration \(it differs in lr\); use --force/);
    expect(readFileSync(join(out, 'notes.txt'), 'utf8')).toBe('mine');
    expect(readdirSync(out).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('writes each file whole or not at all', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dynrank-atomic-')),
      path = join(dir, 'out.json');
    await writeAtomic(path, 'old');
    await writeAtomic(path, 'new');
    expect(readFileSync(path, 'utf8')).toBe('new');
    // A write that cannot complete (its temporary name is taken by a folder) leaves the old file as it was.
    mkdirSync(`${path}.${process.pid}.tmp`);
    await expect(writeAtomic(path, 'newer')).rejects.toThrow();
    expect(readFileSync(path, 'utf8')).toBe('new');
  });

  it('a NaN in a LayerNorm weight stops the run with what was not finite, at which steps, and what to do', async () => {
    const model = tinyCopy({ tensor: 'h.0.ln_1.weight', index: 5, value: NaN });
    const out = mkdtempSync(join(tmpdir(), 'dynrank-nan-'));
    const r = await run(['train', '--model', model, ...short, '--steps', '30', '--log-every', '10', '--out', out]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/NonFiniteError: the loss was NaN or infinite at 5 steps in a row \(steps 1 to 5;/);
    expect(r.err).toMatch(/model weights most likely hold NaN or Inf\. Check the model weights/);
    expect(r.stderr).toMatch(/step 1: the loss was NaN or infinite; its update was skipped/);
    expect(r.stderr).toMatch(/step 1: .* the learning-rate scale halves to 0\.5 from step 3/);
    expect(r.stderr).toMatch(/step 4: .* halves to 0\.0625 from step 6/);
  });

  it('a resume on changed data or weights is refused, naming which; on the original ones it finishes', async () => {
    const model = tinyCopy(),
      dataCopy = join(mkdtempSync(join(tmpdir(), 'dynrank-d-')), 'sotu-small.txt');
    writeFileSync(dataCopy, readFileSync(data));
    const out = mkdtempSync(join(tmpdir(), 'dynrank-resume-'));
    const args = [
      'train',
      '--model',
      model,
      ...short,
      '--data',
      dataCopy,
      '--steps',
      '6',
      '--checkpoint-every',
      '2',
      '--out',
      out,
    ];
    expect(JSON.parse((await run([...args, '--stop-after', '3'])).out).interrupted).toBe(true);
    const original = readFileSync(dataCopy, 'utf8');
    writeFileSync(dataCopy, original.replace('a', 'e'));
    const d = await run(['train', '--resume', out, '--backend', 'cpu']);
    expect(d.code).toBe(1);
    expect(d.err).toMatch(/InputMismatchError: the data differ .*sotu-small\.txt \(sha256 [0-9a-f]{12}…/);
    expect(d.err).toMatch(/Resume with the original data file/);
    writeFileSync(dataCopy, original);
    const weights = join(model, 'model.safetensors'),
      saved = readFileSync(weights);
    editTensor(weights, { tensor: 'wte.weight', index: 0, value: 0.125 });
    const w = await run(['train', '--resume', out, '--backend', 'cpu']);
    expect(w.code).toBe(1);
    expect(w.err).toMatch(/InputMismatchError: the model weights differ .*model\.safetensors \(sha256 [0-9a-f]{12}…/);
    writeFileSync(weights, saved);
    const ok = await run(['train', '--resume', out, '--backend', 'cpu']);
    expect(ok.code, ok.err).toBe(0);
    const info = JSON.parse(readFileSync(join(out, 'dynrank.json'), 'utf8'));
    expect(info.inputs.data).toEqual({ file: dataCopy, sha256: sha256(dataCopy) });
    expect(info.inputs.weights.sha256).toBe(sha256(weights));
  });
});
