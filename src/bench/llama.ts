// A training step of a SmolLM2-135M-shaped Llama (hidden 576, 9 heads, 3 kv heads, intermediate 1536, vocab 49152,
// tied embeddings) with synthetic weights (./llamaWeights.ts), adapters on all seven module types, at a batch small
// enough for SwiftShader. Reported as the engine's GPT-2 rows are (./engine.ts): ms per step until the loss is back,
// submissions / dispatches / buffer creations per step, and the GPU footprint.
//
// The step is built here from the network, an AdapterSet and AdamW with global clipping, as the Trainer builds it
// (src/train/trainer.ts: zero the gradient, forward + loss, backward, clip, AdamW, then the rank allocator, one
// submission), because the Trainer selects modules by GPT-2/BERT names and cannot yet take a Llama.

import type { GpuBackend } from '../gpu/backend';
import { diffCounters } from '../gpu/counters';
import { parseModelConfig } from '../models/arch/index';
import { parseLlamaConfig } from '../models/arch/llamaConfig';
import { Llama } from '../nn/llamaCausal';
import { ParamStore } from '../nn/params';
import { type AdapterOptions, AdapterSet } from '../peft/adapters';
import { RankAllocator } from '../peft/allocator';
import type { Tensor, WeightPrecision } from '../tensor/backend';
import { Rng } from '../tensor/rng';
import { configShapes, estimateShapes, type MemoryEstimate } from '../train/memory';
import { DEFAULT_OPTIM, learningRate, type OptimOptions } from '../train/trainer';
import type { StepResult } from './engine';
import { llamaSyntheticWeights, uniformDraw } from './llamaWeights';
import { median } from './matmul';

/** SmolLM2-135M's config.json (HuggingFaceTB/SmolLM2-135M), the shape the bench builds. */
export const SMOLLM2_135M = {
  architectures: ['LlamaForCausalLM'],
  model_type: 'llama',
  hidden_size: 576,
  num_hidden_layers: 30,
  num_attention_heads: 9,
  num_key_value_heads: 3,
  intermediate_size: 1536,
  vocab_size: 49152,
  max_position_embeddings: 8192,
  rms_norm_eps: 1e-5,
  rope_theta: 100000,
  tie_word_embeddings: true,
  hidden_act: 'silu',
  bos_token_id: 0,
  eos_token_id: 0,
} as const;

type LlamaVariant = 'lora' | 'dynamic rank';

export interface LlamaStepPlan {
  variant: LlamaVariant;
  /** Decoder layers built (SmolLM2-135M has 30). */
  layers: number;
  B: number;
  T: number;
  warmup: number;
  steps: number;
  /** Storage of the frozen base matrices ('f32' unless given). */
  weightPrecision?: WeightPrecision;
}

export interface LlamaStepResult
  extends Pick<
    StepResult,
    | 'msPerStep'
    | 'tokensPerSecond'
    | 'perStep'
    | 'trainable'
    | 'adapterFlops'
    | 'msMin'
    | 'msMax'
    | 'firstStepMs'
    | 'losses'
  > {
  /** Row label: the model, its depth, the batch and the method. */
  variant: string;
  plan: LlamaStepPlan;
  /** Parameters of the synthetic model. */
  parameters: number;
  /** Most bytes the engine held on the GPU (live buffers plus its pool) at any time: the counters' high-water mark. */
  peakBytes: number;
  /** The memory plan's estimate for this step's shapes and settings (src/train/memory.ts, shapes only). */
  estimateBytes: number;
  /** Seconds to draw and upload the synthetic weights. */
  setupS: number;
}

/** Adapters as the GPT-2 rows use them: LoRA r=8 alpha 16; dynamic rank b=8 with R0=12, alpha 8, dropout 0.1. */
const ADAPTER: Record<LlamaVariant, AdapterOptions> = {
  lora: { method: 'lora', R0: 8, alpha: 16, dropout: 0, seed: 1 },
  'dynamic rank': { method: 'dora', R0: 12, alpha: 8, dropout: 0.1, seed: 1 },
};

/** Dynamic rank b=8 as the step trains it (R0 = 12, adapter dropout 0.1), in RunConfig's terms. */
export const DORA_B8 = { method: 'dora', budget: 8, r0: 12, rank: 8, dropout: 0.1 } as const;

/** The estimate of a step's shapes (its weight precision, no recompute, the whole batch), from config.json shapes
 * alone. */
function llamaStepEstimate(
  p: Pick<LlamaStepPlan, 'layers' | 'B' | 'T' | 'variant' | 'weightPrecision'>,
): MemoryEstimate {
  const shapes = configShapes(parseModelConfig({ ...SMOLLM2_135M, num_hidden_layers: p.layers }));
  const run = p.variant === 'lora' ? { ...DORA_B8, method: 'lora' as const, dropout: 0 } : DORA_B8;
  return estimateShapes(shapes, { ...run, batch: p.B, seq: p.T, weightPrecision: p.weightPrecision });
}

function llamaLabel(p: LlamaStepPlan): string {
  const method = p.variant === 'lora' ? 'LoRA r=8' : 'dynamic rank b=8';
  const depth = p.layers === SMOLLM2_135M.num_hidden_layers ? '' : `, ${p.layers} of 30 layers`;
  const weights = p.weightPrecision === 'f16' ? ', f16 base weights' : '';
  return `SmolLM2-135M shape${depth}, B=${p.B} T=${p.T}, ${method} (7 module types)${weights}`;
}

export async function benchLlamaStep(be: GpuBackend, plan: LlamaStepPlan): Promise<LlamaStepResult> {
  const { B, T } = plan,
    N = B * T,
    warmup = Math.max(1, plan.warmup);
  const t0 = performance.now();
  const cfg = parseLlamaConfig(
    { ...SMOLLM2_135M, num_hidden_layers: plan.layers },
    { file: 'SmolLM2-135M config (bench)' },
  );
  const tensors = new Map<string, Tensor>();
  let parameters = 0;
  for (const [n, t] of llamaSyntheticWeights(cfg, uniformDraw(7))) {
    const precision = t.shape.length >= 2 ? (plan.weightPrecision ?? 'f32') : 'f32';
    tensors.set(n, be.weight(t.data, t.shape, { precision, label: n }));
    parameters += t.data.length;
  }
  const params = new ParamStore(be, tensors);
  const net = new Llama(be, cfg, params);
  const adapters = new AdapterSet(be, net.linears(), ADAPTER[plan.variant]);
  const optim: OptimOptions = { ...DEFAULT_OPTIM, lr: 1e-3, totalSteps: 1000, dem: null };
  const allocator =
    plan.variant === 'dynamic rank'
      ? new RankAllocator(be, adapters, {
          totalSteps: optim.totalSteps,
          R0: 12,
          budget: 8,
          modules: adapters.modules.length,
          pruneInterval: 10,
        })
      : null;
  const z = (shape: number[], label: string) => be.zeros(shape, 'f32', label);
  const m = z([adapters.size], 'adam m'),
    v = z([adapters.size], 'adam v');
  const sumsq = z([1], 'grad sumsq'),
    clip = z([1], 'clip factor'),
    status = z([2], 'step status');
  const r = new Rng(3),
    host = Int32Array.from({ length: N }, () => r.int(cfg.vocabSize));
  const ids = be.fromArray(host, [N], 'input ids');
  const targets = be.fromArray(
    Int32Array.from(host, (_, i) => (i % T === T - 1 ? -100 : host[i + 1])),
    [N],
    'targets',
  );
  await be.ctx.sync();
  const setupS = (performance.now() - t0) / 1000;

  let step = 0;
  const trainStep = () => {
    step++;
    adapters.training = true;
    adapters.stepSeed = step;
    be.fill(adapters.grad, 0);
    net.forwardHidden(ids, B, T);
    const { lossSum, count } = net.loss(targets, { withGrad: true });
    net.backward(ids, targets);
    be.copy(status, lossSum, 1, 0, 0);
    be.copy(status, count, 1, 0, 1);
    be.fill(sumsq, 0);
    be.sumSquares(sumsq, adapters.grad, true);
    be.clipScale(clip, sumsq, optim.clip);
    be.adamw(adapters.theta, adapters.grad, m, v, clip, {
      lr: learningRate(step, optim),
      beta1: optim.beta1,
      beta2: optim.beta2,
      eps: optim.eps,
      weightDecay: optim.weightDecay,
      step,
    });
    allocator?.afterOptimizerStep(step);
    be.flush();
  };

  const times: number[] = [],
    losses: number[] = [];
  const perStep: StepResult['perStep'] = {
    submissions: 0,
    dispatches: 0,
    bufferCreations: 0,
    readbacks: 0,
    pipelineCreations: 0,
    bytesAllocated: 0,
  };
  for (let s = 0; s < warmup + plan.steps; s++) {
    const c0 = { ...be.ctx.counters },
      ts = performance.now();
    trainStep();
    const d = diffCounters(be.ctx.counters, c0);
    const st = await be.read(status);
    losses.push(st[0] / Math.max(1, st[1]));
    times.push(performance.now() - ts);
    if (s < warmup) continue;
    for (const k of Object.keys(perStep) as (keyof typeof perStep)[]) perStep[k] = Math.max(perStep[k], d[k]);
  }
  const timed = times.slice(warmup),
    ms = median(timed);
  return {
    variant: llamaLabel(plan),
    plan,
    parameters,
    msPerStep: ms,
    tokensPerSecond: N / (ms / 1000),
    perStep,
    trainable: adapters.trainableCount,
    adapterFlops: adapters.flopsPerStep(N),
    // The page runs every job on a fresh device, so the context's high-water mark is this step's.
    peakBytes: be.ctx.counters.bytesPeak,
    estimateBytes: llamaStepEstimate(plan).total,
    setupS,
    msMin: Math.min(...timed),
    msMax: Math.max(...timed),
    firstStepMs: times[0],
    losses: [losses[0], losses[losses.length - 1]],
  };
}
