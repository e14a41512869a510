// The memory plan: the estimate's options (f16 weights, micro-batch, recompute), the order the plan tries them, the
// budget, and the refusal naming settings that fit.

import { describe, expect, it } from 'vitest';
import { parseModelConfig } from '../models/arch/index';
import { instantiate, readModelFiles } from '../models/load';
import { resolveModelArg } from '../models/node';
import { headActivationBytes } from '../nn/lmHead';
import { TargetError } from '../peft/adapters';
import { CpuBackend } from '../tensor/cpu';
import { configShapes, estimateMemory, estimateShapes, shapesOf } from './memory';
import {
  applyPlan,
  DEFAULT_BUDGET_BYTES,
  fixedOptions,
  PlanError,
  type PlanRun,
  planBudget,
  planCandidates,
  planMemory,
} from './plan';
import { DEFAULT_RUN } from './run';

/** SmolLM2-135M's config.json at `layers` layers. */
const smol = (layers = 30) =>
  parseModelConfig({
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    hidden_size: 576,
    num_hidden_layers: layers,
    num_attention_heads: 9,
    num_key_value_heads: 3,
    intermediate_size: 1536,
    vocab_size: 49152,
    max_position_embeddings: 8192,
    rms_norm_eps: 1e-5,
    tie_word_embeddings: true,
  });

const RUN: PlanRun = { method: 'dora', batch: 8, seq: 256, budget: 8, r0: 12, rank: 8, dropout: 0.1 };
const GiB = 2 ** 30;

describe('estimateShapes', () => {
  it('matches the estimate of the loaded model (adapted modules from the config, shapes from the weights)', async () => {
    const src = resolveModelArg('gpt2-tiny');
    const { config, tokenizer, weights } = await readModelFiles(src);
    const model = instantiate(new CpuBackend(), config, tokenizer, weights, src.name);
    const cfg = { ...RUN, batch: 2, seq: 16, targets: ['attn.c_attn', 'mlp.c_fc'] };
    expect(estimateShapes(shapesOf(model), cfg)).toEqual(estimateMemory(model, cfg));
    expect(estimateShapes(configShapes(config), cfg)).toEqual(estimateMemory(model, cfg));
    // The adapted modules are the network's own linears.
    const linears = model.net.linears().map((l) => [l.name, l.inFeatures, l.outFeatures]);
    expect(linears.length).toBe(8);
  });

  it('f16 weights halve the frozen matrices and leave vectors (norms) and full fine-tuning at f32', () => {
    const s = configShapes(smol(2));
    let matrices = 0,
      vectors = 0;
    for (const shape of s.weights.values()) {
      const n = shape.reduce((a, b) => a * b, 1);
      if (shape.length >= 2) matrices += n;
      else vectors += n;
    }
    expect(estimateShapes(s, RUN).weights).toBe(4 * (matrices + vectors));
    expect(estimateShapes(s, { ...RUN, weightPrecision: 'f16' }).weights).toBe(2 * matrices + 4 * vectors);
    const full = { ...RUN, method: 'full' as const };
    expect(estimateShapes(s, { ...full, weightPrecision: 'f16' })).toEqual(estimateShapes(s, full));
  });

  it('sizes the activations by the micro-batch, the adapter state by neither', () => {
    const s = configShapes(smol(2));
    const micro = estimateShapes(s, { ...RUN, microBatch: 2 }),
      small = estimateShapes(s, { ...RUN, batch: 2 });
    expect(micro).toEqual(small);
    // All but the LM head's chunk buffers, which hold one chunk of rows at any batch (src/nn/lmHead.ts).
    const head = (B: number) => headActivationBytes(B * RUN.seq, 49152, 576);
    expect(micro.activations - head(2)).toBeLessThan((estimateShapes(s, RUN).activations - head(8)) / 3);
  });

  it('recompute keeps every block input and one block: L blocks of activations become 1 plus L inputs', () => {
    const cfg = smol(30),
      s = configShapes(cfg);
    const plain = estimateShapes(s, { ...RUN, method: 'full' }),
      rc = estimateShapes(s, { ...RUN, method: 'full', recompute: 'blocks' });
    const block = s.arch.blockActivationBytes(cfg, RUN.batch, RUN.seq);
    const inputs = 4 * 30 * RUN.batch * RUN.seq * 576;
    expect(plain.activations - rc.activations).toBe(29 * block - inputs);
    // With adapters, only the block in flight keeps its adapters' activations.
    const a = estimateShapes(s, RUN).activations - plain.activations,
      b = estimateShapes(s, { ...RUN, recompute: 'blocks' }).activations - rc.activations;
    expect(b).toBeLessThan(a / 2);
  });

  it("recompute 'selective' keeps one block's attention probabilities and norm outputs instead of every block's", () => {
    const cfg = smol(30),
      s = configShapes(cfg);
    const plain = estimateShapes(s, RUN),
      sel = estimateShapes(s, { ...RUN, recompute: 'selective' }),
      blocks = estimateShapes(s, { ...RUN, recompute: 'blocks' });
    // SmolLM2: 30 layers, 9 query heads, hidden 576: 29 blocks' probabilities, and 60 norm outputs become 1; everything
    // else (adapters included) as without recompute.
    const N = RUN.batch * RUN.seq;
    expect(plain.activations - sel.activations).toBe(4 * (29 * RUN.batch * 9 * RUN.seq * RUN.seq + 59 * N * 576));
    expect(sel.adapterAndOptimizer).toBe(plain.adapterAndOptimizer);
    expect(blocks.activations).toBeLessThan(sel.activations);
  });

  it('refuses a target that is not a module type of the model, listing the valid ones', () => {
    expect(() => estimateShapes(configShapes(smol(2)), { ...RUN, targets: ['attn.c_attn'] })).toThrow(TargetError);
  });
});

describe('planMemory', () => {
  const shapes = configShapes(smol(30));
  const at = (memoryBudgetGiB: number, run: PlanRun = RUN) => planMemory({ shapes, run, memoryBudgetGiB });

  it('tries f32 first, then f16 weights, then recompute (selective, then blocks), then smaller micro-batches', () => {
    expect(planCandidates(8, 'dora').map((o) => `${o.weightPrecision}/${o.recompute}/${o.microBatch}`)).toEqual([
      'f32/none/8',
      'f16/none/8',
      'f16/selective/8',
      'f16/blocks/8',
      'f16/blocks/4',
      'f16/blocks/2',
      'f16/blocks/1',
    ]);
    expect(planCandidates(6, 'full').map((o) => `${o.weightPrecision}/${o.recompute}/${o.microBatch}`)).toEqual([
      'f32/none/6',
      'f32/selective/6',
      'f32/blocks/6',
      'f32/blocks/3',
      'f32/blocks/2',
      'f32/blocks/1',
    ]);
  });

  it('keeps the options the user fixed and chooses the others', () => {
    const c = planCandidates(4, 'lora', { microBatch: 2, recompute: 'none' });
    expect(c.every((o) => o.microBatch === 2 && o.recompute === 'none')).toBe(true);
    expect(c.map((o) => o.weightPrecision)).toEqual(['f32', 'f16']);
  });

  it('picks the first candidate whose estimate fits, stepping down as the budget shrinks', () => {
    const est = (o: object) => estimateShapes(shapes, { ...RUN, targets: undefined, ...o }).total / GiB;
    const f32 = est({}),
      f16 = est({ weightPrecision: 'f16' }),
      ra = est({ weightPrecision: 'f16', recompute: 'selective' }),
      rc = est({ weightPrecision: 'f16', recompute: 'blocks' });
    expect(at(f32 + 0.01).options).toEqual({ weightPrecision: 'f32', recompute: 'none', microBatch: 8 });
    expect(at(f32 - 0.01).options).toEqual({ weightPrecision: 'f16', recompute: 'none', microBatch: 8 });
    expect(at(f16 - 0.01).options).toEqual({ weightPrecision: 'f16', recompute: 'selective', microBatch: 8 });
    expect(at(ra - 0.01).options).toEqual({ weightPrecision: 'f16', recompute: 'blocks', microBatch: 8 });
    const p = at(rc - 0.01);
    expect(p.options.microBatch).toBeLessThan(8);
    expect(p.estimate.total).toBeLessThanOrEqual(p.budgetBytes);
  });

  it('the budget: memoryBudgetGiB when set, else the device reported memory capped at 4 GiB', () => {
    expect(planBudget(undefined)).toBe(DEFAULT_BUDGET_BYTES);
    expect(planBudget(undefined, { memoryBytes: 2 * GiB })).toBe(2 * GiB);
    expect(planBudget(undefined, { memoryBytes: 64 * GiB })).toBe(4 * GiB);
    expect(planBudget(1.5, { memoryBytes: 64 * GiB })).toBe(1.5 * GiB);
    expect(() => planBudget(0)).toThrow(/memoryBudgetGiB/);
  });

  it('refuses with the longest sequence, fewer module types and the budget that fit, each computed', () => {
    const leanest = estimateShapes(shapes, {
      ...RUN,
      targets: undefined,
      weightPrecision: 'f16',
      recompute: 'blocks',
      microBatch: 1,
    });
    const budget = (leanest.total - 1) / GiB;
    let err: PlanError | null = null;
    try {
      at(budget);
    } catch (e) {
      err = e as PlanError;
    }
    expect(err).toBeInstanceOf(PlanError);
    const { fix } = err!;
    expect(err!.message).toMatch(/does not fit the memory budget/);
    expect(err!.message).toContain(`--seq ${fix.seq}`);
    expect(err!.message).toContain(`--memory-gib ${fix.memoryGiB}`);
    // The sequence is the longest that fits: one token more does not.
    expect(at(budget, { ...RUN, seq: fix.seq! }).estimate.total).toBeLessThanOrEqual(budget * GiB);
    expect(() => at(budget, { ...RUN, seq: fix.seq! + 1 })).toThrow(PlanError);
    expect(at(fix.memoryGiB).options).toEqual({ weightPrecision: 'f16', recompute: 'blocks', microBatch: 1 });
    expect(fix.targets!.length).toBeLessThan(7);
    expect(at(budget, { ...RUN, targets: fix.targets }).estimate.total).toBeLessThanOrEqual(budget * GiB);
  });

  it('stores a weight beyond the largest buffer in row parts: refuses only a row that does not fit one', () => {
    // The tied embedding, 49152 x 576 (108 MiB at f32), fits in parts; the widest rows, down_proj's 1536 columns, are
    // 6144 bytes at f32 and 3072 at f16.
    // A budget that everything fits leaves the buffer as the only limit.
    const under = (maxBufferSize: number) =>
      planMemory({ shapes, run: RUN, memoryBudgetGiB: 64, limits: { maxBufferSize } });
    expect(under(32 * 2 ** 20).options.weightPrecision).toBe('f32');
    expect(under(4096).options.weightPrecision).toBe('f16');
    expect(() => under(2048)).toThrow(/A row of a weight tensor is larger than the device's largest buffer/);
  });
});

describe('applyPlan', () => {
  it('sets only the options the user left unset, and leaves defaults absent', () => {
    const cfg = { ...DEFAULT_RUN, batch: 8 };
    expect(applyPlan(cfg, { weightPrecision: 'f32', recompute: 'none', microBatch: 8 })).toEqual(cfg);
    expect(applyPlan(cfg, { weightPrecision: 'f16', recompute: 'selective', microBatch: 2 })).toEqual({
      ...cfg,
      weightPrecision: 'f16',
      recompute: 'selective',
      microBatch: 2,
    });
    const fixed = { ...cfg, recompute: 'none' as const, microBatch: 4 };
    expect(fixedOptions(fixed)).toEqual({ microBatch: 4, recompute: 'none', weightPrecision: undefined });
    expect(applyPlan(fixed, { weightPrecision: 'f16', recompute: 'blocks', microBatch: 2 })).toEqual({
      ...fixed,
      weightPrecision: 'f16',
    });
  });
});
