// Kernel tuning on the device that runs the training: which matmul kernel is fastest depends on the GPU (its shared
// memory, register file and occupancy), and one fixed rule cannot be right for an H200, an integrated GPU and a phone.
// The first training step is recorded with its matmul shapes noted; then each shape is timed with every candidate
// kernel (each tile size, and the 64 and 128 tiles with prefetch), in turns (rounds rotate the order, the median per
// kernel decides), on the step's own operands (read only) into one scratch output, and 'auto' tiling uses the winner
// for that shape from then on. The rule's kernel stays unless another is more than `margin` faster, so noise alone
// does not change a choice. Kernels differ only in how the work is split and scheduled: every one accumulates each
// output over k in the same order, so a choice does not change what a step computes.
// CPU-emulated adapters run the flat kernel compiled per shape (matmul.ts), so there is nothing to tune.

import type { KernelTuneOptions, KernelTuneReport, TunedKernel } from '../tensor/backend';
import type { GpuContext } from './context';
import { replayMatmul } from './kernels/matmul';
import {
  matmulKernelFor,
  matmulKernelName,
  type NotedMatmul,
  noteMatmuls,
  setTunedKernel,
  type TiledKernel,
  takeNotedMatmuls,
  tileFits,
  tunedMatmulKernels,
} from './kernels/matmulTuned';

const DEFAULTS = { budgetMs: 3000, rounds: 3, targetMs: 2, margin: 0.03, maxOps: 64 } as const;
/** Every tile; prefetch where a workgroup's registers allow it to matter (the 32 tile has 4 loads per operand). */
const CANDIDATES: readonly TiledKernel[] = [
  { tile: 32, prefetch: false },
  { tile: 64, prefetch: false },
  { tile: 128, prefetch: false },
  { tile: 64, prefetch: true },
  { tile: 128, prefetch: true },
];

/** Times one submission (for tests: a fake clock around the real work). Returns milliseconds. */
type MeasureSubmission = (run: () => Promise<number>, shape: NotedMatmul, kernel: TiledKernel) => Promise<number>;

export interface MatmulTuneOptions extends KernelTuneOptions {
  /** Kernels timed per shape (default: 32, 64 and 128, and 64 and 128 with prefetch). */
  candidates?: readonly TiledKernel[];
  /** Submissions of each tile per shape, in rotating order; the median decides (default 3). */
  rounds?: number;
  /** Wall-clock milliseconds one timed submission aims at: ops per submission are sized from a trial (default 2). */
  targetMs?: number;
  /** How much faster (fraction) another kernel must be than the rule's to replace it (default 0.03). */
  margin?: number;
  measure?: MeasureSubmission;
}

/** Starts noting the matmul shapes of the work recorded from now on (the step to tune). */
export function noteKernels(ctx: GpuContext): void {
  if (!ctx.barrierFree) noteMatmuls(ctx);
}

/** The kernel to use given each candidate's median ms per op: the fastest, unless the rule's is within `margin`. */
export function pickKernel<K>(medians: ReadonlyMap<K, number>, rule: K, margin: number): K {
  let best: K | null = null;
  for (const [tile, ms] of medians) if (best === null || ms < medians.get(best)!) best = tile;
  if (best === null) return rule;
  const ruleMs = medians.get(rule);
  return ruleMs !== undefined && ruleMs <= medians.get(best)! * (1 + margin) ? rule : best;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const flopsOf = (m: NotedMatmul) => 2 * (m.p.batch ?? 1) * m.p.M * m.p.K * m.p.N;

/**
 * Times every shape noted since noteKernels with each candidate tile and makes 'auto' use the fastest per shape on
 * this device. Largest shapes first; once budgetMs has passed, the remaining shapes keep the rule (`untimed`).
 * Writes into one scratch output per shape: a free pooled buffer that is large enough, else a new one destroyed after
 * the shape, so tuning leaves the pool as it was; the step's operands are only read.
 */
export async function tuneMatmuls(ctx: GpuContext, opts: MatmulTuneOptions = {}): Promise<KernelTuneReport> {
  // Shapes already tuned on this device (a run resumed on it) keep their kernel.
  const known = tunedMatmulKernels(ctx);
  const noted = takeNotedMatmuls(ctx)
    .filter((m) => !known.has(m.key))
    .sort((x, y) => flopsOf(y) - flopsOf(x));
  const o = { ...DEFAULTS, ...opts };
  const candidates = opts.candidates ?? CANDIDATES;
  const start = performance.now();
  const kernels: TunedKernel[] = [];
  let untimed = 0;
  const idle = () => ctx.device.queue.onSubmittedWorkDone();
  // The recorded step runs first, so it is not timed as the first candidate's work.
  ctx.flush();
  await idle();
  for (const m of noted) {
    const rule = matmulKernelFor(ctx, m.p, m.b.dtype, m.bias !== null);
    const fit = candidates.filter((k) => tileFits(ctx, m.p, k.tile));
    if (rule.tile === 'flat' || fit.length < 2) continue;
    if (performance.now() - start > o.budgetMs) {
      untimed++;
      continue;
    }
    // Candidates by name ("64", "128+prefetch"); the rule's kernel, or the first candidate where it is not one.
    const byName = new Map(fit.map((k) => [matmulKernelName(k), k] as const));
    const names = [...byName.keys()];
    const ruleName = byName.has(matmulKernelName(rule)) ? matmulKernelName(rule) : names[0];
    const out = ctx.scratch(m.out, 'matmul tuning output');
    const run = async (name: string, ops: number): Promise<number> => {
      const t0 = performance.now();
      for (let i = 0; i < ops; i++) replayMatmul(ctx, m, out, byName.get(name)!);
      ctx.flush();
      await idle();
      return performance.now() - t0;
    };
    // Warm-up: compiles each kernel's pipeline and bind group; the rule's is then timed alone to size the rounds.
    for (const n of names) await run(n, 1);
    const trial = await run(ruleName, 1);
    const ops = Math.min(o.maxOps, Math.max(1, Math.ceil(o.targetMs / Math.max(trial, 1e-3))));
    const times = new Map<string, number[]>(names.map((n) => [n, []]));
    for (let r = 0; r < o.rounds; r++) {
      for (let i = 0; i < names.length; i++) {
        const name = names[(i + r) % names.length];
        const ms = o.measure ? await o.measure(() => run(name, ops), m, byName.get(name)!) : await run(name, ops);
        times.get(name)!.push(ms / ops);
      }
    }
    ctx.dropScratch(out);
    const medians = new Map([...times].map(([n, xs]) => [n, median(xs)] as const));
    const chosen = pickKernel(medians, ruleName, o.margin);
    setTunedKernel(ctx, m.key, byName.get(chosen)!);
    kernels.push({
      kernel: 'matmul',
      shape: m.key,
      flops: flopsOf(m),
      calls: m.calls,
      rule: ruleName,
      chosen,
      msPerOp: Object.fromEntries(medians),
    });
  }
  // Any validation error of the timed work surfaces here, typed, like a step's.
  await ctx.sync();
  return { ms: performance.now() - start, kernels, untimed };
}
