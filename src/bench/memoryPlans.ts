// The memory plan (src/train/plan.ts) of the shapes `npm run bench` cares about, from config.json shapes alone (no
// weights drawn, nothing allocated): a Qwen3-0.6B shape and a SmolLM2-135M shape with dynamic rank on all seven
// module types, each against its target budget.

import { parseModelConfig } from '../models/arch/index';
import { configShapes } from '../train/memory';
import { PlanError, type PlanOptions, planMemory } from '../train/plan';
import { DORA_B8, SMOLLM2_135M } from './llama';

/** Qwen3-0.6B's config.json (Qwen/Qwen3-0.6B): head_dim 128 over hidden 1024, q/k norms, tied embeddings. */
export const QWEN3_06B = {
  architectures: ['Qwen3ForCausalLM'],
  model_type: 'qwen3',
  hidden_size: 1024,
  num_hidden_layers: 28,
  num_attention_heads: 16,
  num_key_value_heads: 8,
  head_dim: 128,
  intermediate_size: 3072,
  vocab_size: 151936,
  max_position_embeddings: 40960,
  rms_norm_eps: 1e-6,
  rope_theta: 1000000,
  tie_word_embeddings: true,
  hidden_act: 'silu',
} as const;

export interface MemoryPlanRow {
  model: string;
  B: number;
  T: number;
  /** The target the plan's budget is set to. */
  budgetGiB: number;
  /** The chosen options, or null when nothing fits (then `error` holds the PlanError's message). */
  options: PlanOptions | null;
  weights: number;
  activations: number;
  adapterAndOptimizer: number;
  engine: number;
  total: number;
  error?: string;
}

const PLANNED: { model: string; raw: Record<string, unknown>; B: number; T: number; budgetGiB: number }[] = [
  { model: 'Qwen3-0.6B shape', raw: QWEN3_06B, B: 4, T: 256, budgetGiB: 3 },
  { model: 'SmolLM2-135M shape', raw: SMOLLM2_135M, B: 8, T: 256, budgetGiB: 1 },
];

export function benchMemoryPlans(): MemoryPlanRow[] {
  return PLANNED.map(({ model, raw, B, T, budgetGiB }) => {
    const shapes = configShapes(parseModelConfig(raw));
    const run = { ...DORA_B8, batch: B, seq: T };
    try {
      const p = planMemory({ shapes, run, memoryBudgetGiB: budgetGiB });
      return { model, B, T, budgetGiB, options: p.options, ...p.estimate };
    } catch (e) {
      if (!(e instanceof PlanError)) throw e;
      return { model, B, T, budgetGiB, options: null, ...e.estimate, error: e.message };
    }
  });
}
