#!/usr/bin/python3
"""tools/llama_ref.py — a hand-written PyTorch reference of the Hugging Face Llama family (no transformers package).

Written from the published modelling formulas of transformers (modeling_llama.py, modeling_qwen2.py,
modeling_qwen3.py, modeling_rope_utils.py). Parameter names are exactly the checkpoint names:

  model.embed_tokens.weight [V, d]                       (nn.Embedding with padding_idx = pad_token_id, as in HF)
  model.layers.N.input_layernorm.weight [d]
  model.layers.N.self_attn.q_proj.weight [H*hd, d]       (+ .bias for qwen2, or llama with attention_bias)
  model.layers.N.self_attn.k_proj.weight [kvH*hd, d]     (+ .bias likewise)
  model.layers.N.self_attn.v_proj.weight [kvH*hd, d]     (+ .bias likewise)
  model.layers.N.self_attn.o_proj.weight [d, H*hd]       (no bias except llama with attention_bias)
  model.layers.N.self_attn.{q,k}_norm.weight [hd]        (qwen3 only)
  model.layers.N.post_attention_layernorm.weight [d]
  model.layers.N.mlp.{gate,up}_proj.weight [I, d], mlp.down_proj.weight [d, I]
  model.norm.weight [d]
  lm_head.weight [V, d]                                  (absent when tie_word_embeddings: logits use embed_tokens)
  score.weight [num_labels, d]                           (LlamaForSequenceClassification, no bias)

Semantics (one decoder layer):  h = x + o_proj(attn(rope(q), rope(k), v)) with q, k, v from RMSNorm_in(x);
out = h + down(silu(gate(n)) * up(n)) with n = RMSNorm_post(h).
  * RMSNorm(x) = w * (x * rsqrt(mean(x^2, -1) + eps)) (HF computes it in float32; here in the model's dtype).
  * RoPE in HF's half-split layout: inv_freq_i = theta^(-2i/hd), i < hd/2; angle = pos * inv_freq; cos/sin of
    cat(angle, angle); x' = x * cos + rotate_half(x) * sin, rotate_half(x) = cat(-x[hd/2:], x[:hd/2]).
    rope_scaling {rope_type: llama3}: wavelen = 2 pi / inv_freq; wavelen > old_ctx/low_freq_factor -> inv_freq/factor;
    wavelen < old_ctx/high_freq_factor -> unchanged; between: (1 - s) inv_freq/factor + s inv_freq with
    s = (old_ctx/wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor). Attention factor 1.
  * Qwen3: q_norm/k_norm are RMSNorms over head_dim applied per head to q and k before RoPE.
  * GQA: query head h reads kv head h // (H / kvH) (repeat_kv). Scores q k^T * hd^-0.5 + causal mask (+ padding
    mask from attention_mask), softmax over keys, then @ v.
  * LlamaForCausalLM loss: mean cross-entropy of logits[:, :-1] vs labels[:, 1:] (ignore_index -100).
  * LlamaForSequenceClassification: logits = score(hidden) at every position, pooled at the last position where
    input_ids != pad_token_id; loss = mean cross-entropy vs labels (single_label_classification).
Code licence: Apache-2.0.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

ARCHS = ('LlamaForCausalLM', 'Qwen2ForCausalLM', 'Qwen3ForCausalLM', 'LlamaForSequenceClassification')


class RMSNorm(nn.Module):
    def __init__(self, n, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n))
        self.eps = eps

    def forward(self, x):
        return self.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))


def head_dim_of(c):
    return c.get('head_dim') or c['hidden_size'] // c['num_attention_heads']


def rope_inv_freq(c, dtype=torch.float64):
    """inv_freq [hd/2] for rope_theta, with rope_scaling None/default or llama3 (modeling_rope_utils)."""
    hd = head_dim_of(c)
    inv = 1.0 / (c['rope_theta'] ** (torch.arange(0, hd, 2, dtype=torch.int64).to(dtype) / hd))
    rs = c.get('rope_scaling')
    kind = (rs or {}).get('rope_type', (rs or {}).get('type', 'default'))
    if kind == 'default':
        return inv
    if kind != 'llama3':
        raise ValueError(f'rope_scaling type {kind!r} is not implemented in this reference')
    factor, low, high = rs['factor'], rs['low_freq_factor'], rs['high_freq_factor']
    old = rs['original_max_position_embeddings']
    low_wl, high_wl = old / low, old / high
    wavelen = 2 * math.pi / inv
    scaled = torch.where(wavelen > low_wl, inv / factor, inv)
    smooth = (old / wavelen - low) / (high - low)
    blended = (1 - smooth) * scaled / factor + smooth * scaled
    medium = (wavelen >= high_wl) & (wavelen <= low_wl)
    return torch.where(medium, blended, scaled)


def rope_cos_sin(inv_freq, positions, dtype):
    """cos, sin [.., T, hd] for integer positions [B, T] (or [T])."""
    ang = positions.to(inv_freq.dtype)[..., None] * inv_freq
    emb = torch.cat((ang, ang), dim=-1)
    return emb.cos().to(dtype), emb.sin().to(dtype)


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def apply_rope(x, cos, sin):
    """x [B, heads, T, hd]; cos/sin [B, T, hd]."""
    return x * cos[:, None] + rotate_half(x) * sin[:, None]


def repeat_kv(x, n_rep):
    """[B, kvH, T, hd] -> [B, kvH * n_rep, T, hd]; query head h reads kv head h // n_rep."""
    if n_rep == 1:
        return x
    B, kvH, T, hd = x.shape
    return x[:, :, None].expand(B, kvH, n_rep, T, hd).reshape(B, kvH * n_rep, T, hd)


def arch_flags(c):
    mt = c['model_type']
    if mt not in ('llama', 'qwen2', 'qwen3'):
        raise ValueError(f'model_type {mt!r} is not implemented in this reference')
    qkv_bias = True if mt == 'qwen2' else bool(c.get('attention_bias', False))
    o_bias = bool(c.get('attention_bias', False)) if mt == 'llama' else False
    return {'qkv_bias': qkv_bias, 'o_bias': o_bias, 'qk_norm': mt == 'qwen3',
            'mlp_bias': bool(c.get('mlp_bias', False))}


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        f = arch_flags(c)
        d, self.H = c['hidden_size'], c['num_attention_heads']
        self.kvH = c.get('num_key_value_heads') or self.H
        self.hd = head_dim_of(c)
        self.q_proj = nn.Linear(d, self.H * self.hd, bias=f['qkv_bias'])
        self.k_proj = nn.Linear(d, self.kvH * self.hd, bias=f['qkv_bias'])
        self.v_proj = nn.Linear(d, self.kvH * self.hd, bias=f['qkv_bias'])
        self.o_proj = nn.Linear(self.H * self.hd, d, bias=f['o_bias'])
        self.qk_norm = f['qk_norm']
        if self.qk_norm:
            self.q_norm = RMSNorm(self.hd, c['rms_norm_eps'])
            self.k_norm = RMSNorm(self.hd, c['rms_norm_eps'])

    def forward(self, x, cos, sin, mask_add):
        B, T, _ = x.shape
        q = self.q_proj(x).view(B, T, self.H, self.hd)
        k = self.k_proj(x).view(B, T, self.kvH, self.hd)
        v = self.v_proj(x).view(B, T, self.kvH, self.hd).transpose(1, 2)
        if self.qk_norm:
            q, k = self.q_norm(q), self.k_norm(k)
        q, k = apply_rope(q.transpose(1, 2), cos, sin), apply_rope(k.transpose(1, 2), cos, sin)
        rep = self.H // self.kvH
        k, v = repeat_kv(k, rep), repeat_kv(v, rep)
        w = torch.matmul(q, k.transpose(-1, -2)) * self.hd ** -0.5 + mask_add
        a = torch.matmul(torch.softmax(w, dim=-1), v)
        return self.o_proj(a.transpose(1, 2).reshape(B, T, self.H * self.hd))


class MLP(nn.Module):
    def __init__(self, c):
        super().__init__()
        d, i, b = c['hidden_size'], c['intermediate_size'], arch_flags(c)['mlp_bias']
        if c.get('hidden_act', 'silu') != 'silu':
            raise ValueError('only hidden_act silu is implemented in this reference')
        self.gate_proj = nn.Linear(d, i, bias=b)
        self.up_proj = nn.Linear(d, i, bias=b)
        self.down_proj = nn.Linear(i, d, bias=b)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class DecoderLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.input_layernorm = RMSNorm(c['hidden_size'], c['rms_norm_eps'])
        self.self_attn = Attention(c)
        self.post_attention_layernorm = RMSNorm(c['hidden_size'], c['rms_norm_eps'])
        self.mlp = MLP(c)

    def forward(self, x, cos, sin, mask_add):
        h = x + self.self_attn(self.input_layernorm(x), cos, sin, mask_add)
        return h + self.mlp(self.post_attention_layernorm(h))


class Body(nn.Module):
    """LlamaModel / Qwen2Model / Qwen3Model (the `model.*` weights)."""

    def __init__(self, c):
        super().__init__()
        self.embed_tokens = nn.Embedding(c['vocab_size'], c['hidden_size'], padding_idx=c.get('pad_token_id'))
        self.layers = nn.ModuleList([DecoderLayer(c) for _ in range(c['num_hidden_layers'])])
        self.norm = RMSNorm(c['hidden_size'], c['rms_norm_eps'])
        self.register_buffer('inv_freq', rope_inv_freq(c), persistent=False)

    def forward(self, input_ids, attention_mask=None):
        B, T = input_ids.shape
        x = self.embed_tokens(input_ids)
        dt = x.dtype
        positions = torch.arange(T).expand(B, T)
        cos, sin = rope_cos_sin(self.inv_freq.double(), positions, dt)
        allowed = torch.tril(torch.ones(T, T, dtype=torch.bool))[None, None]
        if attention_mask is not None:
            allowed = allowed & attention_mask.bool()[:, None, None, :]
        mask_add = torch.zeros(allowed.shape, dtype=dt).masked_fill(~allowed, torch.finfo(dt).min)
        for layer in self.layers:
            x = layer(x, cos, sin, mask_add)
        return self.norm(x)


class LlamaFamily(nn.Module):
    """*ForCausalLM (lm_head, tied or not) or LlamaForSequenceClassification (score head), chosen by architectures."""

    def __init__(self, c):
        super().__init__()
        self.config = c
        arch = c['architectures'][0]
        if arch not in ARCHS:
            raise ValueError(f'architecture {arch!r} is not implemented in this reference')
        self.seqcls = arch.endswith('ForSequenceClassification')
        self.model = Body(c)
        self.tied = bool(c.get('tie_word_embeddings', False))
        if self.seqcls:
            num_labels = c.get('num_labels') or len(c['id2label'])  # transformers saves id2label, not num_labels
            self.score = nn.Linear(c['hidden_size'], num_labels, bias=False)
        elif not self.tied:
            self.lm_head = nn.Linear(c['hidden_size'], c['vocab_size'], bias=False)

    def head_weight(self):
        return self.model.embed_tokens.weight if self.tied else self.lm_head.weight

    def forward(self, input_ids, attention_mask=None, labels=None):
        """Returns (logits, loss): causal LM logits [B, T, V]; classification pooled logits [B, num_labels]."""
        h = self.model(input_ids, attention_mask)
        if self.seqcls:
            per_pos = self.score(h)
            last = last_non_pad(input_ids, self.config['pad_token_id'])
            logits = per_pos[torch.arange(input_ids.shape[0]), last]
            loss = F.cross_entropy(logits, labels) if labels is not None else None
            return logits, loss
        logits = F.linear(h, self.head_weight())
        loss = None
        if labels is not None:
            loss = F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), labels[:, 1:].reshape(-1),
                                   ignore_index=-100)
        return logits, loss


def last_non_pad(input_ids, pad_token_id):
    """Index of the last position whose id is not pad_token_id (HF: argmax of arange * non_pad_mask)."""
    T = input_ids.shape[-1]
    non_pad = (input_ids != pad_token_id).to(torch.int64)
    return (torch.arange(T) * non_pad).argmax(-1)
