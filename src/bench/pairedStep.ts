// Training steps of the engine and a peer timed in turns in one page, as pairedMatmul (./matmul.ts) times matmuls:
// both warm up, then each round times `steps` steps of one contender, then of the other, the order swapped every
// round, and the verdict reads the median of the per-round ratios. Timed in separate pages minutes apart, the same
// step measured 498 and 321 ms on a shared 2-core machine; taken side by side, the ratio holds.

import { median } from './matmul';

/** One training step: records, submits and waits until the loss is back (the peers' definition of a step). */
interface StepContender {
  /** Runs one step; resolves with its loss once read back (and, for jax-js, once the new parameters are ready). */
  step(): Promise<number>;
  dispose(): void | Promise<void>;
}

export type StepContenderFactory = () => Promise<StepContender>;

export interface PairedStepOptions {
  /** Rounds; each times both contenders once. */
  rounds: number;
  /** Steps per timing. */
  steps: number;
  /** Untimed steps of each contender before the first round. */
  warmup: number;
}

/** One contender's figures: ms per step in each round (round order), their median, and its warm-up. */
interface StepSide {
  rounds: number[];
  msPerStep: number;
  firstStepMs: number;
  /** Loss after the first and the last step. */
  losses: [number, number];
}

export interface PairedStepResult extends PairedStepOptions {
  variant: string;
  ours: StepSide;
  peer: StepSide | { error: string };
  /** Peer ms / our ms per round: above 1, ours is faster. Empty when the peer failed. */
  ratios: number[];
  medianRatio: number | null;
}

interface Running {
  c: StepContender;
  firstStepMs: number;
  first: number;
  last: number;
  rounds: number[];
}

async function start(make: StepContenderFactory, warmup: number): Promise<Running> {
  const c = await make();
  const t = performance.now();
  const first = await c.step();
  const firstStepMs = performance.now() - t;
  let last = first;
  for (let i = 1; i < warmup; i++) last = await c.step();
  return { c, firstStepMs, first, last, rounds: [] };
}

async function time(r: Running, steps: number): Promise<void> {
  const t = performance.now();
  for (let i = 0; i < steps; i++) r.last = await r.c.step();
  r.rounds.push((performance.now() - t) / steps);
}

const side = (r: Running): StepSide => ({
  rounds: r.rounds,
  msPerStep: median(r.rounds),
  firstStepMs: r.firstStepMs,
  losses: [r.first, r.last],
});

/**
 * Ours and the peer in turns: ours first in odd rounds (1, 3, ...), the peer first in even ones. A peer that cannot be
 * built or fails while warming up leaves its error in the result; ours is then timed alone for the same rounds.
 */
export async function pairedSteps(
  variant: string,
  ours: StepContenderFactory,
  peer: StepContenderFactory,
  opts: PairedStepOptions,
): Promise<PairedStepResult> {
  const warmup = Math.max(1, opts.warmup);
  const o = await start(ours, warmup);
  let p: Running | null = null;
  try {
    try {
      p = await start(peer, warmup);
    } catch (e) {
      for (let r = 0; r < opts.rounds; r++) await time(o, opts.steps);
      const error = String((e as Error)?.stack ?? e).slice(0, 800);
      return { variant, ...opts, warmup, ours: side(o), peer: { error }, ratios: [], medianRatio: null };
    }
    for (let r = 0; r < opts.rounds; r++) {
      if (r % 2 === 0) {
        await time(o, opts.steps);
        await time(p, opts.steps);
      } else {
        await time(p, opts.steps);
        await time(o, opts.steps);
      }
    }
    const ratios = o.rounds.map((ms, i) => p!.rounds[i] / ms);
    return { variant, ...opts, warmup, ours: side(o), peer: side(p), ratios, medianRatio: median(ratios) };
  } finally {
    await o.c.dispose();
    await p?.c.dispose();
  }
}
