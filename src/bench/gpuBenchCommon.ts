// What the real-GPU benchmark's parts share (src/bench/gpuBench.ts runs them): the rows and report they fill, the
// run's wall-time budget and clock, and small formatting helpers.

import type { GpuBackend } from '../gpu/backend';
import type { KernelTime } from '../gpu/profiler';
import type { KernelTuneReport } from '../tensor/backend';
import type { PlanOptions } from '../train/plan';
import type { F32Peak, StepFlops } from './flops';

/** The whole run's wall-time budget, and the mark past which no further model row or matmul starts. */
export const BUDGET_S = 480;
export const LAST_START_S = 420;

let started = performance.now();
/** Seconds since the run started (restartClock). */
export const elapsedS = () => (performance.now() - started) / 1000;
export const restartClock = () => {
  started = performance.now();
};

export const log = (s: string) => process.stderr.write(`${s}\n`);
export const MiB = 2 ** 20;
export const pct = (tflops: number, peak: F32Peak | null) => (peak ? (100 * tflops) / peak.tflops : null);

export interface GpuBenchOptions {
  /** Tiny shapes and few steps: every section on a CPU driver in seconds, to check the script itself. */
  smoke: boolean;
  /** Names the device in the report and is matched against the peak table (BENCH_DEVICE_NAME); the adapter's device
   * name and description are matched too. */
  deviceName?: string;
  /** Read for BENCH_PEAK_TFLOPS and BENCH_LARGE_TILE (process.env unless given). */
  env?: NodeJS.ProcessEnv;
}

/** What the sections read: the options resolved against the adapter. */
export interface Resolved {
  smoke: boolean;
  peak: F32Peak | null;
  /** The smoke run's one device, shared by every row (SwiftShader compiles each pipeline per device, seconds each);
   * null: a fresh device per model row. */
  shared: GpuBackend | null;
}

export interface SectionStatus {
  name: string;
  seconds: number;
  /** Why the section did not run ("skipped: adapter lacks shader-f16"). */
  skipped?: string;
  /** Rows that failed or were left out, with the reason. */
  notes: string[];
}

/** The split-K contender: 'auto''s split count times this (split K's SPLIT_GROUPS and SPLIT_MIN_K were set on the
 * H200 before vector loads; the LM-head input gradients still ran at 8-9% of peak with 4-6 splits). */
export const MORE_SPLITS = 4;

export interface MatmulRow extends MatmulShape {
  /** With 'auto' tiling (what the steps use). */
  msPerOp: number;
  tflops: number;
  percentOfPeak: number | null;
  /** The same matmul on 128x128 tiles (8x8 per invocation), which 'auto' does not take yet; null when not run. */
  tflops128: number | null;
  /** 'auto' without swizzled staging (setMatmulSwizzle(false)); null when not run. */
  tflopsUnswizzled?: number | null;
  /** 'auto' with no staging row padded, and with both operands' padded (setMatmulStagingPad); null when not run. */
  tflopsPadNone?: number | null;
  tflopsPadBoth?: number | null;
  /** Split K under 'auto' (1: none), and 'auto' with split K off, and with MORE_SPLITS times the splits, where it
   * splits (else null). */
  splits?: number;
  tflopsNoSplit?: number | null;
  tflopsMoreSplits?: number | null;
  /** 'auto' with element loads (setMatmulVectorLoads(false)), with prefetch (setMatmulPrefetch; two staging buffers
   * where they fit), with prefetch in one staging buffer (setMatmulDoubleBuffer(false)), and 128x128 tiles with
   * prefetch; null when not run. */
  tflopsElementLoads?: number | null;
  tflopsPrefetch?: number | null;
  tflopsPrefetchOneBuffer?: number | null;
  tflopsPrefetch128?: number | null;
  /** ms per op of the 'auto' kernel's products alone and of its loads, stagings and barriers alone
   * (setMatmulPhases); absent when not run. */
  msProductsOnly?: number;
  msMemoryOnly?: number;
}

export interface F16MatmulRow extends Omit<MatmulShape, 'transB'> {
  /** Sampled error of the f32 arithmetic on f16-stored b, and of the shader-f16 arithmetic (float64 reference). */
  errF32Path: number;
  errF16Path: number;
  /** max |f16 path - f32 path| / max |f32 path| over every output. */
  errVsF32Path: number;
  check: 'ok' | 'MISMATCH';
  msF32Weights: number | null;
  msF16Weights: number | null;
  msF16Arithmetic: number | null;
}

export interface StepRow {
  model: string;
  method: string;
  /** Frozen base weights' storage and the matmul arithmetic on them. */
  weights: 'f32' | 'f16';
  arithmetic: 'f32' | 'f16';
  /** The largest matmul tile 'auto' took (setMatmulLargeTile). */
  largeTile: 64 | 128;
  B: number;
  T: number;
  options: PlanOptions;
  trainable: number;
  /** Timed steps: synced (median taken) and pipelined (mean). */
  steps: { synced: number; pipelined: number };
  msSynced: number;
  msPipelined: number;
  tokensPerSecond: number;
  flops: StepFlops;
  tflops: number;
  percentOfPeak: number | null;
  /** The f32 row's pipelined ms / this row's (same model, same step; 64-wide tiles); null on that row. */
  speedupVsF32: number | null;
  firstLoss: number;
  /** Counters of the first synced step (its loss readback included). */
  dispatches: number;
  submissions: number;
  readbacks: number;
  /** GPU buffers created over all timed steps, after the warm-up (0 when a step reuses its buffers). */
  buffersAfterWarmup: number;
  peakMiB: number;
  estimateMiB: number;
  profile: KernelTime[] | null;
  /** Set when the row's first loss is off its f32 row's: the f16 path computes something else. */
  mismatch?: string;
  /** The row's kernel tuning, when it tuned (after its first warm-up step). */
  tuning?: StepTuning;
  /** The attention kernels the step took: batched matmuls, or one workgroup (CPU: one invocation) per row. */
  attention: 'row' | 'matmul';
  /** The attention setting of the row: 'row' on the row that forces the per-row kernels. */
  attentionSetting: 'auto' | 'row' | 'matmul';
  /** The row's kernels differ from its model's f32 row (StepSpec.kernelVariant). */
  kernelVariant?: KernelVariant;
}

/** A step row's kernels other than the default, each timed against its model's f32 row: 'plain' the matmul as before
 * this kernel work (no split K, unpadded staging rows, element loads, no prefetch); 'prefetch' with the next K
 * tile's loads issued early; 'unsplit adapter' the adapter reductions with one slice of the reduced dimension;
 * 'unfused adapter' the adapter backward's four passes in four dispatches rather than two. */
export type KernelVariant = 'plain' | 'prefetch' | 'unsplit adapter' | 'unfused adapter';

/** How the report names a variant: in the weights column, and in the speed-up column (the row's speed-up over its
 * model's f32 row). */
export const KERNEL_VARIANTS: Record<KernelVariant, { note: string; speedup: string }> = {
  plain: {
    note: 'no split K, unpadded staging, element loads',
    speedup: 'without vs with split K, padding and vector loads',
  },
  prefetch: { note: 'prefetch', speedup: 'prefetch vs not' },
  'unsplit adapter': { note: 'adapter reductions unsplit', speedup: 'one vs four slices of adapter reductions' },
  'unfused adapter': {
    note: 'adapter backward unfused',
    speedup: 'four vs two dispatches per adapter backward',
  },
};

/** A tuned row's tuning: tuneMatmuls' report (shapes largest first), its one-line summary and its time budget. */
export interface StepTuning extends KernelTuneReport {
  summary: string;
  budgetMs: number;
}

export interface GpuBenchReport {
  date: string;
  smoke: boolean;
  adapter: Record<string, unknown>;
  deviceName: string;
  shaderF16: boolean;
  timestampQuery: boolean;
  /** Dawn rounds timestamps down to multiples of 65.536 us unless its timestamp_quantization toggle is off
   * (DYNRANK_DAWN_FLAGS=disable-dawn-features=timestamp_quantization, which the device kit's run.sh sets). */
  timestampsExact: boolean;
  peak: F32Peak | null;
  budgetSeconds: number;
  wallSeconds: number;
  sections: SectionStatus[];
  /** The largest tile matmul's 'auto' took in the steps (BENCH_LARGE_TILE). */
  largeTile: 64 | 128;
  matmul: MatmulRow[];
  shaderF16Matmul: F16MatmulRow[];
  steps: StepRow[];
  dynrank: StepRow[];
  /** The f32 LoRA steps again at four times the batch ('auto' tiles, then tuned): how much of the % of peak is the
   * step's size rather than the kernels. */
  moreTokens: StepRow[];
  /** Failures and mismatches, also printed: a non-empty list makes the script exit 1. */
  problems: string[];
}

export interface MatmulShape {
  model: string;
  layer: string;
  M: number;
  K: number;
  N: number;
  transB: boolean;
}

export interface ModelSpec {
  name: string;
  raw: Record<string, unknown>;
  targets: string[];
  B: number;
  T: number;
}
