// The real-GPU benchmark of issue 14, one script under 8 minutes (npm run bench:gpu): model FLOPs per step, tokens/s
// and the fraction of the chip's float32 peak for GPT-2-small and SmolLM2-135M-shaped LoRA steps; f16 frozen weights
// against f32 on the same step; the shader-f16 matmul (checked against the f32 path before it is timed); where a
// step's GPU time goes, per kernel; matmul throughput at the models' widths; and Qwen3-0.6B / SmolLM2-135M-shaped
// dynamic rank b=8 steps under the memory plan, their peak memory against the plan's estimate; and the SmolLM2 step at
// T = 512 under each recompute mode (what selective recomputation saves and costs); and the f32 LoRA steps again at
// four times the batch.
// Synthetic weights throughout (no network). Every model row runs on a fresh device, as the page runs each job, so the
// counters' high-water mark is that row's peak. `smoke` runs every section at tiny shapes (SwiftShader, seconds).

import { GpuBackend } from '../gpu/backend';
import { setMatmulLargeTile } from '../gpu/kernels/matmulRules';
import { createNodeContext } from '../gpu/node';
import { parseModelConfig } from '../models/arch/index';
import { RECOMPUTE_MODES } from '../nn/recompute';
import { configShapes, estimateShapes } from '../train/memory';
import { type PlanOptions, planMemory } from '../train/plan';
import { f32Peak } from './flops';
import {
  BUDGET_S,
  elapsedS,
  type GpuBenchOptions,
  type GpuBenchReport,
  KERNEL_VARIANTS,
  type KernelVariant,
  LAST_START_S,
  log,
  type Resolved,
  restartClock,
  type SectionStatus,
  type StepRow,
} from './gpuBenchCommon';
import { matmulSection, shaderF16Section } from './gpuBenchMatmul';
import { modelMatmuls, models } from './gpuBenchModels';
import { runStep } from './gpuBenchStep';
import { dynrank, lora } from './hardwareKit';
import { DORA_B8 } from './llama';

const F32: PlanOptions = { weightPrecision: 'f32', recompute: 'none', microBatch: 0 };
const withBatch = (o: PlanOptions, B: number): PlanOptions => ({ ...o, microBatch: o.microBatch || B });

/** BENCH_LARGE_TILE: 64 (default) or 128, the largest tile matmul's 'auto' takes (setMatmulLargeTile). */
export function largeTileFrom(env: NodeJS.ProcessEnv): 64 | 128 {
  const v = env.BENCH_LARGE_TILE || '64';
  if (v !== '64' && v !== '128') throw new RangeError(`BENCH_LARGE_TILE must be 64 or 128, got "${v}"`);
  return v === '128' ? 128 : 64;
}

/** Runs every section; failures are recorded in the report (problems), never thrown past a section. */
export async function runGpuBench(opts: GpuBenchOptions): Promise<GpuBenchReport> {
  restartClock();
  const largeTile = largeTileFrom(opts.env ?? process.env);
  setMatmulLargeTile(largeTile);
  const ctx = await createNodeContext({ label: 'dynrank-bench matmul' });
  const be = new GpuBackend(ctx);
  const shaderF16 = ctx.shaderF16,
    timestampQuery = ctx.device.features.has('timestamp-query'),
    cpuAdapter = ctx.barrierFree;
  log(`adapter: ${JSON.stringify(ctx.info)}, shader-f16 ${shaderF16}, binding limit ${ctx.bindingLimit}`);
  const deviceName = opts.deviceName || ctx.info.device || `${ctx.info.vendor}-${ctx.info.architecture || 'gpu'}`;
  const o: Resolved = {
    smoke: opts.smoke,
    peak: f32Peak(`${deviceName} ${ctx.info.device ?? ''} ${ctx.info.description}`, opts.env),
    shared: opts.smoke ? be : null,
  };
  log(`peak: ${o.peak ? `${o.peak.tflops} TFLOP/s f32 (${o.peak.source})` : 'unknown'}`);
  const M = models(o.smoke);
  const report: GpuBenchReport = {
    date: new Date().toISOString(),
    smoke: o.smoke,
    adapter: { ...ctx.info },
    deviceName,
    shaderF16,
    timestampQuery,
    timestampsExact: ((opts.env ?? process.env).DYNRANK_DAWN_FLAGS ?? '').includes(
      'disable-dawn-features=timestamp_quantization',
    ),
    peak: o.peak,
    budgetSeconds: BUDGET_S,
    wallSeconds: 0,
    sections: [],
    matmul: [],
    largeTile,
    shaderF16Matmul: [],
    steps: [],
    dynrank: [],
    moreTokens: [],
    problems: [],
  };
  const section = async (name: string, skipped: string | null, body: (st: SectionStatus) => Promise<void>) => {
    const st: SectionStatus = { name, seconds: 0, notes: [] };
    report.sections.push(st);
    const t0 = performance.now();
    if (skipped) st.skipped = skipped;
    else
      try {
        await body(st);
      } catch (e) {
        const msg = `${name}: ${(e as Error).stack ?? e}`;
        st.notes.push(`failed: ${(e as Error).message}`);
        report.problems.push(msg);
        log(`!!! section ${msg}`);
      }
    st.seconds = (performance.now() - t0) / 1000;
    log(`section ${name}: ${st.skipped ?? `${st.seconds.toFixed(1)} s`}`);
  };
  const rowOrSkip = async (st: SectionStatus, label: string, f: () => Promise<StepRow>): Promise<StepRow | null> => {
    if (elapsedS() > LAST_START_S) {
      st.notes.push(`${label}: skipped, past ${LAST_START_S} s of the ${BUDGET_S} s budget`);
      return null;
    }
    try {
      return await f();
    } catch (e) {
      st.notes.push(`${label} failed: ${(e as Error).message}`);
      report.problems.push(`${label}: ${(e as Error).stack ?? e}`);
      log(`!!! ${label} failed: ${(e as Error).stack}`);
      return null;
    }
  };

  const shapes = modelMatmuls([M.gpt2, M.smol, M.qwen]);
  try {
    await section('matmul at model widths', null, async (st) => {
      report.matmul = await matmulSection(be, shapes, o, st);
    });
    await section('shader-f16 matmul', shaderF16 ? null : 'skipped: adapter lacks shader-f16', async (st) => {
      report.shaderF16Matmul = await shaderF16Section(be, shapes, o, st);
      for (const r of report.shaderF16Matmul)
        if (r.check === 'MISMATCH') report.problems.push(`shader-f16 matmul ${r.model} ${r.layer}: MISMATCH`);
    });
  } finally {
    if (!o.shared) ctx.destroy();
  }
  // The f16-arithmetic steps run only where every checked shape agreed with the f32 path and the section did not fail.
  const f16Section = report.sections.find((s) => s.name === 'shader-f16 matmul');
  const f16MatmulOk =
    shaderF16 &&
    report.shaderF16Matmul.length > 0 &&
    report.shaderF16Matmul.every((r) => r.check === 'ok') &&
    !f16Section?.notes.some((n) => n.startsWith('failed'));

  await section('LoRA steps, f32 vs f16 weights', null, async (st) => {
    // A CPU adapter runs the flat matmul kernel, which has no tiles to tune; the smoke tunes the GPU kernels' path.
    if (cpuAdapter)
      st.notes.push(
        o.smoke
          ? "tuned rows on the GPU kernels' path (the other rows: this CPU adapter's flat kernel)"
          : 'tuned rows skipped: a CPU adapter runs the flat matmul kernel',
      );
    for (const m of [M.gpt2, M.smol]) {
      const F16: PlanOptions = { ...F32, weightPrecision: 'f16' };
      // The f32 row first (the speed-ups' base), then f16 weights, f16 arithmetic, the f32 step with 128x128 tiles for
      // large outputs (the contender the rule does not take yet), the f32 step with the tiles kernel tuning measured
      // fastest per shape on this device, and the f32 step with the one-workgroup-per-row attention kernels instead
      // of attention as batched matmuls (what 'auto' takes on GPUs).
      type Variant = {
        opts: PlanOptions;
        arithmetic: 'f32' | 'f16';
        tile?: 128;
        tune?: true;
        rowAttention?: true;
        variant?: KernelVariant;
      };
      const variants: Variant[] = [
        { opts: F32, arithmetic: 'f32' },
        { opts: F16, arithmetic: 'f32' },
      ];
      if (f16MatmulOk) variants.push({ opts: F16, arithmetic: 'f16' });
      else
        st.notes.push(
          `${m.name} f16 arithmetic: ${shaderF16 ? 'not run: the shader-f16 matmul check failed' : 'skipped: adapter lacks shader-f16'}`,
        );
      if (largeTile === 64) variants.push({ opts: F32, arithmetic: 'f32', tile: 128 });
      if (!cpuAdapter || o.smoke) variants.push({ opts: F32, arithmetic: 'f32', tune: true });
      variants.push({ opts: F32, arithmetic: 'f32', rowAttention: true });
      // The f32 step with the matmul as before split K, padded staging and vector loads; with prefetch; and with the
      // adapter reductions in one slice; and with the adapter backward's passes in four dispatches, not two.
      for (const variant of Object.keys(KERNEL_VARIANTS) as KernelVariant[])
        variants.push({ opts: F32, arithmetic: 'f32', variant });
      let base: StepRow | null = null;
      for (const v of variants) {
        const { opts, arithmetic, tile, tune, rowAttention, variant } = v;
        const what = tile
          ? `, ${tile}x${tile} tiles`
          : tune
            ? ', tuned tiles'
            : rowAttention
              ? ', row attention'
              : variant
                ? `, ${KERNEL_VARIANTS[variant].note}`
                : '';
        const label = `${m.name} LoRA ${opts.weightPrecision} weights, ${arithmetic} arithmetic${what}`;
        const row = await rowOrSkip(st, label, () =>
          runStep(
            {
              model: m,
              method: lora(m.targets),
              options: withBatch(opts, m.B),
              arithmetic,
              largeTile: tile,
              tune,
              // The smoke's T is below the matmul path's 64, so its tuned row (on the GPU kernels' path) forces it:
              // the smoke then runs what 'auto' takes on a GPU.
              attention: rowAttention ? 'row' : tune && o.smoke ? 'matmul' : 'auto',
              kernelVariant: variant,
            },
            o,
          ),
        );
        if (!row) continue;
        if (v === variants[0]) base = row;
        else if (base) {
          row.speedupVsF32 = base.msPipelined / row.msPipelined;
          const rel = Math.abs(row.firstLoss - base.firstLoss) / Math.abs(base.firstLoss);
          if (!(rel < 2e-2)) {
            row.mismatch = `first loss ${row.firstLoss.toFixed(4)} vs f32 ${base.firstLoss.toFixed(4)}`;
            report.problems.push(`${label}: MISMATCH, ${row.mismatch}`);
            log(`!!! MISMATCH ${label}: ${row.mismatch}`);
          }
        }
        report.steps.push(row);
      }
    }
  });

  await section('kernel profile', timestampQuery ? null : 'skipped: adapter lacks timestamp-query', async (st) => {
    // The profiles were taken in the step rows (one extra step each); this section only states what is missing.
    for (const r of report.steps) if (!r.profile) st.notes.push(`${r.model} ${r.weights}: no profile`);
    if (!report.steps.some((r) => r.profile)) throw new Error('no step row has a profile');
  });

  await section('dynamic rank under the memory plan', null, async (st) => {
    for (const [m, budgetGiB] of [
      [M.qwen, 3],
      [M.smol, 1],
    ] as const) {
      const shapes = configShapes(parseModelConfig(m.raw));
      const run = { ...DORA_B8, batch: m.B, seq: m.T };
      // The smoke run fixes the plan's leanest options, so the paths a full-size plan may take run at tiny shapes.
      const fixed = o.smoke
        ? { weightPrecision: 'f16' as const, recompute: 'blocks' as const, microBatch: Math.max(1, m.B / 2) }
        : undefined;
      const plan = planMemory({ shapes, run: { ...run, targets: m.targets }, memoryBudgetGiB: budgetGiB, fixed });
      const label = `${m.name} dynamic rank b=8 ${m.B}x${m.T} (plan for ${budgetGiB} GiB)`;
      const row = await rowOrSkip(st, label, () =>
        runStep(
          {
            model: m,
            method: dynrank(m.targets),
            options: plan.options,
            arithmetic: 'f32',
            estimateBytes: plan.estimate.total,
          },
          o,
        ),
      );
      if (row) report.dynrank.push(row);
    }
  });

  await section('dynamic rank, each recompute mode', null, async (st) => {
    // The same step under each recompute mode (src/nn/recompute.ts) where the attention probabilities weigh: SmolLM2 at
    // T = 512 (at 8x512 with f16 weights its probabilities are 2.0 of its 5.9 GiB). What the plan's middle rung saves and
    // costs against no recompute and whole blocks, on one device. The smoke model gets 2 layers, so one block's
    // probabilities are shared.
    const m = o.smoke ? { ...M.smol, raw: { ...M.smol.raw, num_hidden_layers: 2 } } : { ...M.smol, T: 2 * M.smol.T };
    const shapes = configShapes(parseModelConfig(m.raw));
    const run = { ...DORA_B8, batch: m.B, seq: m.T };
    for (const recompute of RECOMPUTE_MODES) {
      const options: PlanOptions = { weightPrecision: 'f16', recompute, microBatch: m.B };
      const estimate = estimateShapes(shapes, { ...run, targets: m.targets, ...options });
      const label = `${m.name} dynamic rank b=8 ${m.B}x${m.T}, recompute ${recompute}`;
      const row = await rowOrSkip(st, label, () =>
        runStep({ model: m, method: dynrank(m.targets), options, arithmetic: 'f32', estimateBytes: estimate.total }, o),
      );
      if (row) report.dynrank.push(row);
    }
  });
  await section('LoRA steps at 4x the tokens', null, async (st) => {
    // The % of peak of a step is its kernels' and its size's: GPT-2 small at 8x128 gives each linear layer 1,024 rows,
    // 192 to 768 64x64 output tiles (1.5 to 6 per SM of a 132-SM H200), and its small kernels' latency weighs. The
    // same f32 LoRA steps at four times the batch, with the rule's tiles and tuned, say how much more the kernels give
    // when the step fills the chip. Last in the run: the budget skips these first.
    for (const base of [M.gpt2, M.smol]) {
      const m = { ...base, B: 4 * base.B };
      for (const tune of [false, true]) {
        // The smoke ran the tuned path in the LoRA section already (the lavapipe smoke nears its time limit in CI).
        if (tune && (cpuAdapter || o.smoke)) continue;
        const label = `${m.name} LoRA f32 at ${m.B}x${m.T}${tune ? ', tuned tiles' : ''}`;
        const row = await rowOrSkip(st, label, () =>
          runStep(
            {
              model: m,
              method: lora(m.targets),
              options: withBatch(F32, m.B),
              arithmetic: 'f32',
              tune,
            },
            o,
          ),
        );
        if (row) report.moreTokens.push(row);
      }
    }
  });
  if (o.shared) ctx.destroy();
  report.wallSeconds = elapsedS();
  setMatmulLargeTile(64);
  return report;
}
