// One timed training step row of the real-GPU benchmark: warm-up, synced and pipelined timings, FLOPs and % of peak,
// peak memory against the estimate, and a per-kernel profile where the adapter has timestamp queries.

import { GpuBackend } from '../gpu/backend';
import { diffCounters } from '../gpu/counters';
import { setAdapterBackwardFusion, setAdapterReductionSplit } from '../gpu/kernels/adapter';
import { type AttentionPath, attentionPathFor, setAttentionPath } from '../gpu/kernels/attention';
import {
  matmulLargeTile,
  resetMatmulVariants,
  setMatmulF16Arithmetic,
  setMatmulLargeTile,
  setMatmulPrefetch,
  setMatmulSplitK,
  setMatmulStagingPad,
  setMatmulTiling,
  setMatmulVectorLoads,
} from '../gpu/kernels/matmulRules';
import { setTunedKernel, tunedMatmulKernels } from '../gpu/kernels/matmulTuned';
import { createNodeContext } from '../gpu/node';
import type { KernelTime } from '../gpu/profiler';
import { tuneMatmuls } from '../gpu/tune';
import { parseModelConfig } from '../models/arch/index';
import type { KernelTuneReport } from '../tensor/backend';
import type { PlanOptions } from '../train/plan';
import { type HostBatch, taskFor } from '../train/task';
import { DEFAULT_OPTIM, Trainer, type TrainMethod } from '../train/trainer';
import { summarizeTuning } from '../train/tuning';
import { flopShapeOf, stepFlops } from './flops';
import {
  type KernelVariant,
  log,
  MiB,
  type ModelSpec,
  pct,
  type Resolved,
  type StepRow,
  type StepTuning,
} from './gpuBenchCommon';
import { f16Tiling } from './gpuBenchMatmul';
import { rowEstimate, syntheticModel } from './hardwareKit';
import { median } from './matmul';

/** Steps per timed row: warm-up (pipelines compile), synced (loss read back each step), pipelined (back to back).
 * On a GPU the timed counts shrink when the last warm-up step is slow, so a row stays within about ROW_TIMED_MS. */
const STEPS = { real: { warmup: 3, synced: 5, pipelined: 10 }, smoke: { warmup: 1, synced: 1, pipelined: 2 } };
const ROW_TIMED_MS = { synced: 8000, pipelined: 15000 };
/** Tuning's time budget: a training run's (src/gpu/tune.ts' default) on a GPU; the smoke's still times the largest
 * shape and, on a CPU adapter, leaves most of the rest untimed, so the report shows both cases. */
const TUNE_BUDGET_MS = { real: 3000, smoke: 1000 };

export interface StepSpec {
  model: ModelSpec;
  method: TrainMethod;
  options: PlanOptions;
  arithmetic: 'f32' | 'f16';
  /** The largest tile matmul's 'auto' takes in this row (setMatmulLargeTile); the run's (BENCH_LARGE_TILE) unless given. */
  largeTile?: 64 | 128;
  /** The estimate compared with the peak (the plan's); estimateMemory of the row's settings unless given. */
  estimateBytes?: number;
  /** Tune the matmul tiles on this device after the first warm-up step (src/gpu/tune.ts), as a training run does.
   * The smoke run takes the GPU kernels' path for this row on a CPU adapter too (ctx.barrierFree off), so the tuning
   * runs there; outside the smoke, a CPU adapter has nothing to tune. */
  tune?: boolean;
  /** The attention kernels (setAttentionPath): 'auto' (batched matmuls on GPUs from T = 64) unless given. */
  attention?: AttentionPath;
  /** The kernels' variant (KernelVariant): 'plain' sets the matmul's split K off, no staging pads and element loads;
   * 'prefetch' turns the matmul's prefetch on; 'unsplit adapter' gives the adapter reductions one slice; 'unfused
   * adapter' runs the adapter backward's passes in separate dispatches. */
  kernelVariant?: KernelVariant;
}

const sig3 = (x: number) => (x >= 100 ? x.toFixed(0) : x.toPrecision(3));

/** One line on a tuning: its time, how many timed shapes left the rule's tile, how many went untimed (budget spent),
 * and the timed shapes' matmul milliseconds per step (ms per op times calls per step) on the rule's and chosen tiles. */
function tuningSummary(r: KernelTuneReport): string {
  const s = summarizeTuning(r);
  const perStep = s.timed
    ? `; timed shapes' matmul ms/step ${sig3(s.ruleMsPerStep)} on the rule's tiles, ${sig3(s.tunedMsPerStep)} on the chosen`
    : '';
  return (
    `tuning took ${s.ms.toFixed(0)} ms; ${s.changed} of ${s.timed} timed shapes changed from the rule; ` +
    `${s.untimed} untimed${perStep}`
  );
}

export async function runStep(spec: StepSpec, o: Resolved): Promise<StepRow> {
  const { model: m, method, options } = spec;
  const steps = { ...(o.smoke ? STEPS.smoke : STEPS.real) };
  const be = o.shared ?? new GpuBackend(await createNodeContext({ label: `dynrank-bench ${m.name}` }));
  const ctx = be.ctx;
  // The row's peak: the high-water mark above what was live when it started (0 on a fresh device).
  const live0 = ctx.counters.bytesLive;
  const runLargeTile = matmulLargeTile();
  const largeTile = spec.largeTile ?? runLargeTile;
  const barrierFree = ctx.barrierFree;
  ctx.counters.bytesPeak = live0;
  let tuning: StepTuning | null = null;
  try {
    if (spec.tune && o.smoke) ctx.barrierFree = false;
    setAttentionPath(spec.attention ?? 'auto');
    setMatmulTiling(spec.arithmetic === 'f16' ? f16Tiling(ctx) : 'auto');
    setMatmulLargeTile(largeTile);
    setMatmulF16Arithmetic(spec.arithmetic === 'f16');
    if (spec.kernelVariant === 'plain') {
      setMatmulSplitK('off');
      setMatmulStagingPad('none');
      setMatmulVectorLoads(false);
    }
    if (spec.kernelVariant === 'prefetch') setMatmulPrefetch(true);
    if (spec.kernelVariant === 'unsplit adapter') setAdapterReductionSplit('off');
    if (spec.kernelVariant === 'unfused adapter') setAdapterBackwardFusion('off');
    const cfg = parseModelConfig(m.raw);
    const V = cfg.arch.vocabSize;
    const model = syntheticModel(be, cfg, m.name, { weightPrecision: options.weightPrecision });
    const trainer = new Trainer(
      be,
      taskFor(be, model),
      method,
      { ...DEFAULT_OPTIM, lr: 1e-4, totalSteps: 1000, dem: null },
      { microBatch: options.microBatch, recompute: options.recompute },
    );
    const { B, T } = m;
    let s = 5;
    const ids = Int32Array.from({ length: B * T }, () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) % V);
    const targets = Int32Array.from(ids, (_, i) => (i % T === T - 1 ? -100 : ids[i + 1]));
    const batch: HostBatch = { kind: 'lm', B, T, ids, targets };
    let firstLoss = Number.NaN,
      warmMs = 0;
    for (let i = 0; i < steps.warmup; i++) {
      const t0 = performance.now();
      if (spec.tune && i === 0) be.noteKernels();
      trainer.trainStep(batch);
      const l = await trainer.lastLoss();
      warmMs = performance.now() - t0;
      if (i === 0) firstLoss = l;
      if (spec.tune && i === 0) {
        const budgetMs = o.smoke ? TUNE_BUDGET_MS.smoke : TUNE_BUDGET_MS.real;
        const r = await tuneMatmuls(ctx, { budgetMs });
        tuning = { summary: tuningSummary(r), budgetMs, ...r };
        log(`tuned ${m.name}: ${tuning.summary}`);
      }
    }
    if (!o.smoke) {
      steps.synced = Math.max(1, Math.min(steps.synced, Math.floor(ROW_TIMED_MS.synced / warmMs)));
      steps.pipelined = Math.max(2, Math.min(steps.pipelined, Math.floor(ROW_TIMED_MS.pipelined / warmMs)));
    }
    const synced: number[] = [];
    const warm = { ...ctx.counters };
    let first = diffCounters(warm, warm);
    for (let i = 0; i < steps.synced; i++) {
      const c0 = { ...ctx.counters },
        t0 = performance.now();
      trainer.trainStep(batch);
      await trainer.lastLoss();
      synced.push(performance.now() - t0);
      if (i === 0) first = diffCounters(ctx.counters, c0);
    }
    const t0 = performance.now();
    for (let i = 0; i < steps.pipelined; i++) trainer.trainStep(batch);
    const loss = await trainer.lastLoss();
    const msPipelined = (performance.now() - t0) / steps.pipelined;
    const buffersAfterWarmup = diffCounters(ctx.counters, warm).bufferCreations;
    if (!Number.isFinite(loss))
      throw new Error(`${m.name} ${method.method}: loss ${loss} after ${steps.pipelined} steps`);
    let profile: KernelTime[] | null = null;
    if (ctx.device.features.has('timestamp-query')) {
      ctx.startProfile();
      trainer.trainStep(batch);
      profile = await ctx.stopProfile();
    }
    const rank = method.method === 'full' ? undefined : method.adapter.R0;
    const flops = stepFlops(flopShapeOf(cfg, { B, T, targets: method.targets }), { method: 'adapter', rank });
    const tflops = flops.total / (msPipelined / 1000) / 1e12;
    const estimate = spec.estimateBytes ?? rowEstimate(model, { B, T, method }, options).total;
    const row: StepRow = {
      model: m.name,
      method: method.method === 'lora' ? `LoRA r=8 (${method.targets.length} types)` : `dynamic rank b=8 R0=12 (all 7)`,
      weights: options.weightPrecision,
      arithmetic: spec.arithmetic,
      largeTile,
      B,
      T,
      options,
      trainable: trainer.trainableParameters,
      steps: { synced: steps.synced, pipelined: steps.pipelined },
      msSynced: median(synced),
      msPipelined,
      tokensPerSecond: (B * T) / (msPipelined / 1000),
      flops,
      tflops,
      percentOfPeak: pct(tflops, o.peak),
      speedupVsF32: null,
      firstLoss,
      dispatches: first.dispatches,
      submissions: first.submissions,
      readbacks: first.readbacks,
      buffersAfterWarmup,
      peakMiB: (ctx.counters.bytesPeak - live0) / MiB,
      estimateMiB: estimate / MiB,
      profile,
      ...(tuning ? { tuning } : {}),
      attentionSetting: spec.attention ?? 'auto',
      ...(spec.kernelVariant ? { kernelVariant: spec.kernelVariant } : {}),
      attention: attentionPathFor(ctx, { B: options.microBatch || B, T, H: model.arch.dims(model.config).heads }),
    };
    log(
      `step ${row.model} ${row.method} ${row.weights}/${row.arithmetic} ${B}x${T}: ${msPipelined.toFixed(2)} ms, ` +
        `${row.tokensPerSecond.toFixed(0)} tok/s, ${tflops.toFixed(3)} TFLOP/s, peak ${row.peakMiB.toFixed(0)} MiB`,
    );
    return row;
  } finally {
    // Later rows take the fixed rule (and the CPU adapter's own kernels) again.
    for (const key of [...tunedMatmulKernels(ctx).keys()]) setTunedKernel(ctx, key, null);
    ctx.barrierFree = barrierFree;
    setAttentionPath('auto');
    setMatmulF16Arithmetic(false);
    setMatmulTiling('auto');
    setMatmulLargeTile(runLargeTile);
    resetMatmulVariants();
    setAdapterReductionSplit('auto');
    setAdapterBackwardFusion('auto');
    if (!o.shared) ctx.destroy();
  }
}
