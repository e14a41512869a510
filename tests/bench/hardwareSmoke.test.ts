// `npm run bench:gpu -- --smoke` on SwiftShader, and on Mesa's lavapipe, which has shader-f16: the real-GPU script
// (src/bench/hardware.ts) runs every section at tiny shapes and writes its markdown + JSON report, so a session lent a
// GPU knows the script works, f16 sections included, before it runs it.
// Asserts the report's structure and that every section produced numbers; never a time.

import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SWIFTSHADER_ICD } from '../../scripts/provision.mjs';
import { largeTileFrom } from '../../src/bench/gpuBench';
import type { GpuBenchReport } from '../../src/bench/gpuBenchCommon';
import { lavapipeProcessEnv } from '../helpers/gpu';

const out = mkdtempSync(join(tmpdir(), 'dynrank-bench-smoke-'));
const xdg = join(tmpdir(), 'xdg');
mkdirSync(xdg, { recursive: true, mode: 0o700 });

afterAll(() => rmSync(out, { recursive: true, force: true }));

const positive = (x: unknown) => typeof x === 'number' && Number.isFinite(x) && x > 0;

// The benchmark child's own limit, and each smoke test's above it, so that a slow machine (CI runs many test files on
// 2 cores; the lavapipe smoke, compiling every kernel variant, took 186 s there before the 'unfused adapter' rows and
// the 4x-tokens section) ends in the child's error, not in vitest's default 120 s.
const CHILD_TIMEOUT_MS = 360_000;
const SMOKE = { timeout: 420_000 };

/** Runs the smoke benchmark in its own process on the named drivers; returns its report, markdown and stdout. */
function smoke(name: string, vulkan: Record<string, string>) {
  const dir = join(out, name);
  mkdirSync(dir);
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', '--import', './bin/register-raw.mjs', 'src/bench/hardware.ts', '--smoke', dir],
    {
      encoding: 'utf8',
      env: {
        ...process.env,
        XDG_RUNTIME_DIR: xdg,
        DYNRANK_VULKAN: '',
        DYNRANK_DAWN_FLAGS: '',
        BENCH_LARGE_TILE: '',
        BENCH_DEVICE_NAME: name,
        BENCH_PEAK_TFLOPS: '0.05',
        ...vulkan,
      },
      timeout: CHILD_TIMEOUT_MS,
    },
  );
  expect(r.status, r.stderr).toBe(0);
  const files = readdirSync(dir).sort();
  expect(files).toEqual([
    expect.stringMatching(new RegExp(`-${name}-issue14-smoke\\.json$`)),
    expect.stringMatching(/\.md$/),
  ]);
  const report = JSON.parse(readFileSync(join(dir, files[0]), 'utf8')) as GpuBenchReport;
  const md = readFileSync(join(dir, files[1]), 'utf8');
  expect(r.stdout.trim()).toBe(md.trim());
  return { report, md };
}

/** Each LoRA model's tuned row: its tuning's summary line and table in the markdown, shapes largest first, and within
 * the default budget at least the largest shape timed with every tile (on SwiftShader, seconds per tile's pipeline,
 * most of the rest go untimed); the forward's and backward's shapes counted either way. */
function expectTuning(report: GpuBenchReport, md: string) {
  const tuned = report.steps.filter((s) => s.tuning);
  expect(tuned.map((s) => s.model)).toEqual(['GPT-2 small', 'SmolLM2-135M']);
  for (const s of tuned) {
    const t = s.tuning!;
    expect(t.summary).toMatch(
      /^tuning took \d+ ms; \d+ of \d+ timed shapes changed from the rule; \d+ untimed; timed shapes' matmul ms\/step [\d.]+ on the rule's tiles, [\d.]+ on the chosen$/,
    );
    expect(t.budgetMs).toBe(1000);
    expect(md).toContain(`${s.model} ${s.method}, ${s.B}×${s.T} (1.0 s budget): ${t.summary}.`);
    expect(t.kernels.length).toBeGreaterThanOrEqual(1);
    expect(t.kernels.length + t.untimed).toBeGreaterThanOrEqual(6);
    const flops = t.kernels.map((k) => k.flops);
    expect(flops).toEqual([...flops].sort((a, b) => b - a));
    for (const k of t.kernels) {
      expect(Object.keys(k.msPerOp).sort()).toEqual(['128', '128+prefetch', '32', '64', '64+prefetch']);
      expect(Object.values(k.msPerOp).every(positive)).toBe(true);
      expect(['32', '64', '128', '64+prefetch', '128+prefetch']).toContain(k.chosen);
    }
    expect(positive(s.speedupVsF32)).toBe(true);
  }
  expect(md).toContain(
    '| shape (batch×M×K×N, flags, b) | GFLOP | calls/step | rule | chosen | ms/op 32 | ms/op 64 | ms/op 128 | ' +
      'ms/op 64+prefetch | ms/op 128+prefetch | rule / chosen |',
  );
  expect(md).toMatch(/f32 \/ f32 \(tuned tiles\) .*× \(tuned vs the rule's tiles\)/);
}

describe('bench:gpu --smoke', () => {
  it('runs every section at tiny shapes and reports numbers for each', SMOKE, () => {
    const { report, md } = smoke('smoke', { VK_ICD_FILENAMES: SWIFTSHADER_ICD });

    expect(report.smoke).toBe(true);
    expect(report.problems).toEqual([]);
    expect(report.peak).toEqual({ tflops: 0.05, source: 'BENCH_PEAK_TFLOPS=0.05' });
    expect(positive(report.wallSeconds)).toBe(true);
    expect(report.budgetSeconds).toBe(480);
    expect(report.sections.map((s) => s.name)).toEqual([
      'matmul at model widths',
      'shader-f16 matmul',
      'LoRA steps, f32 vs f16 weights',
      'kernel profile',
      'dynamic rank under the memory plan',
      'dynamic rank, each recompute mode',
      'LoRA steps at 4x the tokens',
    ]);

    // SwiftShader has no shader-f16: the section says so, and no f16-arithmetic step row runs.
    expect(report.shaderF16).toBe(false);
    expect(report.sections[1].skipped).toBe('skipped: adapter lacks shader-f16');
    expect(md).toContain('skipped: adapter lacks shader-f16');
    expect(report.shaderF16Matmul).toEqual([]);
    for (const s of report.sections.filter((s) => s.name !== 'shader-f16 matmul')) expect(s.skipped).toBeUndefined();

    // Matmul at the three models' widths, each with a fraction of the (overridden) peak.
    expect(new Set(report.matmul.map((m) => m.model))).toEqual(new Set(['GPT-2 small', 'SmolLM2-135M', 'Qwen3-0.6B']));
    for (const m of report.matmul)
      expect(
        [
          m.msPerOp,
          m.tflops,
          m.percentOfPeak,
          m.tflops128,
          m.tflopsUnswizzled,
          m.tflopsPadNone,
          m.tflopsPadBoth,
          m.tflopsElementLoads,
          m.tflopsPrefetch,
          m.tflopsPrefetchOneBuffer,
          m.tflopsPrefetch128,
          m.msProductsOnly,
          m.msMemoryOnly,
        ].every(positive),
      ).toBe(true);
    // Where each matmul's time goes: one row per timed shape, the parts beside the whole.
    expect(md).toContain(
      '| model | layer | M×K×N | ms whole | ms products alone | products alone TFLOP/s | % of f32 peak | ' +
        'ms memory alone | (products + memory) / whole |',
    );
    for (const m of report.matmul)
      expect(md).toMatch(
        new RegExp(
          `\\| ${m.model} \\| ${m.layer} \\| ${m.M}×${m.K}×${m.N}[^|]*\\| [\\d.e+-]+ \\| [\\d.e+-]+ \\| [\\d.e+-]+ \\| [\\d.e+-]+ \\| [\\d.e+-]+ \\| [\\d.e+-]+ \\|$`,
          'm',
        ),
      );
    // The smoke's K is too short to split: no split, so no "no split" or "4x splits" timing.
    for (const m of report.matmul) expect([m.splits, m.tflopsNoSplit, m.tflopsMoreSplits]).toEqual([1, null, null]);
    expect(new Set(report.matmul.map((m) => m.layer))).toContain('LM head input gradient');
    expect(md).toContain('TFLOP/s on 128×128 tiles');
    expect(md).toContain(
      '| auto / unswizzled | auto / unpadded | auto / both padded | splits | auto / no split | 4× splits / auto | auto / element loads | ' +
        'prefetch / auto | prefetch: 2 buffers / 1 | 128 prefetch / 128 |',
    );
    for (const what of [
      "128×128 tiles vs 'auto'",
      "vector loads \\('auto'\\) vs element loads",
      "swizzled staging \\('auto'\\) vs unswizzled",
      "prefetch vs 'auto'",
      'prefetch in two staging buffers vs one',
      'prefetch vs not on 128×128 tiles',
    ])
      expect(md).toMatch(
        new RegExp(
          `${what}: more than 5% faster at \\d+ of \\d+ shapes, more than 5% slower at \\d+, median ratio [\\d.]+×`,
        ),
      );
    expect(report.largeTile).toBe(64);

    // LoRA steps: f32 and f16 frozen weights for each model, the f16 row with its speed-up over f32; then 128x128
    // tiles, and the tiles kernel tuning measured (on the GPU kernels' path, which the row takes on SwiftShader too).
    // and the per-row attention kernels forced (the same kernels as 'auto' at the smoke's T = 16); the tuned row
    // also forces attention as batched matmuls, what 'auto' takes on a GPU from T = 64. Last, the matmul without split
    // K, padding and vector loads, the matmul with prefetch, the adapter reductions unsplit (on a GPU; this CPU
    // adapter's layout has one slice anyway), and the adapter backward unfused (this CPU adapter's choice anyway).
    const rows = (model: string) => [
      [model, 'f32', 'f32', 64, false, 'auto', 'row', null],
      [model, 'f16', 'f32', 64, false, 'auto', 'row', null],
      [model, 'f32', 'f32', 128, false, 'auto', 'row', null],
      [model, 'f32', 'f32', 64, true, 'matmul', 'matmul', null],
      [model, 'f32', 'f32', 64, false, 'row', 'row', null],
      [model, 'f32', 'f32', 64, false, 'auto', 'row', 'plain'],
      [model, 'f32', 'f32', 64, false, 'auto', 'row', 'prefetch'],
      [model, 'f32', 'f32', 64, false, 'auto', 'row', 'unsplit adapter'],
      [model, 'f32', 'f32', 64, false, 'auto', 'row', 'unfused adapter'],
    ];
    expect(
      report.steps.map((s) => [
        s.model,
        s.weights,
        s.arithmetic,
        s.largeTile,
        !!s.tuning,
        s.attentionSetting,
        s.attention,
        s.kernelVariant ?? null,
      ]),
    ).toEqual([...rows('GPT-2 small'), ...rows('SmolLM2-135M')]);
    expect(md).toMatch(
      /\(no split K, unpadded staging, element loads\) .*× \(without vs with split K, padding and vector loads\)/,
    );
    expect(md).toMatch(/f32 \/ f32 \(prefetch\) .*× \(prefetch vs not\)/);
    expect(md).toMatch(/\(adapter reductions unsplit\) .*× \(one vs four slices of adapter reductions\)/);
    expect(md).toMatch(/\(adapter backward unfused\) .*× \(four vs two dispatches per adapter backward\)/);
    expect(md).toMatch(/per row \(forced\) .*× \(per-row vs 'auto' attention\)/);
    expect(md).toMatch(/f32 \/ f32 \(128×128 tiles\) .*× \(128×128 vs 64×64 tiles\)/);
    expect(report.sections[2].notes).toContain(
      "tuned rows on the GPU kernels' path (the other rows: this CPU adapter's flat kernel)",
    );
    expectTuning(report, md);
    for (const s of [...report.steps, ...report.dynrank, ...report.moreTokens]) {
      const nums = [s.msPipelined, s.msSynced, s.tokensPerSecond, s.flops.total, s.tflops, s.percentOfPeak];
      expect(nums.every(positive), `${s.model} ${s.weights}`).toBe(true);
      expect([s.flops.matmul, s.flops.attention, s.flops.adapters, s.estimateMiB, s.dispatches].every(positive)).toBe(
        true,
      );
      expect(Number.isFinite(s.firstLoss)).toBe(true);
      expect(s.mismatch).toBeUndefined();
      // A step submits its work and reads its loss back; tuning included, nothing is allocated after the warm-up.
      expect([s.submissions, s.readbacks].every(positive), `${s.model} ${s.weights}`).toBe(true);
      expect(s.buffersAfterWarmup, `${s.model} ${s.weights}`).toBe(0);
    }
    for (const s of report.steps)
      expect(s.speedupVsF32 === null).toBe(
        s.weights === 'f32' && s.largeTile === 64 && !s.tuning && s.attentionSetting !== 'row' && !s.kernelVariant,
      );

    // Where the time goes: every step row profiled, matmuls among the kernels.
    for (const s of report.steps) {
      expect(s.profile?.length).toBeGreaterThan(0);
      expect(s.profile?.some((k) => k.kernel.startsWith('matmul'))).toBe(true);
    }
    expect(md).toMatch(/dispatches timed; by shader: .*matmul/);

    // Dynamic rank under the memory plan: Qwen3-0.6B and SmolLM2-135M shapes, a peak and the plan's estimate each.
    // Then the SmolLM2 step under each recompute mode: the estimate shrinks from none to selective to blocks, and
    // rerunning the attention adds dispatches to the step (blocks, more still).
    expect(report.dynrank.map((s) => [s.model, s.method, s.options.recompute])).toEqual([
      ['Qwen3-0.6B', 'dynamic rank b=8 R0=12 (all 7)', 'blocks'],
      ['SmolLM2-135M', 'dynamic rank b=8 R0=12 (all 7)', 'blocks'],
      ['SmolLM2-135M', 'dynamic rank b=8 R0=12 (all 7)', 'none'],
      ['SmolLM2-135M', 'dynamic rank b=8 R0=12 (all 7)', 'selective'],
      ['SmolLM2-135M', 'dynamic rank b=8 R0=12 (all 7)', 'blocks'],
    ]);
    for (const s of report.dynrank) expect(positive(s.peakMiB)).toBe(true);
    const [none, att, blocks] = report.dynrank.slice(2);
    expect(none.estimateMiB).toBeGreaterThan(att.estimateMiB);
    expect(att.estimateMiB).toBeGreaterThan(blocks.estimateMiB);
    expect(none.dispatches).toBeLessThan(att.dispatches);
    expect(att.dispatches).toBeLessThan(blocks.dispatches);
    expect(md).toContain('f16 weights, selective recompute, micro-batch 2');

    // Each model's f32 LoRA step again at four times its batch (on a GPU tuned too; the smoke ran tuning above); the
    // report sets its % of peak beside the step rows' at the model's batch.
    expect(report.moreTokens.map((s) => [s.model, s.B, s.T, !!s.tuning, s.options.microBatch])).toEqual([
      ['GPT-2 small', 8, 16, false, 8],
      ['SmolLM2-135M', 8, 16, false, 8],
    ]);
    for (const model of ['GPT-2 small', 'SmolLM2-135M'])
      expect(md).toMatch(new RegExp(`${model}: % of f32 peak [\\d.]+% at 2×16, [\\d.]+% at 8×16\\.`));
    expect(md).toMatch(/Wall time [\d.]+ s of the 480 s budget/);
    expect(md).toContain('Peak used for % of peak: 0.05 TFLOP/s float32 (BENCH_PEAK_TFLOPS=0.05)');
  });
  it('on lavapipe (shader-f16): f16 sections run, f16 matmul checks pass, f16-arithmetic rows use it', SMOKE, () => {
    const { report, md } = smoke('smoke-lavapipe', { ...lavapipeProcessEnv(), BENCH_LARGE_TILE: '128' });
    expect(report.largeTile).toBe(128);
    expect(report.shaderF16).toBe(true);
    expect(report.problems).toEqual([]);
    expect(report.sections.every((s) => s.skipped === undefined)).toBe(true);
    expect(report.shaderF16Matmul.length).toBeGreaterThan(0);
    for (const m of report.shaderF16Matmul) {
      expect(m.check).toBe('ok');
      expect(m.errVsF32Path).toBeGreaterThan(0);
    }
    // BENCH_LARGE_TILE=128: every step already takes 128x128 tiles, so no extra 128 row.
    const perModel = [
      'f32/f32/128',
      'f16/f32/128',
      'f16/f16/128',
      'f32/f32/128 tuned',
      'f32/f32/128',
      'f32/f32/128 plain',
      'f32/f32/128 prefetch',
      'f32/f32/128 unsplit adapter',
      'f32/f32/128 unfused adapter',
    ];
    expect(
      report.steps.map(
        (s) =>
          `${s.weights}/${s.arithmetic}/${s.largeTile}${s.tuning ? ' tuned' : ''}${s.kernelVariant ? ` ${s.kernelVariant}` : ''}`,
      ),
    ).toEqual([...perModel, ...perModel]);
    for (const s of report.steps.filter((s) => s.arithmetic === 'f16')) {
      expect(s.profile?.some((k) => /^matmul_f16[.[]/.test(k.kernel))).toBe(true);
      expect(positive(s.speedupVsF32)).toBe(true);
    }
    expectTuning(report, md);
    expect(md).not.toContain('skipped: adapter lacks shader-f16');
  });
  it('BENCH_LARGE_TILE: 64 by default, 128 on request, anything else refused by name', () => {
    expect(largeTileFrom({})).toBe(64);
    expect(largeTileFrom({ BENCH_LARGE_TILE: '128' })).toBe(128);
    expect(() => largeTileFrom({ BENCH_LARGE_TILE: '256' })).toThrow(/BENCH_LARGE_TILE must be 64 or 128, got "256"/);
  });
});
