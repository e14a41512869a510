// `dynrank plan`: the memory plan from config.json and the safetensors header only, on the bundled demo models and the
// Llama-family fixtures, including a refusal whose suggested settings fit when tried.

import { copyFileSync, mkdtempSync, openSync, readSync, writeFileSync } from 'node:fs';
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
    expect(j.options).toEqual({ weightPrecision: 'f32', recompute: false, microBatch: 4 });
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
    expect(j.estimate.total).toBe(j.estimate.weights + j.estimate.activations + j.estimate.adapterAndOptimizer);
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
    expect(roomy.options).toEqual({ weightPrecision: 'f32', recompute: false, microBatch: 8 });
    const tight = await plan(String((roomy.estimate.total - 1) / 2 ** 30));
    expect(tight.options.weightPrecision).toBe('f16');
    const tighter = await plan('0.006');
    expect(tighter.options).toMatchObject({ weightPrecision: 'f16', recompute: true });
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
