// The bench's memory plans: shapes only, each within its target budget, and their section of the report.

import { describe, expect, it } from 'vitest';
import { benchMemoryPlans } from './memoryPlans';
import { memoryPlanSection } from './reportSteps';

describe('bench memory plans', () => {
  const rows = benchMemoryPlans();

  it('fits a Qwen3-0.6B shape at 4x256 in 3 GiB and a SmolLM2-135M shape at 8x256 in 1 GiB', () => {
    const [qwen, smol] = rows;
    expect(qwen).toMatchObject({ model: 'Qwen3-0.6B shape', B: 4, T: 256, budgetGiB: 3 });
    expect(smol).toMatchObject({ model: 'SmolLM2-135M shape', B: 8, T: 256, budgetGiB: 1 });
    for (const r of rows) {
      expect(r.options, r.error).not.toBeNull();
      expect(r.total).toBeLessThanOrEqual(r.budgetGiB * 2 ** 30);
      expect(r.total).toBe(r.weights + r.activations + r.adapterAndOptimizer + r.engine);
    }
    // Qwen3-0.6B has 596M parameters (tied embeddings): f32 alone would take 2.2 GiB of the 3.
    expect(qwen.options!.weightPrecision).toBe('f16');
  });

  it('renders one row per plan with the chosen options', () => {
    const md = memoryPlanSection(rows);
    expect(md).toContain('### Memory plans, shapes only');
    expect(md).toMatch(
      /\| Qwen3-0\.6B shape \| 4 x 256 \| 3 \| f16 weights, (no recompute|selective recompute|block recompute), micro-batch \d \| .* \| met \|/,
    );
  });
});
