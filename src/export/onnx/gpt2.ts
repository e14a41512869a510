// GPT-2 causal LM as an ONNX graph with the inputs and outputs transformers.js feeds a decoder: input_ids,
// attention_mask (batch, past+seq), position_ids, past_key_values.N.key/value (batch, heads, past, head_dim) ->
// logits (batch, seq, vocab) and present.N.key/value (batch, heads, past+seq, head_dim). A first call passes
// past tensors of length 0. Conv1D weights are already (in,out), as MatMul wants; the LM head is tied to wte.

import type { HostTensor } from '../../models/weights';
import type { Gpt2Config } from '../../nn/gpt2';
import {
  attention,
  decoderInputs,
  decoderMask,
  decoderOutputs,
  GraphBuilder,
  geluTanh,
  layerNorm,
  linear,
  splitHeads,
  tensorOf,
} from './graph';

export function gpt2Graph(cfg: Gpt2Config, weights: Map<string, HostTensor>): GraphBuilder {
  const { nEmbd: C, nHead: H, nInner: F, nLayer: L, vocabSize: V, nPositions: P, eps } = cfg,
    D = C / H;
  const g = new GraphBuilder('gpt2');
  const w = (name: string, shape: number[]) => g.floats(name, shape, tensorOf(weights, name, shape).data);

  const inputs = decoderInputs(g, { layers: L, kvHeads: H, headDim: D });
  const { ids, posIds, past } = inputs;

  const wte = w('wte.weight', [V, C]);
  let x = g.node('Add', [
    g.node('Gather', [wte, ids], { axis: 0 }),
    g.node('Gather', [w('wpe.weight', [P, C]), posIds], { axis: 0 }),
  ]);

  // Key j is hidden from query i (absolute position past+i) when j > past+i, or when attention_mask[b, j] is 0.
  const masked = decoderMask(g, inputs, [1, 2]);

  for (let l = 0; l < L; l++) {
    const p = `h.${l}.`;
    const h = layerNorm(g, x, w(`${p}ln_1.weight`, [C]), w(`${p}ln_1.bias`, [C]), eps);
    const qkv = linear(g, h, w(`${p}attn.c_attn.weight`, [C, 3 * C]), w(`${p}attn.c_attn.bias`, [3 * C]));
    const [q, k, v] = g.nodeN('Split', [qkv, g.constInts([C, C, C])], 3, { axis: -1 });
    const key = g.node('Concat', [past[l].key, splitHeads(g, k, H, D)], { axis: 2 }, `present.${l}.key`);
    const value = g.node('Concat', [past[l].value, splitHeads(g, v, H, D)], { axis: 2 }, `present.${l}.value`);
    const ctx = attention(g, splitHeads(g, q, H, D), key, value, masked, D, C);
    x = g.node('Add', [x, linear(g, ctx, w(`${p}attn.c_proj.weight`, [C, C]), w(`${p}attn.c_proj.bias`, [C]))]);
    const h2 = layerNorm(g, x, w(`${p}ln_2.weight`, [C]), w(`${p}ln_2.bias`, [C]), eps);
    const f = geluTanh(g, linear(g, h2, w(`${p}mlp.c_fc.weight`, [C, F]), w(`${p}mlp.c_fc.bias`, [F])));
    x = g.node('Add', [x, linear(g, f, w(`${p}mlp.c_proj.weight`, [F, C]), w(`${p}mlp.c_proj.bias`, [C]))]);
  }
  const out = layerNorm(g, x, w('ln_f.weight', [C]), w('ln_f.bias', [C]), eps);
  // The tied head reads wte transposed; a Transpose of the initializer keeps one copy of the embedding in the file.
  g.node('MatMul', [out, g.node('Transpose', [wte], { perm: [1, 0] })], {}, 'logits');
  decoderOutputs(g, { vocab: V, layers: L, kvHeads: H, headDim: D });
  return g;
}
