// The exported PEFT adapters checked independently: tiny adapters trained with `dynrank train` (dynamic-rank and plain
// LoRA; GPT-2, a BERT classifier, Llama/Qwen2 causal LMs and a Llama classifier) are applied to the base model by
// tools/peft_check.py — PyTorch, the hand-written HF-layout models of tools/common.py and tools/llama_ref.py and
// PEFT's documented LoRA semantics, no code shared with ours — and its logits must equal `dynrank logits --adapter` on
// the same text.
//
// Tolerance: max |diff| < 1e-4, and < 1e-4 * max|logit| when the logits are smaller than 1 (BERT's freshly trained
// head gives logits of ~1e-2). Both sides compute in float32 with different summation orders (our CPU backend vs
// torch/OpenBLAS; we fold PEFT's scaling into B, PEFT applies it after B); against a float64 run each side is off by
// ~1e-6 relative, so the bound leaves ~30x headroom. A semantic mistake (a rank or alpha from the wrong pattern,
// a transposed Conv1D update, a missing head) moves the logits far more: each run also checks that doubling every
// alpha (i.e. the LoRA update) in a copy of the adapter moves the PyTorch logits by more than 10x the bound.
//
// Needs Debian's PyTorch: `apt-get install python3-torch libopenblas0-pthread`. Without it the tests fail, never skip.

import { execFile, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Papa from 'papaparse';
import { describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main';
import { toFloat32 } from '../../src/models/safetensorsDecode';
import { parseSafetensors } from '../../src/models/safetensorsRead';
import { writeSafetensors } from '../../src/models/safetensorsWrite';
import { llamaFolder } from '../helpers/llamaFolder';

const PYTHON = '/usr/bin/python3';
const TOL = 1e-4;

let torchProblem: string | null | undefined;
/** Fails the calling test with install instructions when /usr/bin/python3 cannot import torch. */
function requireTorch(): void {
  if (torchProblem === undefined) {
    const r = spawnSync(PYTHON, ['-c', 'import torch; torch.zeros(2) @ torch.zeros(2)'], {
      encoding: 'utf8',
      env: { ...process.env, OMP_NUM_THREADS: '1' },
    });
    torchProblem =
      r.status === 0
        ? null
        : `${PYTHON} cannot import torch (${r.error?.message ?? (r.stderr.trim().split('\n').pop() || `exit ${r.status}`)}). ` +
          "The PEFT check needs Debian's PyTorch: apt-get install python3-torch libopenblas0-pthread";
  }
  if (torchProblem) throw new Error(torchProblem);
}

async function cli(args: string[]): Promise<void> {
  const out: string[] = [],
    err: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...a) => {
    out.push(a.join(' '));
  });
  const error = vi.spyOn(console, 'error').mockImplementation((...a) => {
    err.push(a.join(' '));
  });
  const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  let code: number;
  try {
    code = await main(args);
  } finally {
    log.mockRestore();
    error.mockRestore();
    stderr.mockRestore();
  }
  if (code !== 0) throw new Error(`dynrank ${args.join(' ')} exited ${code}:\n${err.join('\n')}`);
}

function python(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      PYTHON,
      ['tools/peft_check.py', ...args],
      { maxBuffer: 64 << 20, env: { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1' } },
      (e, stdout, stderr) => resolve({ code: e ? (typeof e.code === 'number' ? e.code : 1) : 0, stdout, stderr }),
    );
  });
}

interface Logits {
  input_ids: number[];
  logits: number[][];
}

async function torchLogits(model: string, adapter: string, text: string): Promise<Logits> {
  const r = await python(['--model', model, '--adapter', adapter, '--text', text]);
  if (r.code !== 0) throw new Error(`tools/peft_check.py on ${adapter} exited ${r.code}:\n${r.stderr}`);
  return JSON.parse(r.stdout) as Logits;
}

function maxAbsDiff(a: number[][], b: number[][]): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  a.forEach((row, i) => {
    expect(row.length).toBe(b[i].length);
    row.forEach((v, j) => {
      m = Math.max(m, Math.abs(v - b[i][j]));
    });
  });
  return m;
}

const maxAbs = (a: number[][]) => Math.max(...a.flat().map(Math.abs));

const root = mkdtempSync(join(tmpdir(), 'dynrank-peftcheck-'));
const sotu = join(root, 'sotu-head.txt');
writeFileSync(sotu, readFileSync('public/datasets/sotu.txt', 'utf8').slice(0, 20_000));
const spamRows = Papa.parse<{ text: string; label: string }>(readFileSync('public/datasets/spam.csv', 'utf8'), {
  header: true,
  skipEmptyLines: true,
}).data.slice(0, 60);
const spam2 = join(root, 'spam2.csv'),
  spam3 = join(root, 'spam3.csv');
writeFileSync(spam2, Papa.unparse(spamRows, { columns: ['text', 'label'] }));
// Three labels, so the head is not the config's default size (exercises modules_to_save and --num-labels).
writeFileSync(
  spam3,
  Papa.unparse(
    spamRows.map((r, i) => ({ text: r.text, label: i % 3 === 0 ? 'other' : r.label })),
    { columns: ['text', 'label'] },
  ),
);

const SHORT = ['--steps', '12', '--batch', '2', '--seq', '16', '--backend', 'cpu'];
const GPT2_TEXT = 'Call me Ishmael. Some years ago, never mind how long precisely, the Congress met.';
const BERT_TEXT = 'Win money now! Lose weight and gain muscle, guaranteed.';

// Llama-family fixtures (tests/fixtures/llama) in temporary folders with a tiny byte-level tokenizer.
const LLAMA = llamaFolder('llama-gqa'),
  QWEN2 = llamaFolder('qwen2-bias'),
  LLAMA_CLS = llamaFolder('llama-seqcls');
const LLAMA_TEXT = 'Call me Ishmael.';

const RUNS = [
  {
    name: 'gpt2-tiny, dynamic rank (dora)',
    model: 'gpt2-tiny',
    data: sotu,
    text: GPT2_TEXT,
    train: ['--method', 'dora', '--budget', '2', '--prune-interval', '2'],
    logits: [],
  },
  {
    name: 'gpt2-tiny, LoRA r=4',
    model: 'gpt2-tiny',
    data: sotu,
    text: GPT2_TEXT,
    train: ['--method', 'lora', '--rank', '4'],
    logits: [],
  },
  {
    name: 'bert-tiny seq-cls (2 labels), dynamic rank (dora)',
    model: 'bert-tiny',
    data: spam2,
    text: BERT_TEXT,
    train: ['--method', 'dora', '--budget', '2', '--prune-interval', '2'],
    logits: [],
  },
  {
    name: 'bert-tiny seq-cls (3 labels), LoRA r=4',
    model: 'bert-tiny',
    data: spam3,
    text: BERT_TEXT,
    train: ['--method', 'lora', '--rank', '4'],
    logits: ['--num-labels', '3'],
  },
  {
    name: 'llama-gqa (Llama 3 layout), dynamic rank (dora)',
    model: LLAMA,
    data: sotu,
    text: LLAMA_TEXT,
    train: ['--method', 'dora', '--budget', '2', '--prune-interval', '2'],
    logits: [],
  },
  {
    name: 'qwen2-bias, LoRA r=4',
    model: QWEN2,
    data: sotu,
    text: LLAMA_TEXT,
    train: ['--method', 'lora', '--rank', '4'],
    logits: [],
  },
  {
    name: 'llama-seqcls (3 labels), dynamic rank (dora)',
    model: LLAMA_CLS,
    data: spam3,
    text: BERT_TEXT,
    train: ['--method', 'dora', '--budget', '2', '--prune-interval', '2'],
    logits: ['--num-labels', '3'],
  },
];

describe('exported PEFT adapters, checked with PyTorch (tools/peft_check.py)', () => {
  const adapters = new Map<string, string>();

  it.each(RUNS)('$name: PyTorch+PEFT semantics give the same logits as dynrank', async (run) => {
    requireTorch();
    const out = mkdtempSync(join(root, 'run-'));
    await cli(['train', '--model', run.model, '--data', run.data, ...run.train, ...SHORT, '--out', out]);
    adapters.set(run.name, out);
    const cfg = JSON.parse(readFileSync(join(out, 'adapter_config.json'), 'utf8'));
    expect(cfg.use_dora).toBe(false);
    if (run.train.includes('dora')) expect(Object.keys(cfg.rank_pattern).length).toBeGreaterThan(0); // per-module ranks

    const ours = join(out, 'dynrank-logits.json');
    await cli([
      'logits',
      '--model',
      run.model,
      '--text',
      run.text,
      '--adapter',
      out,
      ...run.logits,
      '--backend',
      'cpu',
      '--out',
      ours,
    ]);
    const a = JSON.parse(readFileSync(ours, 'utf8')) as Logits;
    const b = await torchLogits(run.model, out, run.text);
    expect(b.input_ids).toEqual(a.input_ids);
    const diff = maxAbsDiff(a.logits, b.logits);
    const bound = TOL * Math.min(1, maxAbs(b.logits));
    console.info(
      `${run.name}: max |dynrank - torch| = ${diff.toExponential(2)} (bound ${bound.toExponential(2)}, max |logit| ${maxAbs(b.logits).toExponential(2)})`,
    );
    expect(diff, 'max |diff| of the logits').toBeLessThan(TOL);
    expect(diff, 'max |diff| relative to the logits').toBeLessThan(bound);

    // Sensitivity: the same tensors with every alpha doubled (LoRA update x2) must be told apart.
    const twice = mkdtempSync(join(root, 'twice-'));
    copyFileSync(join(out, 'adapter_model.safetensors'), join(twice, 'adapter_model.safetensors'));
    const doubled = Object.fromEntries(Object.entries(cfg.alpha_pattern ?? {}).map(([k, v]) => [k, 2 * (v as number)]));
    writeFileSync(
      join(twice, 'adapter_config.json'),
      JSON.stringify({ ...cfg, lora_alpha: 2 * cfg.lora_alpha, alpha_pattern: doubled }),
    );
    const c = await torchLogits(run.model, twice, run.text);
    expect(maxAbsDiff(a.logits, c.logits), 'the check notices a LoRA update of twice the size').toBeGreaterThan(
      10 * bound,
    );
  });

  it('peft_check.py rejects what PEFT would reject (or mis-load), with a message', async () => {
    requireTorch();
    const src = adapters.get(RUNS[0].name);
    expect(src, 'the gpt2-tiny dora run above produced an adapter').toBeDefined();
    const cfg = JSON.parse(readFileSync(join(src!, 'adapter_config.json'), 'utf8'));
    const first = cfg.target_modules[0] as string;
    const cases: [string, Record<string, unknown>, RegExp][] = [
      ['use_dora', { ...cfg, use_dora: true }, /use_dora/],
      ['peft_type', { ...cfg, peft_type: 'ADALORA' }, /peft_type/],
      ['rank 0', { ...cfg, rank_pattern: { ...cfg.rank_pattern, [first]: 0 } }, /positive integer|r > 0/],
      ['empty targets', { ...cfg, target_modules: [] }, /target_modules is empty/],
      [
        'unknown target',
        { ...cfg, target_modules: [...cfg.target_modules, 'transformer.h.0.attn.c_attnx'] },
        /matches no module/,
      ],
    ];
    // Two at a time (two cores); each run is mostly torch's import.
    for (let i = 0; i < cases.length; i += 2) {
      await Promise.all(
        cases.slice(i, i + 2).map(async ([what, bad, msg]) => {
          const dir = join(root, `bad-${what.replace(/\W+/g, '-')}`);
          mkdirSync(dir, { recursive: true });
          copyFileSync(join(src!, 'adapter_model.safetensors'), join(dir, 'adapter_model.safetensors'));
          writeFileSync(join(dir, 'adapter_config.json'), JSON.stringify(bad));
          const r = await python(['--model', 'gpt2-tiny', '--adapter', dir, '--ids', '1,2,3']);
          expect(r.code, `${what}: exit status`).not.toBe(0);
          expect(r.stderr, what).toMatch(msg);
        }),
      );
    }
    // A target module whose lora_B is missing from the file (PEFT would leave it at zero with a warning).
    const st = parseSafetensors(new Uint8Array(readFileSync(join(src!, 'adapter_model.safetensors'))));
    const dropped = `base_model.model.${first}.lora_B.weight`;
    expect(st.tensors.has(dropped)).toBe(true);
    const kept = [...st.tensors.values()]
      .filter((t) => t.name !== dropped)
      .map((t) => ({ name: t.name, dtype: 'F32' as const, shape: t.shape, data: toFloat32(t) }));
    const noB = join(root, 'bad-missing-lora_B');
    mkdirSync(noB, { recursive: true });
    writeFileSync(join(noB, 'adapter_model.safetensors'), writeSafetensors(kept));
    writeFileSync(join(noB, 'adapter_config.json'), JSON.stringify(cfg));
    const missing = await python(['--model', 'gpt2-tiny', '--adapter', noB, '--ids', '1,2,3']);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/has no tensor .*lora_B/);

    // A rank that disagrees with the tensors (PEFT: size mismatch) is caught too.
    const dir = join(root, 'bad-rank-mismatch');
    mkdirSync(dir, { recursive: true });
    copyFileSync(join(src!, 'adapter_model.safetensors'), join(dir, 'adapter_model.safetensors'));
    writeFileSync(
      join(dir, 'adapter_config.json'),
      JSON.stringify({ ...cfg, rank_pattern: { ...cfg.rank_pattern, [first]: cfg.rank_pattern[first] + 1 } }),
    );
    const r = await python(['--model', 'gpt2-tiny', '--adapter', dir, '--ids', '1,2,3']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/do not fit r=/);
  });
});
