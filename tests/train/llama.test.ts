// Fine-tuning the Llama family through its descriptor, from fixture folders (tests/fixtures/llama) on the CPU backend:
// a dynamic-rank causal-LM run on the seven default module types ends on exactly M * b(T) live components, its PEFT
// export uses HF module paths (model.layers.N.self_attn.q_proj), and the merged model in HF layout computes the
// adapted model's logits; a LoRA sequence-classification run saves the `score` head as modules_to_save.

import { describe, expect, it } from 'vitest';
import { adaptableModules } from '../../src/models/arch/index';
import { instantiate, type LoadedModel, loadModel } from '../../src/models/load';
import { dirSource } from '../../src/models/node';
import { parseSafetensors } from '../../src/models/safetensorsRead';
import { exportPeft } from '../../src/peft/export';
import { mergeWeights } from '../../src/peft/merge';
import { DEFAULT_SETTINGS } from '../../src/store/configSlice';
import { rankGrid, trainableCount } from '../../src/store/derived';
import { CpuBackend } from '../../src/tensor/cpu';
import { createTrainer, DEFAULT_RUN, evaluate, prepareData, type RunConfig, runSteps } from '../../src/train/run';
import { exportInput } from '../../src/train/snapshot';
import { expectClose } from '../helpers/check';
import { llamaFolder } from '../helpers/llamaFolder';

const TEXT = 'the quick brown fox jumps over the lazy dog. '.repeat(12);
const CSV = `text,label\n${Array.from(
  { length: 24 },
  (_, i) => `${['good fun day', 'bad sad night', 'so so'][i % 3]} ${i},${['pos', 'neg', 'mid'][i % 3]}`,
).join('\n')}\n`;

async function run(model: LoadedModel, be: CpuBackend, data: string, file: string, cfg: RunConfig) {
  const prepared = prepareData(model, data, file, cfg);
  const { trainer, stream, steps } = createTrainer(be, model, prepared, cfg);
  await runSteps(trainer, stream, steps, cfg, () => {});
  return { trainer, prepared };
}

describe('Llama family through the descriptor', () => {
  it('dynamic rank on a Llama causal LM: all seven module types, exactly M * b(T) live at the end', async () => {
    const be = new CpuBackend();
    const model = await loadModel(dirSource(llamaFolder('llama-gqa')), be, { seed: 3 });
    expect([model.kind, model.task]).toEqual(['llama', 'causal-lm']);
    const cfg: RunConfig = {
      ...DEFAULT_RUN,
      method: 'dora',
      budget: 2,
      steps: 12,
      batch: 2,
      seq: 16,
      pruneInterval: 2,
      logEvery: 0,
      valFraction: 0.2,
    };
    const { trainer, prepared } = await run(model, be, TEXT, 'fox.txt', cfg);
    const M = trainer.adapters!.modules.length;
    expect(M).toBe(2 * 7);
    expect(new Set(trainer.adapters!.modules.map((m) => m.linear.name.replace(/^model\.layers\.\d+\./, '')))).toEqual(
      new Set([
        'self_attn.q_proj',
        'self_attn.k_proj',
        'self_attn.v_proj',
        'self_attn.o_proj',
        'mlp.gate_proj',
        'mlp.up_proj',
        'mlp.down_proj',
      ]),
    );
    expect((await trainer.allocator!.liveCounts()).reduce((a, b) => a + b, 0)).toBe(M * 2);
    expect(Number.isFinite((await evaluate(trainer, prepared.val, 2)).loss)).toBe(true);

    const input = await exportInput(trainer, model);
    const { adapterConfig, adapterModel, rankMap } = exportPeft(input);
    expect(adapterConfig.fan_in_fan_out).toBe(false);
    expect(adapterConfig.task_type).toBe('CAUSAL_LM');
    expect(adapterConfig.modules_to_save).toBeNull();
    const targets = adapterConfig.target_modules as string[];
    expect(
      targets.every((t) => /^model\.layers\.[01]\.(self_attn\.[qkvo]_proj|mlp\.(gate|up|down)_proj)$/.test(t)),
    ).toBe(true);
    expect(Object.keys(adapterConfig.rank_pattern as object).sort()).toEqual([...targets].sort());
    const names = [...parseSafetensors(adapterModel).tensors.keys()];
    const q0 = 'base_model.model.model.layers.0.self_attn.q_proj';
    if (targets.includes('model.layers.0.self_attn.q_proj')) {
      expect(names).toContain(`${q0}.lora_A.weight`);
      expect(names).toContain(`${q0}.lora_B.weight`);
    }
    expect(
      names.every((n) => /^base_model\.model\.model\.layers\.\d\.(self_attn|mlp)\.\w+\.lora_[AB]\.weight$/.test(n)),
    ).toBe(true);
    expect(rankMap.moduleTypes).toEqual([
      'self_attn.q_proj',
      'self_attn.k_proj',
      'self_attn.v_proj',
      'self_attn.o_proj',
      'mlp.gate_proj',
      'mlp.up_proj',
      'mlp.down_proj',
    ]);
    expect(rankMap.total).toBe(M * 2);

    // The merged checkpoint keeps HF names and nn.Linear (out, in) shapes, and computes the adapted logits.
    const merged = mergeWeights(model.weights.tensors, input);
    expect(merged.get('model.layers.0.self_attn.k_proj.weight')!.shape).toEqual([16, 32]);
    const ids = be.fromArray(
      Int32Array.from({ length: 2 * 8 }, (_, i) => 3 + ((i * 37) % 250)),
      [16],
      'ids',
    );
    trainer.adapters!.training = false;
    if (model.task !== 'causal-lm') throw new Error('causal LM expected');
    const adapted = Float32Array.from(await be.read(model.net.forward(ids, 2, 8)));
    const plain = instantiate(
      be,
      model.config,
      model.tokenizer,
      { tensors: merged, initialized: [], ignored: [] },
      'm',
    );
    if (plain.task !== 'causal-lm') throw new Error('causal LM expected');
    expectClose(await be.read(plain.net.forward(ids, 2, 8)), adapted, 1e-5, 1e-4, 'merged logits');
    const base = instantiate(be, model.config, model.tokenizer, model.weights, 'base');
    if (base.task !== 'causal-lm') throw new Error('causal LM expected');
    const b0 = await be.read(base.net.forward(ids, 2, 8));
    expect(Math.max(...adapted.map((v, i) => Math.abs(v - b0[i])))).toBeGreaterThan(1e-3);
  });

  it('LoRA on a Llama sequence classifier trains the score head and exports it as modules_to_save', async () => {
    const be = new CpuBackend();
    const model = await loadModel(dirSource(llamaFolder('llama-seqcls')), be, { seed: 3, numLabels: 3 });
    expect([model.kind, model.task]).toEqual(['llama', 'seq-cls']);
    const cfg: RunConfig = {
      ...DEFAULT_RUN,
      method: 'lora',
      rank: 2,
      steps: 4,
      batch: 3,
      seq: 16,
      logEvery: 0,
      valFraction: 0.25,
    };
    const before = Float32Array.from(model.weights.tensors.get('score.weight')!.data);
    const { trainer, prepared } = await run(model, be, CSV, 'tiny.csv', cfg);
    const m = await evaluate(trainer, prepared.val, 3);
    expect(m.examples).toBe(6);
    const input = await exportInput(trainer, model);
    expect([...input.head.keys()]).toEqual(['score.weight']);
    expect(input.head.get('score.weight')!.data).not.toEqual(before);
    const { adapterConfig, adapterModel } = exportPeft(input);
    expect(adapterConfig.modules_to_save).toEqual(['score']);
    expect(adapterConfig.task_type).toBe('SEQ_CLS');
    expect([...parseSafetensors(adapterModel).tensors.keys()]).toContain('base_model.model.score.weight');

    // The page's count (summary from the descriptor) equals the trainer's, the score head included.
    const summary = {
      id: 't',
      kind: model.kind,
      title: model.arch.title(model.config),
      task: model.task,
      head: model.arch.headSize(model.config),
      ...model.arch.dims(model.config),
      parameters: 1,
      modules: adaptableModules(model.config),
      moduleTypes: [],
      defaultTargets: [],
    };
    const page = trainableCount(
      summary,
      { ...DEFAULT_SETTINGS, method: 'lora', rank: 2, targets: [...model.arch.defaultTargets] },
      3,
    );
    expect(page.head).toBe(3 * 32);
    expect(page.total).toBe(trainer.trainableParameters);
    const grid = rankGrid(
      ['model.layers.0.mlp.up_proj', 'model.layers.1.self_attn.q_proj'],
      [2, 1],
      model.arch.rows.map(([, t]) => t),
    );
    expect(grid).toEqual({
      rows: ['self_attn.q_proj', 'mlp.up_proj'],
      layers: 2,
      cells: [
        [null, 1],
        [2, null],
      ],
    });
  });

  it('a Qwen3 causal-LM checkpoint trains as a classifier when asked (task seq-cls): a fresh score head', async () => {
    const be = new CpuBackend();
    const model = await loadModel(dirSource(llamaFolder('qwen3-headdim')), be, {
      seed: 3,
      numLabels: 3,
      task: 'seq-cls',
    });
    expect([model.kind, model.task]).toEqual(['qwen3', 'seq-cls']);
    expect(model.weights.initialized).toEqual(['score.weight']);
    const cfg: RunConfig = {
      ...DEFAULT_RUN,
      method: 'dora',
      budget: 1,
      steps: 6,
      batch: 3,
      seq: 16,
      pruneInterval: 1,
      logEvery: 0,
      valFraction: 0.25,
    };
    const { trainer } = await run(model, be, CSV, 'tiny.csv', cfg);
    expect((await trainer.allocator!.liveCounts()).reduce((a, b) => a + b, 0)).toBe(trainer.adapters!.modules.length);
  });
});
