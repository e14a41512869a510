// BERT / RoBERTa sequence classification as an ONNX graph with transformers.js's encoder inputs: input_ids,
// attention_mask, token_type_ids (batch, seq) -> logits (batch, labels). Post-LN blocks, erf GELU. RoBERTa numbers
// its positions from padding_idx + 1 over non-pad tokens (transformers' create_position_ids_from_input_ids).
// Heads: BERT pooler.dense + tanh + classifier; RoBERTa classifier.dense + tanh + classifier.out_proj (same maths).
// nn.Linear weights are (out,in); they are stored transposed, (in,out), for MatMul.

import type { HostTensor } from '../../models/weights';
import type { BertConfig } from '../../nn/bert';
import {
  attention,
  GraphBuilder,
  geluErf,
  layerNorm,
  linear,
  splitHeads,
  tensorOf,
  transpose2d,
  type Value,
} from './graph';

export function bertGraph(cfg: BertConfig, weights: Map<string, HostTensor>): GraphBuilder {
  const {
    hidden: C,
    heads: H,
    intermediate: F,
    layers: L,
    vocabSize: V,
    maxPositions: P,
    typeVocab,
    eps,
    numLabels,
  } = cfg;
  const D = C / H;
  const g = new GraphBuilder(cfg.variant);
  const w = (name: string, shape: number[]) => g.floats(name, shape, tensorOf(weights, name, shape).data);
  /** An nn.Linear (out,in) weight stored as (in,out) under `<module>.weight`, and its bias. */
  const lin = (x: Value, module: string, inF: number, outF: number) => {
    const t = tensorOf(weights, `${module}.weight`, [outF, inF]);
    return linear(
      g,
      x,
      g.floats(`${module}.weight`, [inF, outF], transpose2d(t.data, outF, inF)),
      w(`${module}.bias`, [outF]),
    );
  };

  const ids = g.input('input_ids', 'int64', ['batch_size', 'sequence_length']);
  const mask = g.input('attention_mask', 'int64', ['batch_size', 'sequence_length']);
  const types = g.input('token_type_ids', 'int64', ['batch_size', 'sequence_length']);

  let positions: Value;
  if (cfg.variant === 'roberta') {
    const pad = g.constInts([cfg.padTokenId], true);
    const real = g.node('Cast', [g.node('Not', [g.node('Equal', [ids, pad])])], { to: 7 });
    positions = g.node('Add', [g.node('Mul', [g.node('CumSum', [real, g.constInts([1], true)]), real]), pad]);
  } else {
    const seq = g.node('Gather', [g.node('Shape', [ids]), g.constInts([1], true)], { axis: 0 });
    positions = g.node('Range', [g.constInts([0], true), seq, g.constInts([1], true)]);
  }
  const emb = g.node('Add', [
    g.node('Add', [
      g.node('Gather', [w('embeddings.word_embeddings.weight', [V, C]), ids], { axis: 0 }),
      g.node('Gather', [w('embeddings.position_embeddings.weight', [P, C]), positions], { axis: 0 }),
    ]),
    g.node('Gather', [w('embeddings.token_type_embeddings.weight', [typeVocab, C]), types], { axis: 0 }),
  ]);
  let x = layerNorm(g, emb, w('embeddings.LayerNorm.weight', [C]), w('embeddings.LayerNorm.bias', [C]), eps);
  // (batch, 1, 1, seq): padding keys are hidden from every query.
  const masked = g.node('Unsqueeze', [g.node('Equal', [mask, g.constInts([0], true)]), g.constInts([1, 2])]);

  for (let l = 0; l < L; l++) {
    const p = `encoder.layer.${l}.`;
    const q = splitHeads(g, lin(x, `${p}attention.self.query`, C, C), H, D);
    const k = splitHeads(g, lin(x, `${p}attention.self.key`, C, C), H, D);
    const v = splitHeads(g, lin(x, `${p}attention.self.value`, C, C), H, D);
    const ctx = attention(g, q, k, v, masked, D, C);
    const a = lin(ctx, `${p}attention.output.dense`, C, C);
    x = layerNorm(
      g,
      g.node('Add', [x, a]),
      w(`${p}attention.output.LayerNorm.weight`, [C]),
      w(`${p}attention.output.LayerNorm.bias`, [C]),
      eps,
    );
    const f = lin(geluErf(g, lin(x, `${p}intermediate.dense`, C, F)), `${p}output.dense`, F, C);
    x = layerNorm(
      g,
      g.node('Add', [x, f]),
      w(`${p}output.LayerNorm.weight`, [C]),
      w(`${p}output.LayerNorm.bias`, [C]),
      eps,
    );
  }
  const cls = g.node('Gather', [x, g.constInts([0], true)], { axis: 1 });
  const [dense, out] =
    cfg.variant === 'bert' ? ['pooler.dense', 'classifier'] : ['classifier.dense', 'classifier.out_proj'];
  const logits = lin(g.node('Tanh', [lin(cls, dense, C, C)]), out, C, numLabels);
  g.output(logits, 'logits', 'float32', ['batch_size', numLabels]);
  return g;
}
