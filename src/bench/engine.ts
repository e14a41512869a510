// Engine benchmarks (npm run bench): matmul GFLOP/s (./matmul.ts), training-step time of the peers' tiny GPT-2, the
// GPU work that transfers to real hardware (submissions, dispatches, buffer creations, readbacks per step), step time
// against the live-component fraction, and memory against the analytical estimate. Runs on any GpuBackend (Node/Dawn
// or a page). Steps are timed as the peers time theirs: wall time from the call until the loss is read back,
// 3 warm-up + 10 timed steps, median.

import type { GpuBackend } from '../gpu/backend';
import { diffCounters, type GpuCounters } from '../gpu/counters';
import { type ModelConfig, parseConfig } from '../models/config';
import { instantiate } from '../models/load';
import type { TextTokenizer } from '../models/tokenizer';
import type { HostTensor } from '../models/weights';
import type { WeightPrecision } from '../tensor/backend';
import { Rng } from '../tensor/rng';
import { estimateMemory } from '../train/memory';
import { type HostBatch, taskFor } from '../train/task';
import { DEFAULT_OPTIM, Trainer, type TrainMethod } from '../train/trainer';
import { median } from './matmul';
import type { StepContenderFactory } from './pairedStep';
import { syntheticWeights } from './weights';

export { benchMatmul, type MatmulOptions, type MatmulResult, type PairedResult, pairedMatmul } from './matmul';

/** The peers' model (shared/peers): n_embd 64, 2 layers, 2 heads, vocab 1024, context 64, batch 8, tied embeddings. */
const PEER = { V: 1024, C: 64, L: 2, H: 2, T: 64, B: 8 };
const tok: TextTokenizer = {
  encode: () => ({ ids: [], typeIds: [] }),
  decode: () => '',
  padId: 0,
  eosId: 0,
  vocabSize: PEER.V,
};

/** Normal(0, 0.02) weights from one seeded Rng (every element draws, LayerNorm ones too, so the stream is fixed). */
function peerWeights(config: ModelConfig): Map<string, HostTensor> {
  const r = new Rng(7);
  return syntheticWeights(config, (n, std, offset) =>
    Float32Array.from({ length: n }, () => offset + r.normal() * std),
  );
}

export interface StepResult {
  variant: string;
  /** Fraction of the adapter components left live (1: all). */
  liveFraction?: number;
  msPerStep: number;
  tokensPerSecond: number;
  /** Largest count seen in any timed step (the step itself; reading the loss back is not part of it). */
  perStep: Pick<
    GpuCounters,
    'submissions' | 'dispatches' | 'bufferCreations' | 'readbacks' | 'pipelineCreations' | 'bytesAllocated'
  >;
  trainable: number;
  adapterFlops: number | null;
  bytesLive: number;
  estimateBytes: number;
  warmup?: number;
  steps?: number;
  msMin?: number;
  msMax?: number;
  /** First warm-up step: pipeline creation, buffers and the first run. */
  firstStepMs?: number;
  /** Loss after the first and the last step. */
  losses?: [number, number];
}

export type StepVariant = 'full' | 'lora r=8 (c_attn)' | 'dynamic rank b=8 (c_attn)';
export interface StepOptions {
  warmup?: number;
  /** Storage of the frozen base weights ('f32' unless given; 'f16' is for the adapter variants). */
  weightPrecision?: WeightPrecision;
}

type PerStep = StepResult['perStep'];
const COUNTED = [
  'submissions',
  'dispatches',
  'bufferCreations',
  'readbacks',
  'pipelineCreations',
  'bytesAllocated',
] as const;

/** The engine's trainer on the peers' model with `variant`, `liveFraction` of the adapter components left live, and
 * the peers' batch shape (seeded random tokens, targets shifted by one). */
function peerTrainer(be: GpuBackend, variant: StepVariant, liveFraction: number, weightPrecision?: WeightPrecision) {
  const { V, C, L, H, T, B } = PEER;
  const config = parseConfig({ model_type: 'gpt2', vocab_size: V, n_positions: T, n_embd: C, n_layer: L, n_head: H });
  const model = instantiate(
    be,
    config,
    tok,
    { tensors: peerWeights(config), initialized: [], ignored: [] },
    'peer-gpt2',
    { weightPrecision },
  );
  const method: TrainMethod =
    variant === 'full'
      ? { method: 'full', targets: ['attn.c_attn', 'attn.c_proj', 'mlp.c_fc', 'mlp.c_proj'] }
      : variant.startsWith('lora')
        ? {
            method: 'lora',
            targets: ['attn.c_attn'],
            adapter: { method: 'lora', R0: 8, alpha: 16, dropout: 0, seed: 1 },
          }
        : {
            method: 'dora',
            targets: ['attn.c_attn'],
            budget: 8,
            pruneInterval: 10,
            adapter: { method: 'dora', R0: 12, alpha: 8, dropout: 0.1, seed: 1 },
          };
  if (method.method === 'full') {
    // Full fine-tuning trains everything, embeddings included, as the peers do.
    model.net.enableAllGradients();
  }
  const trainer = new Trainer(be, taskFor(be, model), method, {
    ...DEFAULT_OPTIM,
    lr: 1e-3,
    totalSteps: 1000,
    dem: null,
  });
  if (trainer.adapters && liveFraction < 1) {
    const R0 = trainer.adapters.opts.R0,
      keep = Math.max(1, Math.round(R0 * liveFraction));
    trainer.adapters.compact(
      Float32Array.from({ length: trainer.adapters.modules.length * R0 }, (_, i) => (i % R0 < keep ? 1 : 0)),
    );
  }
  const r = new Rng(3),
    ids = Int32Array.from({ length: B * T }, () => r.int(V));
  const batch: HostBatch = {
    kind: 'lm',
    B,
    T,
    ids,
    targets: Int32Array.from(ids, (_, i) => (i % T === T - 1 ? -100 : ids[i + 1])),
  };
  return { model, method, trainer, batch };
}

/** The engine as a step contender for pairedSteps: one step is trainStep, then the loss read back. */
export function engineStepContender(be: GpuBackend, variant: StepVariant): StepContenderFactory {
  return async () => {
    const { trainer, batch } = peerTrainer(be, variant, 1);
    return {
      step: async () => {
        trainer.trainStep(batch);
        return trainer.lastLoss();
      },
      // The model's tensors live as long as the device: the page destroys its context after every job.
      dispose: () => {},
    };
  };
}

export async function benchStep(
  be: GpuBackend,
  variant: StepVariant,
  liveFraction = 1,
  steps = 10,
  opts: StepOptions = {},
): Promise<StepResult> {
  const { T, B } = PEER;
  const warmup = Math.max(1, opts.warmup ?? 3);
  const live0 = be.ctx.counters.bytesLive;
  const { model, method, trainer, batch } = peerTrainer(be, variant, liveFraction, opts.weightPrecision);
  const times: number[] = [],
    losses: number[] = [];
  const perStep = Object.fromEntries(COUNTED.map((k) => [k, 0])) as PerStep;
  for (let s = 0; s < warmup + steps; s++) {
    const c0 = { ...be.ctx.counters },
      t0 = performance.now();
    trainer.trainStep(batch);
    const d = diffCounters(be.ctx.counters, c0);
    losses.push(await trainer.lastLoss());
    times.push(performance.now() - t0);
    if (s >= warmup) for (const k of COUNTED) perStep[k] = Math.max(perStep[k], d[k]);
  }
  const timed = times.slice(warmup),
    ms = median(timed);
  const est = estimateMemory(model, { batch: B, seq: T, method: method.method, budget: 8, rank: 8, r0: 12 });
  return {
    variant:
      (liveFraction < 1 ? `${variant}, ${Math.round(liveFraction * 100)}% live` : variant) +
      (opts.weightPrecision === 'f16' ? ', f16 base weights' : ''),
    liveFraction,
    msPerStep: ms,
    tokensPerSecond: (B * T) / (ms / 1000),
    perStep,
    trainable: trainer.trainableParameters,
    adapterFlops: trainer.adapters ? trainer.adapters.flopsPerStep(B * T) : null,
    bytesLive: be.ctx.counters.bytesLive - live0,
    estimateBytes: est.total,
    warmup,
    steps,
    msMin: Math.min(...timed),
    msMax: Math.max(...timed),
    firstStepMs: times[0],
    losses: [losses[0], losses[losses.length - 1]],
  };
}
