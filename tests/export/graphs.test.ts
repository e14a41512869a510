// The ONNX graphs on random small models, in onnxruntime-web against our CPU forward: RoBERTa's position ids (counted
// from padding_idx + 1 over non-pad tokens) on a padded batch, and GPT-2's attention_mask with a left-padded batch as
// transformers.js builds it for batched generation (position_ids = cumsum(mask) - 1, padding set to 1), and a
// cached step.

import * as ort from 'onnxruntime-web';
import { describe, expect, it } from 'vitest';
import { bertGraph } from '../../src/export/onnx/bert';
import { gpt2Graph } from '../../src/export/onnx/gpt2';
import { GraphBuilder } from '../../src/export/onnx/graph';
import { encoderBatch, uploadEncoderBatch } from '../../src/models/batch';
import { parseConfig } from '../../src/models/config';
import type { HostTensor } from '../../src/models/weights';
import { BertClassifier } from '../../src/nn/bert';
import { Gpt2 } from '../../src/nn/gpt2';
import { ParamStore } from '../../src/nn/params';
import type { Tensor } from '../../src/tensor/backend';
import { CpuBackend } from '../../src/tensor/cpu';
import { expectClose } from '../helpers/check';
import { randomBert, randomGpt2 } from '../helpers/randomModel';

const TOL = 1e-4;
const i64 = (v: ArrayLike<number>, dims: number[]) =>
  new ort.Tensor('int64', BigInt64Array.from(Array.from(v, BigInt)), dims);

function store(be: CpuBackend, w: Map<string, HostTensor>): ParamStore {
  return new ParamStore(be, new Map([...w].map(([n, t]) => [n, be.fromArray(t.data, t.shape, n)] as [string, Tensor])));
}

async function sessionOf(g: GraphBuilder): Promise<ort.InferenceSession> {
  ort.env.wasm.numThreads = 1;
  return ort.InferenceSession.create(g.encode({ producer: 'test' }));
}

describe('ONNX graphs on random models', () => {
  it('RoBERTa: a padded batch (pad id 1, positions from 2) gives our logits', async () => {
    const config = parseConfig({
      model_type: 'roberta',
      vocab_size: 29,
      hidden_size: 16,
      num_hidden_layers: 2,
      num_attention_heads: 2,
      intermediate_size: 32,
      max_position_embeddings: 16,
      num_labels: 3,
      pad_token_id: 1,
    });
    if (config.kind === 'gpt2') throw new Error('roberta expected');
    const w = randomBert({ V: 29, P: 16, C: 16, L: 2, F: 32, labels: 3, variant: 'roberta' });
    const be = new CpuBackend();
    const net = new BertClassifier(be, config.arch, store(be, w));
    const batch = encoderBatch(
      [
        { ids: [0, 5, 9, 13, 7, 2], typeIds: [0, 0, 0, 0, 0, 0] },
        { ids: [0, 11, 2], typeIds: [0, 0, 0] },
      ],
      config.arch,
    );
    const ours = (await be.read(net.forward(uploadEncoderBatch(be, batch)))) as Float32Array;
    const s = await sessionOf(bertGraph(config.arch, w));
    const dims = [batch.B, batch.T];
    const out = await s.run({
      input_ids: i64(batch.ids, dims),
      attention_mask: i64(batch.mask, dims),
      token_type_ids: i64(batch.typeIds, dims),
    });
    expect(out.logits.dims).toEqual([2, 3]);
    expectClose(out.logits.data as Float32Array, ours, TOL, 0, 'roberta logits');
  });

  it('GPT-2: a left-padded batch row and its cached next step equal the unpadded sequence', async () => {
    const config = parseConfig({
      model_type: 'gpt2',
      vocab_size: 41,
      n_positions: 16,
      n_embd: 16,
      n_layer: 2,
      n_head: 2,
    });
    if (config.kind !== 'gpt2') throw new Error('gpt2 expected');
    const w = randomGpt2({ V: 41, P: 16, C: 16, L: 2 });
    const be = new CpuBackend();
    const net = new Gpt2(be, config.arch, store(be, w));
    const V = 41,
      H = 2,
      D = 8,
      L = 2;
    const long = [3, 17, 8, 30, 21],
      short = [12, 4, 39],
      next = [[6], [25]];
    const logitsOf = async (ids: number[]) =>
      Float32Array.from(
        (await be.read(net.forward(be.fromArray(Int32Array.from(ids), [ids.length]), 1, ids.length))) as Float32Array,
      );
    const s = await sessionOf(gpt2Graph(config.arch, w));
    // Row 1 is left-padded by 2 (pad id 0); transformers.js's position ids for it: 1,1,0,1,2.
    const mask = [1, 1, 1, 1, 1, 0, 0, 1, 1, 1];
    const feeds: Record<string, ort.Tensor> = {
      input_ids: i64([...long, 0, 0, ...short], [2, 5]),
      attention_mask: i64(mask, [2, 5]),
      position_ids: i64([0, 1, 2, 3, 4, 1, 1, 0, 1, 2], [2, 5]),
    };
    for (let l = 0; l < L; l++) {
      for (const k of ['key', 'value'])
        feeds[`past_key_values.${l}.${k}`] = new ort.Tensor('float32', new Float32Array(0), [2, H, 0, D]);
    }
    const first = await s.run(feeds);
    const got = first.logits.data as Float32Array;
    expectClose(got.subarray(0, 5 * V), await logitsOf(long), TOL, 0, 'row 0');
    expectClose(got.subarray(7 * V, 10 * V), await logitsOf(short), TOL, 0, 'row 1 (left-padded), real positions');

    const step: Record<string, ort.Tensor> = {
      input_ids: i64(next.flat(), [2, 1]),
      attention_mask: i64([...mask.slice(0, 5), 1, ...mask.slice(5), 1], [2, 6]),
      position_ids: i64([5, 3], [2, 1]),
    };
    for (let l = 0; l < L; l++)
      for (const k of ['key', 'value']) step[`past_key_values.${l}.${k}`] = first[`present.${l}.${k}`];
    const second = (await s.run(step)).logits.data as Float32Array;
    expectClose(
      second.subarray(0, V),
      (await logitsOf([...long, ...next[0]])).subarray(5 * V),
      TOL,
      0,
      'row 0, cached step',
    );
    expectClose(
      second.subarray(V),
      (await logitsOf([...short, ...next[1]])).subarray(3 * V),
      TOL,
      0,
      'row 1, cached step',
    );
  });

  it('the graph builder refuses a value name used twice', () => {
    const g = new GraphBuilder('t');
    g.input('x', 'float32', [1]);
    expect(() => g.floats('x', [1], Float32Array.of(1))).toThrow(/graph t: the value name x is used twice/);
    expect(() => g.floats('y', [2], Float32Array.of(1))).toThrow(/initializer y: 1 values for dims \[2\]/);
  });
});
