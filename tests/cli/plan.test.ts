// `dynrank plan`: the memory plan from config.json and the safetensors header only, on the bundled demo models and the
// Llama-family fixtures, including a refusal whose suggested settings fit when tried.

import { copyFileSync, existsSync, mkdtempSync, openSync, readFileSync, readSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { readModelFiles } from '../../src/models/load';
import { resolveModelArg } from '../../src/models/node';
import { estimateMemory } from '../../src/train/memory';
import { runCli as run } from '../helpers/cli';

afterEach(() => vi.restoreAllMocks());

const FIXTURES = join(__dirname, '../fixtures/llama');

/** A copy of a model folder whose model.safetensors ends right after its header: no tensor data at all. */
function headerOnlyCopy(dir: string): string {
  const out = mkdtempSync(join(tmpdir(), 'dynrank-plan-'));
  copyFileSync(join(dir, 'config.json'), join(out, 'config.json'));
  const fd = openSync(join(dir, 'model.safetensors'), 'r');
  const prefix = Buffer.alloc(8);
  readSync(fd, prefix, 0, 8, 0);
  const n = Number(prefix.readBigUInt64LE(0));
  const head = Buffer.alloc(8 + n);
  readSync(fd, head, 0, 8 + n, 0);
  writeFileSync(join(out, 'model.safetensors'), head);
  return out;
}

describe('dynrank plan', () => {
  it('prints the chosen options and the estimate of the loaded model (gpt2-tiny)', async () => {
    const r = await run(['plan', '--model', 'gpt2-tiny', '--method', 'lora', '--batch', '4', '--seq', '32', '--json']);
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.fits).toBe(true);
    expect(j.options).toEqual({ weightPrecision: 'f32', recompute: 'none', microBatch: 4 });
    expect(j.budgetBytes).toBe(4 * 2 ** 30);
    const src = resolveModelArg('gpt2-tiny');
    const { CpuBackend } = await import('../../src/tensor/cpu');
    const { instantiate } = await import('../../src/models/load');
    const { config, tokenizer, weights } = await readModelFiles(src);
    const model = instantiate(new CpuBackend(), config, tokenizer, weights, src.name);
    const want = estimateMemory(model, {
      method: 'lora',
      batch: 4,
      seq: 32,
      budget: 2,
      rank: 8,
      dropout: 0.1,
      targets: j.targets,
    });
    expect(j.estimate).toEqual(want);
    expect(j.estimate.total).toBe(
      j.estimate.weights + j.estimate.activations + j.estimate.adapterAndOptimizer + j.estimate.engine,
    );
  });

  it('reads only the header: a model.safetensors cut after its header plans the same (Qwen3 fixture)', async () => {
    const args = ['--method', 'dora', '--batch', '2', '--seq', '16', '--json'];
    const full = await run(['plan', '--model', join(FIXTURES, 'qwen3-headdim'), ...args]);
    expect(full.code, full.err).toBe(0);
    const cut = await run(['plan', '--model', headerOnlyCopy(join(FIXTURES, 'qwen3-headdim')), ...args]);
    expect(cut.code, cut.err).toBe(0);
    const a = JSON.parse(full.out),
      b = JSON.parse(cut.out);
    expect(b.estimate).toEqual(a.estimate);
    expect(b.modelType).toBe('qwen3');
    expect(b.targets).toHaveLength(7);
  });

  it('steps down to f16 weights, recompute and micro-batches as --memory-gib shrinks', async () => {
    const plan = async (gib: string) =>
      JSON.parse(
        (await run(['plan', '--model', 'llama-demo', '--batch', '8', '--seq', '64', '--memory-gib', gib, '--json']))
          .out,
      );
    const roomy = await plan('1');
    expect(roomy.options).toEqual({ weightPrecision: 'f32', recompute: 'none', microBatch: 8 });
    const tight = await plan(String((roomy.estimate.total - 1) / 2 ** 30));
    expect(tight.options.weightPrecision).toBe('f16');
    const tighter = await plan('0.006');
    expect(tighter.options).toMatchObject({ weightPrecision: 'f16', recompute: 'blocks' });
    expect(tighter.options.microBatch).toBeLessThan(8);
    expect(tighter.estimate.total).toBeLessThanOrEqual(tighter.budgetBytes);
  });

  it('refuses a run that fits nowhere, naming a --seq that does fit (exit 1, before any allocation)', async () => {
    const base = ['plan', '--model', 'llama-demo', '--batch', '8', '--seq', '64', '--memory-gib', '0.004'];
    const r = await run([...base, '--json']);
    expect(r.code).toBe(1);
    const j = JSON.parse(r.out);
    expect(j.fits).toBe(false);
    expect(j.fix.seq).toBeGreaterThan(1);
    expect(j.fix.seq).toBeLessThan(64);
    expect(j.error).toContain(`--seq ${j.fix.seq}`);
    const ok = await run([...base.slice(0, 6), String(j.fix.seq), '--memory-gib', '0.004', '--json']);
    expect(ok.code, ok.err).toBe(0);
    // Without --json the message goes to stderr with the error's name.
    const plain = await run(base);
    expect(plain.code).toBe(1);
    expect(plain.err).toMatch(/PlanError: the run does not fit the memory budget of 4\.1 MiB/);
  });

  it('rejects a micro-batch that does not divide the batch, and an unknown target', async () => {
    const r = await run(['plan', '--model', 'gpt2-tiny', '--batch', '8', '--micro-batch', '3']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--micro-batch 3 must divide --batch 8/);
    const t = await run(['plan', '--model', 'gpt2-tiny', '--target', 'self_attn.q_proj']);
    expect(t.code).toBe(1);
    expect(t.err).toMatch(/TargetError: .*attn\.c_attn/);
  });
});

describe('dynrank train applies the memory plan', () => {
  const data = join(mkdtempSync(join(tmpdir(), 'dynrank-data-')), 'sotu-head.txt');
  writeFileSync(data, readFileSync('public/datasets/sotu.txt', 'utf8').slice(0, 8_000));
  const common = ['--model', 'gpt2-tiny', '--data', data, '--method', 'lora', '--steps', '2', '--batch', '4'];
  const train = (out: string, ...extra: string[]) =>
    run(['train', ...common, '--seq', '16', '--log-every', '1', '--out', out, ...extra]);
  const planJson = async () =>
    JSON.parse(
      (await run(['plan', '--model', 'gpt2-tiny', '--method', 'lora', '--batch', '4', '--seq', '16', '--json'])).out,
    );
  const written = (out: string) => JSON.parse(readFileSync(join(out, 'dynrank.json'), 'utf8'));

  it('records the estimate (CPU backend: no GPU peak) and leaves a run that fits as configured', async () => {
    const out = mkdtempSync(join(tmpdir(), 'dynrank-plan-cpu-'));
    const r = await train(out, '--backend', 'cpu');
    expect(r.code, r.err).toBe(0);
    const j = written(out);
    const p = await planJson();
    expect(j.memory.estimateBytes).toBe(p.estimate.total);
    expect(j.memory.plan).toEqual({ weightPrecision: 'f32', recompute: 'none', microBatch: 4 });
    expect(j.memory.peakBytes).toBeUndefined();
    expect(j.config.weightPrecision).toBeUndefined();
    expect(j.config.microBatch).toBeUndefined();
  });

  it('chooses f16 weights under a budget the f32 run exceeds and saves the choice with the run', async () => {
    const p = await planJson();
    const gib = String((p.estimate.total - 1) / 2 ** 30);
    const out = mkdtempSync(join(tmpdir(), 'dynrank-plan-f16-'));
    const r = await train(out, '--backend', 'cpu', '--memory-gib', gib);
    expect(r.code, r.err).toBe(0);
    const j = written(out);
    expect(j.memory.plan.weightPrecision).toBe('f16');
    expect(j.config.weightPrecision).toBe('f16');
    expect(j.config.memoryBudgetGiB).toBe(Number(gib));
  });

  it('refuses before loading the model when nothing fits, naming a --seq that fits', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'dynrank-plan-no-')), 'run');
    const r = await train(out, '--backend', 'cpu', '--memory-gib', '0.0005');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/PlanError: the run does not fit the memory budget of 0\.5 MiB/);
    expect(existsSync(out)).toBe(false);
  });

  it('records the peak of live GPU bytes beside the estimate (WebGPU)', async () => {
    const out = mkdtempSync(join(tmpdir(), 'dynrank-plan-gpu-'));
    const r = await train(out, '--backend', 'webgpu');
    expect(r.code, r.err).toBe(0);
    const { memory } = written(out);
    process.stderr.write(`gpt2-tiny lora B=4 T=16: peak ${memory.peakBytes} estimate ${memory.estimateBytes}\n`);
    expect(memory.peakBytes).toBeGreaterThan(0);
    // The memory plan aims at 10%: buffer sizes are deterministic, so the ratio is too.
    expect(memory.peakBytes / memory.estimateBytes).toBeGreaterThan(0.9);
    expect(memory.peakBytes / memory.estimateBytes).toBeLessThan(1.1);
  }, 300_000);
});
