// Kernel tuning on the device that runs the training: which matmul tile is fastest depends on the GPU (its shared
// memory, register file and occupancy), and one fixed rule cannot be right for an H200, an integrated GPU and a phone.
// The first training step is recorded with its matmul shapes noted; then each shape is timed with every tile size, in
// turns (rounds rotate the order, the median per tile decides), on the step's own operands (read only) into one
// scratch output, and 'auto' tiling uses the winner for that shape from then on. The rule's tile stays unless another
// is more than `margin` faster, so noise alone does not change a choice. Tiles differ only in how the work is split:
// every tile accumulates each output over k in the same order, so a choice does not change what a step computes.
// CPU-emulated adapters run the flat kernel compiled per shape (matmul.ts), so there is nothing to tune.

import type { KernelTuneOptions, KernelTuneReport, TunedKernel } from '../tensor/backend';
import type { GpuContext } from './context';
import {
  matmulTileFor,
  type NotedMatmul,
  noteMatmuls,
  replayMatmul,
  setTunedTile,
  type TiledTile,
  takeNotedMatmuls,
  tileFits,
  tunedMatmulTiles,
} from './kernels/matmul';

const DEFAULTS = { budgetMs: 3000, rounds: 3, targetMs: 2, margin: 0.03, maxOps: 64 } as const;
const CANDIDATES: readonly TiledTile[] = [32, 64, 128];

/** Times one submission (for tests: a fake clock around the real work). Returns milliseconds. */
type MeasureSubmission = (run: () => Promise<number>, shape: NotedMatmul, tile: TiledTile) => Promise<number>;

export interface MatmulTuneOptions extends KernelTuneOptions {
  /** Tile sizes timed per shape (default 32, 64 and 128). */
  candidates?: readonly TiledTile[];
  /** Submissions of each tile per shape, in rotating order; the median decides (default 3). */
  rounds?: number;
  /** Wall-clock milliseconds one timed submission aims at: ops per submission are sized from a trial (default 2). */
  targetMs?: number;
  /** How much faster (fraction) another tile must be than the rule's to replace it (default 0.03). */
  margin?: number;
  measure?: MeasureSubmission;
}

/** Starts noting the matmul shapes of the work recorded from now on (the step to tune). */
export function noteKernels(ctx: GpuContext): void {
  if (!ctx.barrierFree) noteMatmuls(ctx);
}

/** The tile to use given each candidate's median ms per op: the fastest, unless the rule's tile is within `margin`. */
export function pickTile(medians: ReadonlyMap<TiledTile, number>, rule: TiledTile, margin: number): TiledTile {
  let best: TiledTile | null = null;
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
  // Shapes already tuned on this device (a run resumed on it) keep their tile.
  const known = tunedMatmulTiles(ctx);
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
    const rule = matmulTileFor(ctx, m.p.M, m.p.N, m.p.batch ?? 1);
    const tiles = candidates.filter((t) => tileFits(ctx, m.p, t));
    if (rule === 'flat' || tiles.length < 2) continue;
    if (performance.now() - start > o.budgetMs) {
      untimed++;
      continue;
    }
    const out = ctx.scratch(m.out, 'matmul tuning output');
    const run = async (tile: TiledTile, ops: number): Promise<number> => {
      const t0 = performance.now();
      for (let i = 0; i < ops; i++) replayMatmul(ctx, m, out, tile);
      ctx.flush();
      await idle();
      return performance.now() - t0;
    };
    // Warm-up: compiles each tile's pipeline and bind group; the rule's tile is then timed alone to size the rounds.
    for (const t of tiles) await run(t, 1);
    const trial = await run(tiles.includes(rule) ? rule : tiles[0], 1);
    const ops = Math.min(o.maxOps, Math.max(1, Math.ceil(o.targetMs / Math.max(trial, 1e-3))));
    const times = new Map<TiledTile, number[]>(tiles.map((t) => [t, []]));
    for (let r = 0; r < o.rounds; r++) {
      for (let i = 0; i < tiles.length; i++) {
        const tile = tiles[(i + r) % tiles.length];
        const ms = o.measure ? await o.measure(() => run(tile, ops), m, tile) : await run(tile, ops);
        times.get(tile)!.push(ms / ops);
      }
    }
    ctx.dropScratch(out);
    const medians = new Map([...times].map(([t, xs]) => [t, median(xs)] as const));
    const chosen = pickTile(medians, tiles.includes(rule) ? rule : tiles[0], o.margin);
    setTunedTile(ctx, m.key, chosen);
    kernels.push({
      kernel: 'matmul',
      shape: m.key,
      flops: flopsOf(m),
      calls: m.calls,
      rule: String(rule),
      chosen: String(chosen),
      msPerOp: Object.fromEntries([...medians].map(([t, ms]) => [String(t), ms])),
    });
  }
  // Any validation error of the timed work surfaces here, typed, like a step's.
  await ctx.sync();
  return { ms: performance.now() - start, kernels, untimed };
}
