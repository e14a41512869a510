// Train a little, export to PEFT, import into a fresh model: the logits must equal the in-memory adapted model's.
// Runs for GPT-2 (Conv1D) and RoBERTa (nn.Linear + classification head), for both methods.

import { describe, expect, it } from 'vitest';
import { encoderBatch } from '../../src/models/batch';
import { parseConfig } from '../../src/models/config';
import { instantiate, type LoadedModel } from '../../src/models/load';
import type { HostTensor } from '../../src/models/weights';
import { matchesTarget, selectLinears, TargetError } from '../../src/peft/adapters';
import { applyImportedAdapter } from '../../src/peft/apply';
import { exportPeft, peftSelects } from '../../src/peft/export';
import { importPeft } from '../../src/peft/import';
import { mergeWeights } from '../../src/peft/merge';
import { DEFAULT_SETTINGS } from '../../src/store/configSlice';
import { trainableCount } from '../../src/store/derived';
import { CpuBackend } from '../../src/tensor/cpu';
import { Rng } from '../../src/tensor/rng';
import { DEFAULT_RUN, trainMethod } from '../../src/train/run';
import { exportInput } from '../../src/train/snapshot';
import { type HostBatch, taskFor } from '../../src/train/task';
import { DEFAULT_OPTIM, Trainer, type TrainMethod } from '../../src/train/trainer';
import { adaptableModules } from '../../src/worker/summary';
import { expectClose } from '../helpers/check';
import { idsTokenizer, randomBert, randomGpt2 } from '../helpers/randomModel';

const tok = idsTokenizer(41, 1);

function gpt(weights: Map<string, HostTensor>): LoadedModel {
  const config = parseConfig({
    model_type: 'gpt2',
    vocab_size: 41,
    n_positions: 16,
    n_embd: 16,
    n_layer: 2,
    n_head: 2,
  });
  return instantiate(new CpuBackend(), config, tok, { tensors: weights, initialized: [], ignored: [] }, 'tiny-gpt2');
}

function roberta(weights: Map<string, HostTensor>): LoadedModel {
  const config = parseConfig({
    model_type: 'roberta',
    vocab_size: 41,
    hidden_size: 16,
    num_hidden_layers: 2,
    num_attention_heads: 2,
    intermediate_size: 32,
    max_position_embeddings: 20,
    num_labels: 3,
    pad_token_id: 1,
  });
  return instantiate(new CpuBackend(), config, tok, { tensors: weights, initialized: [], ignored: [] }, 'tiny-roberta');
}

function lmBatch(seed: number): HostBatch {
  const r = new Rng(seed),
    ids = Int32Array.from({ length: 12 }, () => r.int(41));
  return { kind: 'lm', B: 2, T: 6, ids, targets: Int32Array.from(ids, (_, i) => (i % 6 === 5 ? -100 : ids[i + 1])) };
}

function clsBatch(seed: number, m: LoadedModel): HostBatch {
  const r = new Rng(seed),
    seq = (n: number) => ({
      ids: [0, ...Array.from({ length: n }, () => 3 + r.int(38)), 2],
      typeIds: new Array(n + 2).fill(0),
    });
  if (m.kind !== 'bert' && m.kind !== 'roberta') throw new Error('encoder only');
  return {
    kind: 'cls',
    enc: encoderBatch([seq(5), seq(3)], m.config.arch),
    labels: Int32Array.from([r.int(3), r.int(3)]),
  };
}

async function logits(m: LoadedModel, batch: HostBatch): Promise<Float32Array> {
  const task = taskFor(m.params.be, m);
  task.setBatch(batch);
  task.forwardLoss();
  return (await m.params.be.read(task.logits())) as Float32Array;
}

const methods = (targets: string[]): TrainMethod[] => [
  {
    method: 'dora',
    targets,
    budget: 2,
    pruneInterval: 1,
    adapter: { method: 'dora', R0: 3, alpha: 8, dropout: 0.1, seed: 3 },
  },
  { method: 'lora', targets, adapter: { method: 'lora', R0: 4, alpha: 8, dropout: 0.1, seed: 3 } },
];

describe.each([
  {
    name: 'gpt2',
    make: gpt,
    weights: () => randomGpt2({ V: 41, P: 16, C: 16, L: 2 }),
    targets: ['attn.c_attn', 'mlp.c_fc', 'mlp.c_proj'],
    batch: (s: number) => lmBatch(s),
  },
  {
    name: 'roberta',
    make: roberta,
    weights: () => randomBert({ V: 41, P: 20, C: 16, L: 2, F: 32, labels: 3, variant: 'roberta' }),
    targets: ['attention.self.query', 'attention.self.value', 'output.dense'],
    batch: null,
  },
])('$name: export -> import reproduces the adapted model', ({ make, weights, targets, batch }) => {
  it.each(methods(targets).map((m) => [m.method, m] as const))('%s', async (_, method) => {
    const w = weights(),
      model = make(w),
      be = model.params.be;
    const mkBatch = (s: number) => (batch ? batch(s) : clsBatch(s, model));
    const trainer = new Trainer(be, taskFor(be, model), method, {
      ...DEFAULT_OPTIM,
      lr: 2e-2,
      totalSteps: 12,
      dem: { eta: 0.1, variant: 'code' },
    });
    for (let s = 1; s <= 12; s++) trainer.trainStep(mkBatch(s));
    trainer.adapters!.training = false;
    const probe = mkBatch(100),
      want = await logits(model, probe);
    const base = await logits(make(w), probe);
    const { adapterConfig, adapterModel } = exportPeft(await exportInput(trainer, model));
    const fresh = make(w);
    applyImportedAdapter(fresh.params.be, fresh, importPeft(JSON.stringify(adapterConfig), adapterModel, fresh.kind));
    const got = await logits(fresh, probe);
    expectClose(got, want, 1e-5, 1e-5, 'logits after export/import');
    // and the adapter really changed the model
    expect(Math.max(...Array.from(want, (v, i) => Math.abs(v - base[i])))).toBeGreaterThan(1e-3);
  });
});

function bert(weights: Map<string, HostTensor>): LoadedModel {
  const config = parseConfig({
    model_type: 'bert',
    vocab_size: 41,
    hidden_size: 16,
    num_hidden_layers: 2,
    num_attention_heads: 2,
    intermediate_size: 32,
    max_position_embeddings: 20,
    num_labels: 3,
    pad_token_id: 0,
  });
  return instantiate(new CpuBackend(), config, tok, { tensors: weights, initialized: [], ignored: [] }, 'tiny-bert');
}

describe('target modules: whole module types everywhere', () => {
  const w = () => randomBert({ V: 41, P: 20, C: 16, L: 2, F: 32, labels: 3, variant: 'bert' });

  it("BERT with [output.dense] adapts Wf2 only; the page count is the trainer's; PEFT selects exactly those modules", async () => {
    const model = bert(w()),
      be = model.params.be;
    expect(matchesTarget('attention.output.dense', ['output.dense'])).toBe(false);
    const cfg = { ...DEFAULT_RUN, method: 'dora' as const, budget: 2, targets: ['output.dense'] };
    const trainer = new Trainer(be, taskFor(be, model), trainMethod(model, cfg), {
      ...DEFAULT_OPTIM,
      lr: 2e-2,
      totalSteps: 12,
    });
    const adapted = trainer.adapters!.modules.map((m) => m.linear.name);
    expect(adapted).toEqual(['encoder.layer.0.output.dense', 'encoder.layer.1.output.dense']);

    if (model.kind !== 'bert' && model.kind !== 'roberta') throw new Error('encoder expected');
    const summary = {
      id: 't',
      kind: model.kind,
      title: 't',
      task: model.config.task,
      head: model.arch.headSize(model.config),
      layers: 2,
      hidden: 16,
      heads: 2,
      vocab: 41,
      maxPositions: 20,
      parameters: 1,
      modules: adaptableModules(model.config),
      moduleTypes: [],
      defaultTargets: [],
    };
    const page = trainableCount(
      summary,
      { ...DEFAULT_SETTINGS, method: 'dora', budget: 2, targets: ['output.dense'] },
      3,
    );
    expect(page.modules).toBe(2);
    expect(page.total).toBe(trainer.trainableParameters);

    for (let s = 1; s <= 3; s++) trainer.trainStep(clsBatch(s, model));
    const { adapterConfig } = exportPeft(await exportInput(trainer, model));
    const targetModules = adapterConfig.target_modules as string[];
    // Every linear of BertForSequenceClassification, named as PEFT sees them.
    const hfLinears = [...model.net.linears().map((l) => `bert.${l.name}`), 'bert.pooler.dense', 'classifier'];
    expect(hfLinears.filter((n) => peftSelects(n, targetModules))).toEqual(adapted.map((n) => `bert.${n}`));
    // The bare type under PEFT's rule would have taken Wo as well: the reason the export lists full paths.
    expect(hfLinears.filter((n) => peftSelects(n, ['output.dense'])).length).toBe(4);
  });

  it('a target that is not a whole module type is a TargetError listing the valid ones', () => {
    const model = bert(w());
    expect(() => selectLinears(model.net.linears(), ['query'])).toThrow(TargetError);
    expect(() => selectLinears(model.net.linears(), ['query'])).toThrow(
      /"query" is not a module type.*attention\.self\.query/,
    );
  });
});

describe('an export taken mid-run (before the final pruning event)', () => {
  it("holds the components live now, so its merged weights are the trained model's effective weights; it is provisional", async () => {
    const w = randomGpt2({ V: 41, P: 16, C: 16, L: 2 }),
      model = gpt(w),
      be = model.params.be;
    const method: TrainMethod = {
      method: 'dora',
      targets: ['attn.c_attn', 'mlp.c_fc'],
      budget: 2,
      pruneInterval: 5,
      adapter: { method: 'dora', R0: 3, alpha: 8, dropout: 0, seed: 3 },
    };
    const trainer = new Trainer(be, taskFor(be, model), method, {
      ...DEFAULT_OPTIM,
      lr: 2e-2,
      totalSteps: 40,
      dem: { eta: 0.1, variant: 'code' },
    });
    // T = 40: prune events after steps 6, 11, 16 and the final one after 20. Stop three steps after the event at 11.
    expect(trainer.allocator!.finalStep()).toBe(20);
    for (let s = 1; s <= 14; s++) trainer.trainStep(lmBatch(s));
    const a = trainer.adapters!,
      R0 = 3;
    const theta = (await be.read(a.theta)) as Float32Array,
      mask = (await be.read(trainer.allocator!.mask)) as Float32Array;
    const regrown = Array.from(mask).filter((v, i) => v === 0 && theta[i] !== 0).length;
    expect(regrown, 'components pruned at the last event that regrew since').toBeGreaterThan(0);

    const input = await exportInput(trainer, model);
    expect(input.provisional).toBe(true);
    const { adapterConfig, adapterModel, rankMap } = exportPeft(input);
    expect(rankMap.provisional).toBe(true);
    const merged = mergeWeights(model.weights.tensors, input);
    for (const m of a.modules) {
      const { inF, outF, offA, offB, offC } = m.slot,
        W0 = w.get(`${m.linear.name}.weight`)!.data;
      const got = merged.get(`${m.linear.name}.weight`)!.data;
      for (let i = 0; i < inF; i++) {
        for (let o = 0; o < outF; o++) {
          // Conv1D (in,out): W = W0 + scale * sum over all R0 components of c_k B[o,k] A[k,i], as the forward computes.
          let d = 0;
          for (let k = 0; k < R0; k++) d += theta[offC + k] * theta[offB + o * R0 + k] * theta[offA + k * inF + i];
          const want = W0[i * outF + o] + a.scale * d;
          expect(Math.abs(got[i * outF + o] - want), `${m.linear.name}[${i},${o}]`).toBeLessThanOrEqual(
            1e-6 + 1e-6 * Math.abs(want),
          );
        }
      }
    }
    // The exported adapter, loaded by the importer, computes what the trained model computes now.
    a.training = false;
    const probe = lmBatch(100),
      want = await logits(model, probe),
      fresh = gpt(w);
    applyImportedAdapter(fresh.params.be, fresh, importPeft(JSON.stringify(adapterConfig), adapterModel, fresh.kind));
    expectClose(await logits(fresh, probe), want, 1e-5, 1e-5, 'logits of the mid-run export');

    for (let s = 15; s <= 40; s++) trainer.trainStep(lmBatch(s));
    const after = exportPeft(await exportInput(trainer, model)).rankMap;
    expect(after.provisional).toBe(false);
    expect(after.total).toBe(2 * 2 * 2);
  });
});
