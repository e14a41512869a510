// The real-GPU benchmark of issue 14, one script under 8 minutes (npm run bench:gpu): model FLOPs per step, tokens/s
// and the fraction of the chip's float32 peak for GPT-2-small and SmolLM2-135M-shaped LoRA steps; f16 frozen weights
// against f32 on the same step; the shader-f16 matmul (checked against the f32 path before it is timed); where a
// step's GPU time goes, per kernel; matmul throughput at the models' widths; and Qwen3-0.6B / SmolLM2-135M-shaped
// dynamic rank b=8 steps under the memory plan, their peak memory against the plan's estimate.
// Synthetic weights throughout (no network). Every model row runs on a fresh device, as the page runs each job, so the
// counters' high-water mark is that row's peak. `smoke` runs every section at tiny shapes (SwiftShader, seconds).

import { GpuBackend } from '../gpu/backend';
import { diffCounters } from '../gpu/counters';
import { setMatmulF16Arithmetic, setMatmulTiling } from '../gpu/kernels/matmul';
import { createNodeContext } from '../gpu/node';
import type { KernelTime } from '../gpu/profiler';
import { archFor, type ModelConfig, parseModelConfig } from '../models/arch/index';
import { decodeF16, encodeF16 } from '../tensor/half';
import { configShapes } from '../train/memory';
import { type PlanOptions, planMemory } from '../train/plan';
import { type HostBatch, taskFor } from '../train/task';
import { DEFAULT_OPTIM, Trainer, type TrainMethod } from '../train/trainer';
import { type F32Peak, f32Peak, flopShapeOf, type StepFlops, stepFlops } from './flops';
import {
  checkSample,
  dynrank,
  fill,
  GPT2_TARGETS,
  LLAMA_TARGETS,
  lora,
  rowEstimate,
  syntheticModel,
  timeOps,
} from './hardwareKit';
import { SMOLLM2_135M } from './llama';
import { median } from './matmul';
import { QWEN3_06B } from './memoryPlans';

const log = (s: string) => process.stderr.write(`${s}\n`);

/** The whole run's wall-time budget, and the mark past which no further model row or matmul starts. */
const BUDGET_S = 480;
const LAST_START_S = 420;

export interface GpuBenchOptions {
  /** Tiny shapes and few steps: every section on a CPU driver in seconds, to check the script itself. */
  smoke: boolean;
  /** Names the device in the report and is matched against the peak table (BENCH_DEVICE_NAME); the adapter's device
   * name and description are matched too. */
  deviceName?: string;
  /** Read for BENCH_PEAK_TFLOPS (process.env unless given). */
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

interface MatmulRow extends MatmulShape {
  msPerOp: number;
  tflops: number;
  percentOfPeak: number | null;
}

interface F16MatmulRow extends Omit<MatmulShape, 'transB'> {
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

interface StepRow {
  model: string;
  method: string;
  /** Frozen base weights' storage and the matmul arithmetic on them. */
  weights: 'f32' | 'f16';
  arithmetic: 'f32' | 'f16';
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
  /** f32 row's pipelined ms / this row's (same model, same step); null on the f32 row. */
  speedupVsF32: number | null;
  firstLoss: number;
  dispatches: number;
  peakMiB: number;
  estimateMiB: number;
  profile: KernelTime[] | null;
  /** Set when the row's first loss is off its f32 row's: the f16 path computes something else. */
  mismatch?: string;
}

export interface GpuBenchReport {
  date: string;
  smoke: boolean;
  adapter: Record<string, unknown>;
  deviceName: string;
  shaderF16: boolean;
  timestampQuery: boolean;
  peak: F32Peak | null;
  budgetSeconds: number;
  wallSeconds: number;
  sections: SectionStatus[];
  matmul: MatmulRow[];
  shaderF16Matmul: F16MatmulRow[];
  steps: StepRow[];
  dynrank: StepRow[];
  /** Failures and mismatches, also printed: a non-empty list makes the script exit 1. */
  problems: string[];
}

interface ModelSpec {
  name: string;
  raw: Record<string, unknown>;
  targets: string[];
  B: number;
  T: number;
}

function models(smoke: boolean): { gpt2: ModelSpec; smol: ModelSpec; qwen: ModelSpec } {
  const gpt2 = { model_type: 'gpt2', vocab_size: 50257, n_positions: 1024, n_embd: 768, n_layer: 12, n_head: 12 };
  const tiny = { vocab_size: 300, max_position_embeddings: 64, num_hidden_layers: 1 };
  return {
    gpt2: {
      name: 'GPT-2 small',
      raw: smoke ? { ...gpt2, vocab_size: 300, n_positions: 64, n_embd: 32, n_layer: 1, n_head: 2 } : gpt2,
      targets: GPT2_TARGETS,
      B: smoke ? 2 : 8,
      T: smoke ? 16 : 128,
    },
    smol: {
      name: 'SmolLM2-135M',
      raw: smoke
        ? { ...SMOLLM2_135M, ...tiny, hidden_size: 48, intermediate_size: 96, num_attention_heads: 3 }
        : SMOLLM2_135M,
      targets: LLAMA_TARGETS,
      B: smoke ? 2 : 8,
      T: smoke ? 16 : 256,
    },
    qwen: {
      name: 'Qwen3-0.6B',
      raw: smoke
        ? {
            ...QWEN3_06B,
            ...tiny,
            hidden_size: 32,
            intermediate_size: 64,
            num_attention_heads: 2,
            num_key_value_heads: 1,
            head_dim: 32,
          }
        : QWEN3_06B,
      targets: LLAMA_TARGETS,
      B: smoke ? 2 : 4,
      T: smoke ? 16 : 256,
    },
  };
}

/** Steps per timed row: warm-up (pipelines compile), synced (loss read back each step), pipelined (back to back).
 * On a GPU the timed counts shrink when the last warm-up step is slow, so a row stays within about ROW_TIMED_MS. */
const STEPS = { real: { warmup: 3, synced: 5, pipelined: 10 }, smoke: { warmup: 1, synced: 1, pipelined: 2 } };
const ROW_TIMED_MS = { synced: 8000, pipelined: 15000 };

const MiB = 2 ** 20;
const pct = (tflops: number, peak: F32Peak | null) => (peak ? (100 * tflops) / peak.tflops : null);

interface StepSpec {
  model: ModelSpec;
  method: TrainMethod;
  options: PlanOptions;
  arithmetic: 'f32' | 'f16';
  /** The estimate compared with the peak (the plan's); estimateMemory of the row's settings unless given. */
  estimateBytes?: number;
}

async function runStep(spec: StepSpec, o: Resolved): Promise<StepRow> {
  const { model: m, method, options } = spec;
  const steps = { ...(o.smoke ? STEPS.smoke : STEPS.real) };
  const be = o.shared ?? new GpuBackend(await createNodeContext({ label: `dynrank-bench ${m.name}` }));
  const ctx = be.ctx;
  // The row's peak: the high-water mark above what was live when it started (0 on a fresh device).
  const live0 = ctx.counters.bytesLive;
  ctx.counters.bytesPeak = live0;
  try {
    setMatmulTiling('auto');
    setMatmulF16Arithmetic(spec.arithmetic === 'f16');
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
      trainer.trainStep(batch);
      const l = await trainer.lastLoss();
      warmMs = performance.now() - t0;
      if (i === 0) firstLoss = l;
    }
    if (!o.smoke) {
      steps.synced = Math.max(1, Math.min(steps.synced, Math.floor(ROW_TIMED_MS.synced / warmMs)));
      steps.pipelined = Math.max(2, Math.min(steps.pipelined, Math.floor(ROW_TIMED_MS.pipelined / warmMs)));
    }
    const synced: number[] = [];
    let dispatches = 0;
    for (let i = 0; i < steps.synced; i++) {
      const c0 = { ...ctx.counters },
        t0 = performance.now();
      trainer.trainStep(batch);
      if (i === 0) dispatches = diffCounters(ctx.counters, c0).dispatches;
      await trainer.lastLoss();
      synced.push(performance.now() - t0);
    }
    const t0 = performance.now();
    for (let i = 0; i < steps.pipelined; i++) trainer.trainStep(batch);
    const loss = await trainer.lastLoss();
    const msPipelined = (performance.now() - t0) / steps.pipelined;
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
      dispatches,
      peakMiB: (ctx.counters.bytesPeak - live0) / MiB,
      estimateMiB: estimate / MiB,
      profile,
    };
    log(
      `step ${row.model} ${row.method} ${row.weights}/${row.arithmetic} ${B}x${T}: ${msPipelined.toFixed(2)} ms, ` +
        `${row.tokensPerSecond.toFixed(0)} tok/s, ${tflops.toFixed(3)} TFLOP/s, peak ${row.peakMiB.toFixed(0)} MiB`,
    );
    return row;
  } finally {
    setMatmulF16Arithmetic(false);
    if (!o.shared) ctx.destroy();
  }
}

export interface MatmulShape {
  model: string;
  layer: string;
  M: number;
  K: number;
  N: number;
  transB: boolean;
}

/** Each model's linear widths at its step's rows (B*T), and its LM head at up to 1024 rows: b is the weight, as the
 * model multiplies it (nn.Linear weights transposed, GPT-2's Conv1D ones not). */
function modelMatmuls(specs: ModelSpec[]): MatmulShape[] {
  const out: MatmulShape[] = [];
  const seen = new Set<string>();
  for (const m of specs) {
    const cfg: ModelConfig = parseModelConfig(m.raw);
    const arch = archFor(cfg);
    const M = m.B * m.T,
      transB = arch.layout === 'linear';
    const shapes = arch.moduleTypes(cfg).map((t) => ({ layer: t.type, M, K: t.inF, N: t.outF, transB }));
    const { hidden, vocab } = arch.dims(cfg);
    shapes.push({ layer: 'LM head', M: Math.min(M, 1024), K: hidden, N: vocab, transB: true });
    for (const s of shapes) {
      const key = `${s.M}x${s.K}x${s.N}${s.transB}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push({ model: m.name, ...s });
    }
  }
  return out;
}

/** ms per matmul: n issued back to back in one submission, n grown until a timing takes >= minMs, median of 3. */
async function timeMatmul(be: GpuBackend, run: (n: number) => void, minMs: number): Promise<number> {
  return (await timeOps(be, run, { minMs, warmup: 1 })).msPerOp;
}

const fits = (be: GpuBackend, s: MatmulShape) => 4 * Math.max(s.M * s.N, s.M * s.K, s.K * s.N) <= be.ctx.bindingLimit;

async function matmulSection(be: GpuBackend, shapes: MatmulShape[], o: Resolved, st: SectionStatus) {
  const rows: MatmulRow[] = [];
  setMatmulTiling('auto');
  for (const s of shapes) {
    if (!fits(be, s)) {
      st.notes.push(`${s.model} ${s.layer} ${s.M}x${s.K}x${s.N}: an operand exceeds the binding limit, not timed`);
      continue;
    }
    if (elapsedS() > LAST_START_S) {
      st.notes.push(`${s.model} ${s.layer}: skipped, past ${LAST_START_S} s of the ${BUDGET_S} s budget`);
      continue;
    }
    const { M, K, N, transB } = s;
    const ha = fill(M * K, 3, 1),
      hb = fill(K * N, 4, 1);
    const a = be.fromArray(ha, [M, K]),
      b = be.fromArray(hb, transB ? [N, K] : [K, N]),
      c = be.zeros([M, N]);
    const p = { M, K, N, transB };
    try {
      be.matmul(c, a, b, null, p);
      be.flush();
      await checkSample(be, c, ha, hb, { ...p, transA: false });
      const ms = await timeMatmul(
        be,
        (n) => {
          for (let i = 0; i < n; i++) be.matmul(c, a, b, null, p);
        },
        o.smoke ? 2 : 100,
      );
      const tflops = (2 * M * K * N) / (ms / 1000) / 1e12;
      rows.push({ ...s, msPerOp: ms, tflops, percentOfPeak: pct(tflops, o.peak) });
      log(`matmul ${s.model} ${s.layer} ${M}x${K}x${N}: ${ms.toFixed(3)} ms, ${tflops.toFixed(2)} TFLOP/s`);
    } finally {
      for (const t of [a, b, c]) be.dispose(t);
    }
  }
  return rows;
}

/** Sampled error bound of the f16 arithmetic: both operands rounded to f16 (2^-11 relative each), products in f16. */
const F16_TOLERANCE = 5e-3;

/** The shader-f16 matmul on each shape: checked against float64 and the f32 path first, timed only when it agrees
 * (f32 weights, f16 weights with f32 arithmetic, f16 arithmetic). Without the feature both paths are f32 arithmetic. */
export async function shaderF16Section(be: GpuBackend, shapes: MatmulShape[], o: Resolved, st: SectionStatus) {
  const rows: F16MatmulRow[] = [];
  for (const s of shapes) {
    if (!fits(be, s) || elapsedS() > LAST_START_S) {
      st.notes.push(`${s.model} ${s.layer}: not run (binding limit or time budget)`);
      continue;
    }
    const { M, K, N, transB } = s;
    const ha = fill(M * K, 3, 1),
      hb = fill(K * N, 4, 1),
      hb16 = decodeF16(encodeF16(hb));
    const a = be.fromArray(ha, [M, K]),
      b32 = be.fromArray(hb, transB ? [N, K] : [K, N]),
      b16 = be.weight(hb, transB ? [N, K] : [K, N], { precision: 'f16', label: 'f16 weight' }),
      c32 = be.zeros([M, N]),
      c16 = be.zeros([M, N]);
    const p = { M, K, N, transB };
    const check = { ...p, transA: false, label: `${s.model} ${s.layer} matmul` };
    try {
      setMatmulF16Arithmetic(false);
      be.matmul(c32, a, b16, null, p);
      setMatmulF16Arithmetic(true);
      be.matmul(c16, a, b16, null, p);
      be.flush();
      const errF32Path = await checkSample(be, c32, ha, hb16, check);
      // The f16 path is checked with a loose bound first so a wrong kernel is reported with its error, not thrown.
      const errF16Path = await checkSample(be, c16, ha, hb16, { ...check, tolerance: Infinity });
      const [r32, r16] = [(await be.read(c32)) as Float32Array, (await be.read(c16)) as Float32Array];
      let diff = 0,
        max = 0;
      for (let i = 0; i < r32.length; i++) {
        diff = Math.max(diff, Math.abs(r16[i] - r32[i]));
        max = Math.max(max, Math.abs(r32[i]));
      }
      const errVsF32Path = diff / Math.max(max, 1e-30);
      const ok = errF16Path < F16_TOLERANCE && errVsF32Path < F16_TOLERANCE;
      const row: F16MatmulRow = {
        model: s.model,
        layer: s.layer,
        M,
        K,
        N,
        errF32Path,
        errF16Path,
        errVsF32Path,
        check: ok ? 'ok' : 'MISMATCH',
        msF32Weights: null,
        msF16Weights: null,
        msF16Arithmetic: null,
      };
      rows.push(row);
      if (!ok) {
        log(
          `!!! MISMATCH: shader-f16 matmul ${s.model} ${s.layer} ${M}x${K}x${N} disagrees with the f32 path ` +
            `(sampled error ${errF16Path.toExponential(2)}, vs f32 path ${errVsF32Path.toExponential(2)}; ` +
            `tolerance ${F16_TOLERANCE}): not timed !!!`,
        );
        continue;
      }
      const minMs = o.smoke ? 2 : 60;
      const timeWith = (f16: boolean, b: typeof b16) => {
        setMatmulF16Arithmetic(f16);
        return timeMatmul(
          be,
          (n) => {
            for (let i = 0; i < n; i++) be.matmul(c32, a, b, null, p);
          },
          minMs,
        );
      };
      row.msF32Weights = await timeWith(false, b32);
      row.msF16Weights = await timeWith(false, b16);
      row.msF16Arithmetic = await timeWith(true, b16);
      log(
        `shader-f16 matmul ${s.model} ${s.layer} ${M}x${K}x${N}: f32 ${row.msF32Weights.toFixed(3)} ms, ` +
          `f16 weights ${row.msF16Weights.toFixed(3)} ms, f16 arithmetic ${row.msF16Arithmetic.toFixed(3)} ms`,
      );
    } finally {
      setMatmulF16Arithmetic(false);
      for (const t of [a, b32, b16, c32, c16]) be.dispose(t);
    }
  }
  return rows;
}

let started = performance.now();
const elapsedS = () => (performance.now() - started) / 1000;

const F32: PlanOptions = { weightPrecision: 'f32', recompute: false, microBatch: 0 };
const withBatch = (o: PlanOptions, B: number): PlanOptions => ({ ...o, microBatch: o.microBatch || B });

/** Runs every section; failures are recorded in the report (problems), never thrown past a section. */
export async function runGpuBench(opts: GpuBenchOptions): Promise<GpuBenchReport> {
  started = performance.now();
  const ctx = await createNodeContext({ label: 'dynrank-bench matmul' });
  const be = new GpuBackend(ctx);
  const shaderF16 = ctx.shaderF16,
    timestampQuery = ctx.device.features.has('timestamp-query');
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
    peak: o.peak,
    budgetSeconds: BUDGET_S,
    wallSeconds: 0,
    sections: [],
    matmul: [],
    shaderF16Matmul: [],
    steps: [],
    dynrank: [],
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
    for (const m of [M.gpt2, M.smol]) {
      const variants: [PlanOptions, 'f32' | 'f16'][] = [
        [F32, 'f32'],
        [{ ...F32, weightPrecision: 'f16' }, 'f32'],
      ];
      if (f16MatmulOk) variants.push([{ ...F32, weightPrecision: 'f16' }, 'f16']);
      else
        st.notes.push(
          `${m.name} f16 arithmetic: ${shaderF16 ? 'not run: the shader-f16 matmul check failed' : 'skipped: adapter lacks shader-f16'}`,
        );
      let base: StepRow | null = null;
      for (const [opts, arithmetic] of variants) {
        const label = `${m.name} LoRA ${opts.weightPrecision} weights, ${arithmetic} arithmetic`;
        const row = await rowOrSkip(st, label, () =>
          runStep({ model: m, method: lora(m.targets), options: withBatch(opts, m.B), arithmetic }, o),
        );
        if (!row) continue;
        if (opts.weightPrecision === 'f32') base = row;
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
      const run = { method: 'dora', budget: 8, r0: 12, rank: 8, dropout: 0.1, batch: m.B, seq: m.T } as const;
      // The smoke run fixes the plan's leanest options, so the paths a full-size plan may take run at tiny shapes.
      const fixed = o.smoke
        ? { weightPrecision: 'f16' as const, recompute: true, microBatch: Math.max(1, m.B / 2) }
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
  if (o.shared) ctx.destroy();
  report.wallSeconds = elapsedS();
  return report;
}

function table(rows: (string | number)[][]): string {
  return [rows[0], rows[0].map(() => '---'), ...rows.slice(1)].map((r) => `| ${r.join(' | ')} |`).join('\n');
}

/** Three significant digits (whole numbers from 100 up): tiny smoke shapes keep their digits too. */
const sig = (x: number | null) => (x === null ? '–' : Math.abs(x) >= 100 ? x.toFixed(0) : x.toPrecision(3));
const optionsCell = (o: PlanOptions) =>
  `${o.weightPrecision} weights, ${o.recompute ? '' : 'no '}recompute, micro-batch ${o.microBatch}`;

function stepTable(rows: StepRow[], withSpeedup: boolean): string {
  return table([
    [
      'model',
      'method',
      'weights / arithmetic',
      'B×T',
      'options',
      'ms/step (pipelined; synced)',
      'tokens/s',
      'model GFLOP/step',
      'TFLOP/s',
      '% of f32 peak',
      ...(withSpeedup ? ['speed-up vs f32 (goal 1.5×)'] : []),
      'dispatches',
      'peak MiB / estimate = ratio',
    ],
    ...rows.map((r) => [
      r.model,
      r.method,
      `${r.weights} / ${r.arithmetic}`,
      `${r.B}×${r.T}`,
      optionsCell(r.options),
      `${sig(r.msPipelined)}; ${sig(r.msSynced)}`,
      r.tokensPerSecond.toFixed(0),
      sig(r.flops.total / 1e9),
      sig(r.tflops),
      sig(r.percentOfPeak),
      ...(withSpeedup
        ? [
            r.mismatch
              ? `**MISMATCH** (${r.mismatch})`
              : r.speedupVsF32 === null
                ? '–'
                : `${r.speedupVsF32.toFixed(2)}× (${r.speedupVsF32 >= 1.5 ? 'met' : 'not met'})`,
          ]
        : []),
      r.dispatches,
      `${sig(r.peakMiB)} / ${sig(r.estimateMiB)} = ${(r.peakMiB / r.estimateMiB).toFixed(2)}`,
    ]),
  ]);
}

/** Kernels grouped by shader (matmul, attention, …): the share of a step's GPU time each takes. */
function profileTables(rows: StepRow[]): string[] {
  const out: string[] = [];
  for (const r of rows) {
    if (!r.profile) continue;
    const total = r.profile.reduce((a, k) => a + k.ms, 0),
      timed = r.profile.reduce((a, k) => a + k.count, 0);
    const byShader = new Map<string, number>();
    for (const k of r.profile) {
      const s = k.kernel.split('.')[0];
      byShader.set(s, (byShader.get(s) ?? 0) + k.ms);
    }
    const groups = [...byShader].sort((a, b) => b[1] - a[1]);
    out.push(
      `${r.model} ${r.method}, ${r.weights} weights / ${r.arithmetic} arithmetic, ${r.B}×${r.T}: ` +
        `${total.toFixed(1)} ms of GPU time in ${timed} of ${r.dispatches} dispatches timed; by shader: ` +
        groups.map(([s, ms]) => `${s} ${((100 * ms) / total).toFixed(0)}%`).join(', '),
      '',
      table([
        ['kernel', 'dispatches', 'ms', 'share'],
        ...r.profile
          .slice(0, 8)
          .map((k) => [k.kernel, k.count, k.ms.toFixed(2), `${((100 * k.ms) / total).toFixed(1)}%`]),
      ]),
      '',
    );
  }
  return out;
}

export function renderGpuBench(r: GpuBenchReport): string {
  const a = r.adapter as { description?: string };
  const peak = r.peak
    ? `${r.peak.tflops} TFLOP/s float32 (${r.peak.source})`
    : 'unknown for this device: set BENCH_PEAK_TFLOPS to get % of peak';
  return [
    `### dynrank on ${r.deviceName} (${a.description ?? ''}), Node + Dawn over Vulkan${r.smoke ? ' — SMOKE RUN' : ''}`,
    '',
    `Peak used for % of peak: ${peak}. Model FLOPs per step from the shapes (src/bench/flops.ts): 4 per frozen ` +
      'weight and token (forward + input gradient), attention at full T×T, adapters at R0 with every component live.',
    '',
    table([
      ['section', 'wall s', 'status'],
      ...r.sections.map((s) => [
        s.name,
        s.seconds.toFixed(1),
        [s.skipped ?? 'ran', ...s.notes].join('; ').replaceAll('|', '/'),
      ]),
    ]),
    '',
    `Wall time ${r.wallSeconds.toFixed(1)} s of the ${r.budgetSeconds} s budget.`,
    '',
    '#### Matmul at the models’ widths (f32, auto tiling)',
    '',
    table([
      ['model', 'layer', 'M×K×N', 'ms/op', 'TFLOP/s', '% of f32 peak'],
      ...r.matmul.map((m) => [
        m.model,
        m.layer,
        `${m.M}×${m.K}×${m.N}${m.transB ? ' (Bᵀ)' : ''}`,
        sig(m.msPerOp),
        sig(m.tflops),
        sig(m.percentOfPeak),
      ]),
    ]),
    '',
    '#### shader-f16 matmul (checked against the f32 path before timing)',
    '',
    r.shaderF16
      ? table([
          ['model', 'layer', 'M×K×N', 'check (err f16 / vs f32 path)', 'ms f32', 'ms f16 weights', 'ms f16 arithmetic'],
          ...r.shaderF16Matmul.map((m) => [
            m.model,
            m.layer,
            `${m.M}×${m.K}×${m.N}`,
            `${m.check === 'ok' ? 'ok' : '**MISMATCH**'} (${m.errF16Path.toExponential(1)} / ${m.errVsF32Path.toExponential(1)})`,
            sig(m.msF32Weights),
            sig(m.msF16Weights),
            sig(m.msF16Arithmetic),
          ]),
        ])
      : 'skipped: adapter lacks shader-f16',
    '',
    '#### LoRA steps: f32 vs f16 frozen weights',
    '',
    stepTable(r.steps, true),
    '',
    '#### Where the time goes (timestamp queries, one step)',
    '',
    ...(r.timestampQuery ? profileTables([...r.steps, ...r.dynrank]) : ['skipped: adapter lacks timestamp-query', '']),
    '#### Dynamic rank b=8 on all seven module types under the memory plan',
    '',
    ...(r.smoke
      ? ['Smoke run: every row shares one device, so a row reuses pooled buffers and its peak reads low.', '']
      : []),
    stepTable(r.dynrank, false),
    '',
    r.problems.length
      ? `**PROBLEMS (${r.problems.length})**: ${r.problems.map((p) => p.split('\n')[0]).join('; ')}`
      : 'No problems.',
  ].join('\n');
}
