// The page's trainable-parameter count agrees with the trainer's, and the rank grid follows the paper's layout.

import { describe, expect, it } from 'vitest';
import { randomBert, randomGpt2 } from '../../tests/helpers/randomModel';
import { parseArgs } from '../cli/args';
import { runConfig as cliRunConfig, TRAIN_OPTS } from '../cli/train';
import { archFor } from '../models/arch/index';
import { parseConfig } from '../models/config';
import { instantiate } from '../models/load';
import type { TextTokenizer } from '../models/tokenizer';
import { DEFAULT_ALPHA as TRAINER_ALPHA } from '../peft/adapters';
import { CpuBackend } from '../tensor/cpu';
import { configShapes, estimateShapes } from '../train/memory';
import { DEFAULT_RUN, trainMethod } from '../train/run';
import { taskFor } from '../train/task';
import { DEFAULT_OPTIM, Trainer } from '../train/trainer';
import type { ModelSummary, RunSettings } from '../worker/protocol';
import { runConfig as pageRunConfig } from '../worker/runInfo';
import { adaptableModules } from '../worker/summary';
import { DEFAULT_SETTINGS } from './configSlice';
import { DEFAULT_ALPHA, dataProblem, memoryPlanOf, rankGrid, thinPoints, trainableCount } from './derived';

const tok: TextTokenizer = {
  encode: () => ({ ids: [], typeIds: [] }),
  decode: () => '',
  padId: 0,
  eosId: 0,
  vocabSize: 31,
};

function summaryOf(config: ReturnType<typeof parseConfig>): ModelSummary {
  const modules = adaptableModules(config);
  const a = config.arch as { nEmbd?: number; hidden?: number };
  return {
    id: 't',
    kind: config.kind,
    title: 't',
    task: config.task,
    head: archFor(config).headSize(config),
    layers: 2,
    hidden: a.nEmbd ?? a.hidden!,
    heads: 2,
    vocab: 31,
    maxPositions: 16,
    parameters: 1,
    modules,
    moduleTypes: [...new Set(modules.map((m) => m.type))],
    defaultTargets: [],
  };
}

function trainerCount(
  config: ReturnType<typeof parseConfig>,
  tensors: Parameters<typeof instantiate>[3]['tensors'],
  s: RunSettings,
): number {
  const be = new CpuBackend(),
    model = instantiate(be, config, tok, { tensors, initialized: [], ignored: [] }, 't');
  const cfg = {
    ...DEFAULT_RUN,
    method: s.method,
    budget: s.budget,
    r0: s.r0 ?? undefined,
    rank: s.rank,
    targets: s.targets,
  };
  return new Trainer(be, taskFor(be, model), trainMethod(model, cfg), { ...DEFAULT_OPTIM, lr: 1e-3, totalSteps: 10 })
    .trainableParameters;
}

describe('trainableCount', () => {
  const gpt = parseConfig({ model_type: 'gpt2', vocab_size: 31, n_positions: 16, n_embd: 16, n_layer: 2, n_head: 2 });
  const bert = parseConfig(
    {
      model_type: 'bert',
      vocab_size: 31,
      hidden_size: 16,
      num_hidden_layers: 2,
      num_attention_heads: 2,
      intermediate_size: 32,
      max_position_embeddings: 16,
    },
    { numLabels: 3 },
  );
  const cases: [string, RunSettings][] = [
    ['dynamic rank, all GPT-2 linears', { ...DEFAULT_SETTINGS, method: 'dora', budget: 2 }],
    [
      'dynamic rank, R0 = 5, attention only',
      { ...DEFAULT_SETTINGS, method: 'dora', budget: 2, r0: 5, targets: ['attn.c_attn', 'attn.c_proj'] },
    ],
    ['LoRA r = 3', { ...DEFAULT_SETTINGS, method: 'lora', rank: 3, targets: ['mlp.c_fc'] }],
  ];
  it.each(cases)('GPT-2, %s: equals Trainer.trainableParameters', (_, s) => {
    expect(trainableCount(summaryOf(gpt), s, 0).total).toBe(
      trainerCount(gpt, randomGpt2({ V: 31, P: 16, C: 16, L: 2 }), s),
    );
  });

  it('BERT with a 3-label head: equals Trainer.trainableParameters', () => {
    const s: RunSettings = {
      ...DEFAULT_SETTINGS,
      method: 'lora',
      rank: 2,
      targets: ['attention.self.query', 'attention.self.value'],
    };
    const tensors = randomBert({ V: 31, P: 16, C: 16, L: 2, F: 32, labels: 3, variant: 'bert' });
    const c = trainableCount(summaryOf(bert), s, 3);
    expect(c.head).toBe(16 * 3 + 3);
    expect(c.total).toBe(trainerCount(bert, tensors, s));
  });
});

describe('lora_alpha default', () => {
  const bert = parseConfig(
    {
      model_type: 'bert',
      vocab_size: 31,
      hidden_size: 16,
      num_hidden_layers: 2,
      num_attention_heads: 2,
      intermediate_size: 32,
      max_position_embeddings: 16,
    },
    { numLabels: 3 },
  );
  const tensors = randomBert({ V: 31, P: 16, C: 16, L: 2, F: 32, labels: 3, variant: 'bert' });
  const model = instantiate(new CpuBackend(), bert, tok, { tensors, initialized: [], ignored: [] }, 't');
  const adapterAlpha = (m: ReturnType<typeof trainMethod>) => (m.method === 'full' ? null : m.adapter.alpha);

  it("is PEFT's lora_alpha = 8 for both methods, whatever the rank, from the page and from the CLI", () => {
    expect(TRAINER_ALPHA).toBe(8);
    expect(DEFAULT_ALPHA).toBe(TRAINER_ALPHA);
    for (const method of ['lora', 'dora'] as const) {
      for (const rank of [2, 16]) {
        const page = pageRunConfig({ ...DEFAULT_SETTINGS, method, rank, budget: rank, targets: ['output.dense'] });
        expect(adapterAlpha(trainMethod(model, page)), `page ${method} r=${rank}`).toBe(8);
        const args = ['--method', method, '--rank', String(rank), '--budget', String(rank)];
        const cli = cliRunConfig(parseArgs(args, TRAIN_OPTS));
        expect(adapterAlpha(trainMethod(model, cli)), `CLI ${method} r=${rank}`).toBe(8);
      }
    }
    const chosen = cliRunConfig(parseArgs(['--method', 'lora', '--alpha', '32'], TRAIN_OPTS));
    expect(adapterAlpha(trainMethod(model, chosen))).toBe(32);
  });
});

describe('rankGrid', () => {
  it('puts module types in rows (paper order) and layers in columns; unadapted cells are null', () => {
    const g = rankGrid(
      ['h.0.mlp.c_fc', 'h.1.attn.c_attn', 'h.1.mlp.c_fc'],
      [3, 1, 2],
      ['attn.c_attn', 'attn.c_proj', 'mlp.c_fc', 'mlp.c_proj'],
    );
    expect(g.rows).toEqual(['attn.c_attn', 'mlp.c_fc']);
    expect(g.layers).toBe(2);
    expect(g.cells).toEqual([
      [null, 1],
      [3, 2],
    ]);
  });
});

describe('dataProblem and thinPoints', () => {
  const preview = {
    fileName: 'a.txt',
    format: 'text' as const,
    columns: ['text'],
    rows: [],
    rowCount: 1,
    characters: 5,
    badRows: [],
    badCount: 0,
    classificationSkipped: null,
    labels: null,
    instructionFormat: null,
  };
  it('refuses plain text for a classifier but not for GPT-2', () => {
    expect(dataProblem(preview, 'seq-cls')).toMatch(/label column/);
    expect(dataProblem(preview, 'causal-lm')).toBeNull();
  });
  it('keeps the last point and at most max points', () => {
    const xs = Array.from({ length: 1001 }, (_, i) => i),
      t = thinPoints(xs, 100);
    expect(t.length).toBeLessThanOrEqual(101);
    expect(t.at(-1)).toBe(1000);
  });
});

describe('memoryPlanOf', () => {
  const config = parseConfig({
    model_type: 'gpt2',
    vocab_size: 31,
    n_positions: 64,
    n_embd: 16,
    n_layer: 2,
    n_head: 2,
  });
  const shapes = configShapes(config);
  const summary: ModelSummary = {
    ...summaryOfShapes(),
    shapes: { config: config.raw, weights: [...shapes.weights].map(([n, s]) => [n, [...s]]) },
  };
  function summaryOfShapes(): ModelSummary {
    const modules = adaptableModules(config);
    return {
      id: 't',
      kind: config.kind,
      title: 't',
      task: config.task,
      head: { fixed: 0, perLabel: 0 },
      layers: 2,
      hidden: 16,
      heads: 2,
      vocab: 31,
      maxPositions: 64,
      parameters: 1,
      modules,
      moduleTypes: [...new Set(modules.map((m) => m.type))],
      defaultTargets: ['attn.c_attn'],
    };
  }

  it('shows the plan Start applies, with the estimate of the run the settings describe', () => {
    const s: RunSettings = { ...DEFAULT_SETTINGS, method: 'lora', rank: 4, targets: ['attn.c_attn'], batch: 2, seq: 8 };
    const p = memoryPlanOf(summary, s);
    expect(p && 'plan' in p ? p.plan.options : p).toEqual({ weightPrecision: 'f32', recompute: 'none', microBatch: 2 });
    const want = estimateShapes(shapes, {
      ...s,
      microBatch: undefined,
      recompute: undefined,
      r0: undefined,
      targets: ['attn.c_attn'],
    });
    expect(p && 'plan' in p ? p.plan.estimate : null).toEqual(want);
    expect(memoryPlanOf(summaryOfShapes(), s)).toBeNull();
  });

  it('keeps the micro-batch, recompute and weight precision the page set, as Start does', () => {
    const s: RunSettings = {
      ...DEFAULT_SETTINGS,
      method: 'lora',
      rank: 4,
      targets: ['attn.c_attn'],
      batch: 2,
      seq: 8,
      microBatch: 1,
      recompute: 'selective',
      weightPrecision: 'f16',
    };
    const p = memoryPlanOf(summary, s);
    expect(p && 'plan' in p ? p.plan.options : p).toEqual({
      weightPrecision: 'f16',
      recompute: 'selective',
      microBatch: 1,
    });
    // Settings saved by an earlier version held a boolean: true was whole blocks.
    const legacy = memoryPlanOf(summary, { ...s, recompute: true as never });
    expect(legacy && 'plan' in legacy ? legacy.plan.options.recompute : legacy).toBe('blocks');
  });

  it('says what fits when nothing does', () => {
    // Attention probabilities alone at T = 65536: 2 heads x T^2 x 4 bytes = 32 GiB, even for one block and sequence.
    const long = parseConfig({
      model_type: 'gpt2',
      vocab_size: 31,
      n_positions: 65536,
      n_embd: 16,
      n_layer: 2,
      n_head: 2,
    });
    const w = [...configShapes(long).weights].map(([n, x]): [string, number[]] => [n, [...x]]);
    const s: RunSettings = { ...DEFAULT_SETTINGS, batch: 1, seq: 65536, targets: ['attn.c_attn'] };
    const p = memoryPlanOf({ ...summary, shapes: { config: long.raw, weights: w } }, s);
    expect(p && 'error' in p ? p.error : '').toMatch(
      /does not fit the memory budget of 4\.00 GiB.*It fits with --seq \d+/,
    );
  });
});
