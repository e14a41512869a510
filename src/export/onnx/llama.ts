// Llama-family causal LM (Llama 2/3, SmolLM2, Qwen2/2.5, Qwen3) as an ONNX graph with the inputs and outputs
// transformers.js feeds a LlamaForCausalLM / Qwen2ForCausalLM / Qwen3ForCausalLM decoder: input_ids,
// attention_mask (batch, past+seq), position_ids (batch, seq), past_key_values.N.key/value
// (batch, kv_heads, past, head_dim) -> logits (batch, seq, vocab) and present.N.key/value
// (batch, kv_heads, past+seq, head_dim). A first call passes past tensors of length 0.
// The maths is src/nn/llamaBody.ts's: pre-norm RMSNorm blocks, Qwen3's per-head q/k RMSNorm before RoPE, RoPE in
// the rotate_half layout with angles position_ids * inv_freq (inv_freq computed in float64 with llama3 scaling, stored
// as float32), grouped-query attention by viewing the H query heads as (KVH, H/KVH) so each group's MatMul broadcasts
// over its kv head, SwiGLU MLP, final RMSNorm, and the lm_head (tied: embed_tokens transposed in the graph).
// nn.Linear weights are (out,in); they are stored transposed, (in,out), for MatMul. Keys are cached after RoPE.

import type { LlamaConfig } from '../../models/arch/llamaConfig';
import type { HostTensor } from '../../models/weights';
import { ropeInvFreq } from '../../ops/rope';
import {
  decoderInputs,
  decoderMask,
  decoderOutputs,
  GraphBuilder,
  OnnxExportError,
  tensorOf,
  transpose2d,
  type Value,
} from './graph';

/** x * rsqrt(mean(x^2) + eps) * w over the last axis (opset 17 has no RMSNormalization). */
function rmsNorm(g: GraphBuilder, x: Value, w: Value, eps: number): Value {
  const ms = g.node('ReduceMean', [g.node('Mul', [x, x])], { axes: [-1], keepdims: 1 });
  const inv = g.node('Reciprocal', [g.node('Sqrt', [g.node('Add', [ms, g.scalar(eps)])])]);
  return g.node('Mul', [g.node('Mul', [x, inv]), w]);
}

/** x * cos + rotate_half(x) * sin, rotate_half(x) = cat(-x[D/2:], x[:D/2]) over the last axis. */
function rope(g: GraphBuilder, x: Value, cos: Value, sin: Value, half: number): Value {
  const [a, b] = g.nodeN('Split', [x, g.constInts([half, half])], 2, { axis: -1 });
  const rotated = g.node('Concat', [g.node('Neg', [b]), a], { axis: -1 });
  return g.node('Add', [g.node('Mul', [x, cos]), g.node('Mul', [rotated, sin])]);
}

export function llamaGraph(cfg: LlamaConfig, weights: Map<string, HostTensor>): GraphBuilder {
  if (cfg.task !== 'causal-lm') {
    throw new OnnxExportError(
      `config.json: ${cfg.architecture} (sequence classification) cannot be exported to ONNX yet; ` +
        'export a causal LM (ForCausalLM) of this family.',
    );
  }
  const { hidden: C, intermediate: F, layers: L, heads: H, kvHeads: KVH, headDim: D, vocabSize: V, eps } = cfg;
  const rep = H / KVH;
  const g = new GraphBuilder(cfg.family);
  const w = (name: string, shape: number[]) => g.floats(name, shape, tensorOf(weights, name, shape).data);
  /** An nn.Linear (out,in) stored (in,out), with its bias when the config has one. */
  const lin = (x: Value, module: string, inF: number, outF: number, bias: boolean) => {
    const t = tensorOf(weights, `${module}.weight`, [outF, inF]);
    const y = g.node('MatMul', [x, g.floats(`${module}.weight`, [inF, outF], transpose2d(t.data, outF, inF))]);
    return bias ? g.node('Add', [y, w(`${module}.bias`, [outF])]) : y;
  };

  const inputs = decoderInputs(g, { layers: L, kvHeads: KVH, headDim: D });
  const { ids, posIds, past } = inputs;

  const embed = w('model.embed_tokens.weight', [V, C]);
  let x = g.node('Gather', [embed, ids], { axis: 0 });

  // cos/sin (batch, 1, seq, D): angles position_ids * inv_freq, duplicated over both halves of a head.
  const inv = g.floats('rotary_emb.inv_freq', [D / 2], Float32Array.from(ropeInvFreq(cfg.rope)));
  const angles = g.node('Mul', [g.node('Unsqueeze', [g.node('Cast', [posIds], { to: 1 }), g.constInts([-1])]), inv]);
  const full = g.node('Unsqueeze', [g.node('Concat', [angles, angles], { axis: -1 }), g.constInts([1])]);
  const cos = g.node('Cos', [full]),
    sin = g.node('Sin', [full]);

  // Key j is hidden from query i (absolute position past+i) when j > past+i, or when attention_mask[b, j] is 0;
  // (batch, 1, 1, seq, past+seq) for the grouped (batch, KVH, H/KVH, seq, past+seq) scores.
  const masked = decoderMask(g, inputs, [1, 2, 3]);

  /** (B,T,heads·D) -> (B,T,heads,D). */
  const heads = (v: Value, n: number) => g.node('Reshape', [v, g.constInts([0, 0, n, D])]);
  const toBhtd = (v: Value) => g.node('Transpose', [v], { perm: [0, 2, 1, 3] });

  for (let l = 0; l < L; l++) {
    const p = `model.layers.${l}.`;
    const h = rmsNorm(g, x, w(`${p}input_layernorm.weight`, [C]), eps);
    let q = heads(lin(h, `${p}self_attn.q_proj`, C, H * D, cfg.qkvBias), H);
    let k = heads(lin(h, `${p}self_attn.k_proj`, C, KVH * D, cfg.qkvBias), KVH);
    const v = toBhtd(heads(lin(h, `${p}self_attn.v_proj`, C, KVH * D, cfg.qkvBias), KVH));
    if (cfg.qkNorm) {
      q = rmsNorm(g, q, w(`${p}self_attn.q_norm.weight`, [D]), eps);
      k = rmsNorm(g, k, w(`${p}self_attn.k_norm.weight`, [D]), eps);
    }
    const qr = rope(g, toBhtd(q), cos, sin, D / 2);
    const key = g.node('Concat', [past[l].key, rope(g, toBhtd(k), cos, sin, D / 2)], { axis: 2 }, `present.${l}.key`);
    const value = g.node('Concat', [past[l].value, v], { axis: 2 }, `present.${l}.value`);
    // Query head h reads kv head floor(h / rep): (B,H,T,D) viewed as (B,KVH,rep,T,D) against (B,KVH,1,S,D).
    const qg = g.node('Reshape', [qr, g.constInts([0, KVH, rep, -1, D])]);
    const kg = g.node('Unsqueeze', [key, g.constInts([2])]);
    const vg = g.node('Unsqueeze', [value, g.constInts([2])]);
    const scores = g.node('Mul', [
      g.node('MatMul', [qg, g.node('Transpose', [kg], { perm: [0, 1, 2, 4, 3] })]),
      g.scalar(1 / Math.sqrt(D)),
    ]);
    // The lowest float32, as transformers' finfo.min: a masked score becomes exp(-inf) = 0 after the row's max.
    const filled = g.node('Where', [masked, g.scalar(-3.4028234663852886e38), scores]);
    const ctx = g.node('MatMul', [g.node('Softmax', [filled], { axis: -1 }), vg]); // (B,KVH,rep,T,D)
    const merged = g.node('Reshape', [
      g.node('Transpose', [g.node('Reshape', [ctx, g.constInts([0, H, -1, D])])], { perm: [0, 2, 1, 3] }),
      g.constInts([0, 0, H * D]),
    ]);
    x = g.node('Add', [x, lin(merged, `${p}self_attn.o_proj`, H * D, C, cfg.oBias)]);
    const h2 = rmsNorm(g, x, w(`${p}post_attention_layernorm.weight`, [C]), eps);
    const gate = lin(h2, `${p}mlp.gate_proj`, C, F, cfg.mlpBias);
    const act = g.node('Mul', [
      g.node('Mul', [gate, g.node('Sigmoid', [gate])]),
      lin(h2, `${p}mlp.up_proj`, C, F, cfg.mlpBias),
    ]);
    x = g.node('Add', [x, lin(act, `${p}mlp.down_proj`, F, C, cfg.mlpBias)]);
  }
  const out = rmsNorm(g, x, w('model.norm.weight', [C]), eps);
  // Tied: a Transpose of embed_tokens keeps one copy of the embedding in the file.
  const head = cfg.tieWordEmbeddings
    ? g.node('Transpose', [embed], { perm: [1, 0] })
    : g.floats('lm_head.weight', [C, V], transpose2d(tensorOf(weights, 'lm_head.weight', [V, C]).data, V, C));
  g.node('MatMul', [out, head], {}, 'logits');
  decoderOutputs(g, { vocab: V, layers: L, kvHeads: KVH, headDim: D });
  return g;
}
