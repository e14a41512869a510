// What `npm run bench` measures, shared by the orchestrator (scripts/bench.mjs), the page and the Node section, and
// sized so the whole run takes about 10-15 minutes on the 2-core CI machine type with SwiftShader.

import type { StepVariant } from './engine';
import type { LlamaStepPlan } from './llama';

/** The peers' matmul shapes (bench/peers/www/mm_bench.js): c_attn, c_fc, mlp c_proj, LM head of their tiny GPT-2, 512³. */
export const PEER_SHAPES: [number, number, number][] = [
  [512, 64, 192],
  [512, 64, 256],
  [512, 256, 64],
  [512, 64, 1024],
  [512, 512, 512],
];
/** GPT-2-small widths at 512 tokens: attn c_proj, c_attn, mlp c_fc. One op already lasts > 1 s on SwiftShader. */
export const GPT2_SMALL_SHAPES: [number, number, number][] = [
  [512, 768, 768],
  [512, 768, 2304],
  [512, 768, 3072],
];
/** Timings per contender in the paired ours-vs-jax-js matmul comparison (src/bench/matmul.ts pairedMatmul). */
export const MM_ROUNDS = 5;
export const shapeKey = ([M, K, N]: [number, number, number]): string => `${M}x${K}x${N}`;

export interface StepPlan {
  variant: StepVariant;
  liveFraction: number;
  warmup: number;
  steps: number;
}

/** In the page: the rows compared with the peers use the peers' 3 warm-up + 10 timed steps; the live-fraction rows,
 * compared only with each other, use fewer. */
export const PAGE_STEPS: StepPlan[] = [
  { variant: 'full', liveFraction: 1, warmup: 3, steps: 10 },
  { variant: 'lora r=8 (c_attn)', liveFraction: 1, warmup: 3, steps: 10 },
  { variant: 'dynamic rank b=8 (c_attn)', liveFraction: 1, warmup: 2, steps: 5 },
  { variant: 'dynamic rank b=8 (c_attn)', liveFraction: 0.5, warmup: 2, steps: 5 },
  { variant: 'dynamic rank b=8 (c_attn)', liveFraction: 0.25, warmup: 2, steps: 5 },
];

/** The tiny GPT-2 step, ours and jax-js's in one page in turns (src/bench/pairedStep.ts): after 3 warm-up steps each,
 * 5 rounds of 5 steps of each contender, the order swapped every round. */
export const PAIRED_STEP = { rounds: 5, steps: 5, warmup: 3 };
export const PAIRED_STEP_VARIANTS = ['full', 'lora'] as const;

/** The SmolLM2-135M-shaped Llama step (src/bench/llama.ts): B=1, T=32 keeps it within SwiftShader's reach (about 30-45 s
 * a step on 2 busy cores). Two warm-up steps: the first uploads the RoPE table mid-step, which splits its submission,
 * so the params arena grows for the 2,000+ dispatches of one whole step only in the second. */
export const LLAMA_STEPS: LlamaStepPlan[] = [
  { variant: 'lora', layers: 30, B: 1, T: 32, warmup: 2, steps: 2 },
  { variant: 'dynamic rank', layers: 30, B: 1, T: 32, warmup: 2, steps: 2 },
];

/** Node + Dawn (the second section): the same method on fewer shapes and steps, to keep the whole run near 15 minutes;
 * the live-fraction rows run only in the page. */
export const NODE_SHAPES: { shapes: [number, number, number][]; minOps: number }[] = [
  { shapes: PEER_SHAPES, minOps: 4 },
  { shapes: [GPT2_SMALL_SHAPES[0]], minOps: 1 },
];
export const NODE_STEPS: StepPlan[] = PAGE_STEPS.filter((p) => !p.variant.startsWith('dyn')).map((p) => ({
  ...p,
  warmup: 2,
  steps: 5,
}));
