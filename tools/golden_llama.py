#!/usr/bin/python3
"""tools/golden_llama.py — tiny seeded Llama-family models and their golden values, from tools/llama_ref.py.

  nice -n 10 /usr/bin/python3 tools/golden_llama.py        (under a minute, one thread)

Writes tests/fixtures/llama/<name>/ for five tiny random models (no training; weights drawn from a fixed seed):

  config.json                 as transformers writes it (sorted keys)
  model.safetensors           the weights, F32 (BF16 for llama-bf16), checkpoint names, no `lm_head.weight` when tied
  golden.io.safetensors       input_ids I64 [2,T] (+ attention_mask, labels I64 for the classifier),
                              logits F32 ([2,T,V] causal LM, [2,num_labels] classifier), loss F32 []
  golden.grads.safetensors    d loss / d p for every parameter of model.safetensors, same names, F32
  golden.json                 ids, loss (float64), sha256 of model.safetensors, gradient names, float32-vs-float64 gaps

and tests/fixtures/llama/README.md. Everything is computed in float64 from the stored weights (for llama-bf16 from the
bf16-rounded values) and stored rounded to F32. Before writing, the script checks the reference itself (printed and
recorded in the README): rotate_half RoPE against a complex-number rotation, the vectorised llama3 rope scaling against
a per-frequency loop, GQA against MHA with repeated k/v weights, torch.autograd.gradcheck on tiny models of each
architecture, and that the classifier's attention_mask changes nothing under right padding.
"""
import copy
import json
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import ROOT, TRANSFORMERS_VERSION, load_safetensors, save_safetensors, sha256, setup_torch, write_json
from llama_ref import LlamaFamily, apply_rope, head_dim_of, last_non_pad, rope_cos_sin, rope_inv_freq
import torch
from torch.nn.utils.stateless import functional_call

OUT = os.path.join(ROOT, 'tests', 'fixtures', 'llama')
B, T = 2, 12
BOS, EOS, PAD = 1, 2, 0
LLAMA3_SCALING = {'factor': 8.0, 'high_freq_factor': 4.0, 'low_freq_factor': 1.0,
                  'original_max_position_embeddings': 256, 'rope_type': 'llama3'}


def config(arch, model_type, hidden, inter, heads, kv, head_dim, theta, scaling, tied, dtype='float32', pad=None,
           extra=None):
    c = {
        'architectures': [arch], 'model_type': model_type, 'attention_dropout': 0.0, 'bos_token_id': BOS,
        'eos_token_id': EOS, 'head_dim': head_dim, 'hidden_act': 'silu', 'hidden_size': hidden,
        'initializer_range': 0.02, 'intermediate_size': inter, 'max_position_embeddings': 2048,
        'num_attention_heads': heads, 'num_hidden_layers': 2, 'num_key_value_heads': kv, 'rms_norm_eps': 1e-05,
        'rope_scaling': scaling, 'rope_theta': theta, 'tie_word_embeddings': tied, 'torch_dtype': dtype,
        'transformers_version': TRANSFORMERS_VERSION, 'use_cache': True, 'vocab_size': 300,
    }
    if model_type == 'llama':
        c.update({'attention_bias': False, 'mlp_bias': False, 'pretraining_tp': 1})
    else:
        c.update({'max_window_layers': 2, 'sliding_window': None, 'use_sliding_window': False})
        if model_type == 'qwen3':
            c['attention_bias'] = False
    if pad is not None:
        c['pad_token_id'] = pad
    c.update(extra or {})
    return dict(sorted(c.items()))


SEQCLS = {'id2label': {'0': 'LABEL_0', '1': 'LABEL_1', '2': 'LABEL_2'},
          'label2id': {'LABEL_0': 0, 'LABEL_1': 1, 'LABEL_2': 2}, 'problem_type': 'single_label_classification'}

# name -> (config, seed, what it covers)
MODELS = {
    'llama-gqa': (config('LlamaForCausalLM', 'llama', 32, 64, 4, 2, 8, 500000.0, LLAMA3_SCALING, True), 1001,
                  'Llama 3.x layout: GQA 4 heads / 2 kv heads, llama3 rope_scaling (all three frequency bands used), '
                  'tied embeddings'),
    'qwen2-bias': (config('Qwen2ForCausalLM', 'qwen2', 32, 64, 4, 2, 8, 1000000.0, None, False, pad=EOS), 1002,
                   'Qwen2 layout: q/k/v biases (no o bias), GQA 4/2, untied lm_head, pad_token_id = eos'),
    'qwen3-headdim': (config('Qwen3ForCausalLM', 'qwen3', 48, 96, 4, 2, 16, 1000000.0, None, True), 1003,
                      'Qwen3 layout: explicit head_dim 16 (4 x 16 = 64 != hidden 48), per-head q/k RMSNorm before '
                      'RoPE, no qkv bias, tied'),
    'llama-bf16': (config('LlamaForCausalLM', 'llama', 32, 64, 4, 1, 8, 100000.0, None, True, dtype='bfloat16'), 1004,
                   'SmolLM2-like Llama stored as BF16: 4 heads / 1 kv head (MQA), rope_theta 1e5 without scaling, '
                   'tied; goldens from the bf16-rounded weights'),
    'llama-seqcls': (config('LlamaForSequenceClassification', 'llama', 32, 64, 4, 2, 8, 500000.0, LLAMA3_SCALING, True,
                            pad=PAD, extra={**SEQCLS}), 1001,
                     'LlamaForSequenceClassification on the llama-gqa body (same seed, same model.* weights): score '
                     'head [3, 32] without bias, pooled at the last non-pad token, right padding with pad_token_id 0'),
}


def init_weights(model, seed):
    """Seeded weights large enough that every term matters: linear ~ N(0, 1/in), embeddings N(0, 0.3^2) (N(0, 1) when
    untied), norms 1 + N(0, 0.1^2), biases N(0, 0.1^2)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in sorted(model.named_parameters()):
            n = lambda *s: torch.randn(*s, generator=g, dtype=torch.float64)
            if name.endswith('norm.weight') or name.endswith('layernorm.weight'):
                p.copy_(1 + 0.1 * n(p.shape))
            elif name == 'model.embed_tokens.weight':
                p.copy_((0.3 if model.tied else 1.0) * n(p.shape))
            elif name.endswith('.bias'):
                p.copy_(0.1 * n(p.shape))
            else:
                p.copy_(n(p.shape) / math.sqrt(p.shape[1]))


def inputs(name, c, seed):
    g = torch.Generator().manual_seed(seed + 7)
    ids = torch.randint(3, c['vocab_size'], (B, T), generator=g)
    ids[:, 0] = BOS
    if not name.endswith('seqcls'):
        return {'input_ids': ids}
    lengths = [8, T]
    mask = torch.tensor([[1] * n + [0] * (T - n) for n in lengths])
    ids = ids.masked_fill(mask == 0, c['pad_token_id'])
    return {'input_ids': ids, 'attention_mask': mask, 'labels': torch.tensor([2, 0])}


def run(model, io, dtype):
    m = copy.deepcopy(model).to(dtype)
    m.zero_grad(set_to_none=True)
    labels = io.get('labels', io['input_ids'])
    logits, loss = m(io['input_ids'], io.get('attention_mask'), labels)
    loss.backward()
    return logits.detach(), loss.detach(), {n: p.grad.detach().clone() for n, p in m.named_parameters()}


def build(name):
    c, seed, what = MODELS[name]
    d = os.path.join(OUT, name)
    model = LlamaFamily(c).double()
    init_weights(model, seed)
    sd = {k: v.detach().clone() for k, v in model.state_dict().items()}
    store = torch.bfloat16 if c['torch_dtype'] == 'bfloat16' else torch.float32
    sd = {k: v.to(store) for k, v in sd.items()}
    write_json(os.path.join(d, 'config.json'), c)
    save_safetensors(os.path.join(d, 'model.safetensors'), sd)
    sd, _ = load_safetensors(os.path.join(d, 'model.safetensors'))  # goldens come from exactly the stored values
    model.load_state_dict({k: v.double() for k, v in sd.items()}, strict=True)
    io = inputs(name, c, seed)
    logits, loss, grads = run(model, io, torch.float64)
    logits32, loss32, g32 = run(model, io, torch.float32)
    assert set(grads) == set(sd), 'a gradient for every checkpoint tensor'
    save_safetensors(os.path.join(d, 'golden.io.safetensors'), {**io, 'logits': logits.float(), 'loss': loss.float()})
    save_safetensors(os.path.join(d, 'golden.grads.safetensors'), {k: v.float() for k, v in grads.items()})
    gap = {
        'logits_max_abs_diff': float((logits - logits32.double()).abs().max()),
        'logits_max_abs': float(logits.abs().max()),
        'loss_abs_diff': abs(float(loss) - float(loss32)),
        'grads_max_abs_diff': max(float((grads[k] - g32[k].double()).abs().max()) for k in grads),
        'grads_max_abs': max(float(v.abs().max()) for v in grads.values()),
    }
    info = {
        'model': f'tests/fixtures/llama/{name}', 'what': what,
        'model_sha256': sha256(os.path.join(d, 'model.safetensors')),
        'architecture': c['architectures'][0], 'weights_dtype': c['torch_dtype'], 'weights_seed': seed,
        'parameters': int(sum(v.numel() for v in sd.values())),
        'input_ids': io['input_ids'].tolist(), 'shapes': {'input_ids': list(io['input_ids'].shape),
                                                        'logits': list(logits.shape)},
        'loss': float(loss), 'loss_float32_torch': float(loss32),
        'files': {'io': 'golden.io.safetensors', 'grads': 'golden.grads.safetensors'},
        'grad_names': sorted(grads), 'float32_vs_float64': gap,
    }
    if model.seqcls:
        info.update({
            'task': 'LlamaForSequenceClassification(input_ids, attention_mask, labels): logits = score(h) pooled at '
                    'the last position with input_ids != pad_token_id; loss = mean cross-entropy vs labels',
            'attention_mask': io['attention_mask'].tolist(), 'labels': io['labels'].tolist(),
            'pooled_positions': last_non_pad(io['input_ids'], c['pad_token_id']).tolist(), 'logits': logits.tolist(),
        })
    else:
        info['task'] = (f'{c["architectures"][0]}(input_ids, labels=input_ids): mean cross-entropy of logits[:, :-1] '
                        'vs input_ids[:, 1:] over all B*(T-1) targets; no attention_mask (no padding)')
        if c['tie_word_embeddings']:
            info['note_tied'] = 'model.embed_tokens.weight gradient includes the tied lm_head contribution'
    write_json(os.path.join(d, 'golden.json'), info)
    print(f'{name}: {info["parameters"]} params, loss {float(loss):.6f}; '
          f'f32 vs f64 logits {gap["logits_max_abs_diff"]:.1e}'
          f' (max {gap["logits_max_abs"]:.1f}), grads {gap["grads_max_abs_diff"]:.1e} (max {gap["grads_max_abs"]:.1e})')
    return info, model, io


# ------------------------------------------------------------------ self-checks of the reference
def check_rope_complex():
    """rotate_half RoPE == multiplying (x_i + j x_{i+hd/2}) by exp(j pos inv_freq_i)."""
    c = MODELS['llama-gqa'][0]
    inv = rope_inv_freq(c)
    hd = head_dim_of(c)
    g = torch.Generator().manual_seed(5)
    x = torch.randn(B, 3, T, hd, generator=g, dtype=torch.float64)
    pos = torch.arange(T).expand(B, T)
    cos, sin = rope_cos_sin(inv, pos, torch.float64)
    ours = apply_rope(x, cos, sin)
    z = torch.complex(x[..., :hd // 2], x[..., hd // 2:])
    rot = torch.polar(torch.ones(T, hd // 2, dtype=torch.float64), torch.arange(T, dtype=torch.float64)[:, None] * inv)
    zr = z * rot
    ref = torch.cat((zr.real, zr.imag), dim=-1)
    return float((ours - ref).abs().max())


def check_llama3_loop():
    """Vectorised llama3 scaling == the per-frequency rule, and all three bands occur in llama-gqa's config."""
    c = MODELS['llama-gqa'][0]
    rs = c['rope_scaling']
    base = rope_inv_freq({**c, 'rope_scaling': None})
    ours = rope_inv_freq(c)
    old, fac = rs['original_max_position_embeddings'], rs['factor']
    lo, hi = rs['low_freq_factor'], rs['high_freq_factor']
    ref, bands = [], set()
    for f in base.tolist():
        wl = 2 * math.pi / f
        if wl < old / hi:
            ref.append(f)
            bands.add('high (kept)')
        elif wl > old / lo:
            ref.append(f / fac)
            bands.add('low (/factor)')
        else:
            s = (old / wl - lo) / (hi - lo)
            ref.append((1 - s) * f / fac + s * f)
            bands.add('medium (blended)')
    return float((ours - torch.tensor(ref, dtype=torch.float64)).abs().max()), sorted(bands)


def check_gqa_vs_mha():
    """llama-gqa (kv heads 2) == the same model with 4 kv heads whose k/v rows repeat each kv head's rows."""
    c = MODELS['llama-gqa'][0]
    gqa = LlamaFamily(c).double()
    init_weights(gqa, 7)
    mha = LlamaFamily({**c, 'num_key_value_heads': c['num_attention_heads']}).double()
    rep, hd = c['num_attention_heads'] // c['num_key_value_heads'], head_dim_of(c)
    sd = {}
    for k, v in gqa.state_dict().items():
        if k.endswith(('k_proj.weight', 'v_proj.weight')):
            v = v.view(-1, hd, v.shape[1]).repeat_interleave(rep, dim=0).reshape(-1, v.shape[1])
        sd[k] = v
    mha.load_state_dict(sd, strict=True)
    ids = inputs('llama-gqa', c, 7)['input_ids']
    return float((gqa(ids)[0] - mha(ids)[0]).abs().max())


def tiny(arch, model_type, **kw):
    c = config(arch, model_type, 8, 12, 2, 1, kw.pop('head_dim', 4), 10000.0, kw.pop('scaling', None), kw.pop('tied'),
               **kw)
    c.update({'num_hidden_layers': 1, 'vocab_size': 11})
    if 'rope_scaling' in c and c['rope_scaling']:
        c['rope_scaling'] = {**c['rope_scaling'], 'original_max_position_embeddings': 16}
    return c


def check_gradcheck():
    """torch.autograd.gradcheck of the loss w.r.t. every parameter of tiny models of each architecture."""
    cases = {
        'llama (llama3 rope, tied)': tiny('LlamaForCausalLM', 'llama', scaling=LLAMA3_SCALING, tied=True),
        'qwen2 (qkv bias, untied)': tiny('Qwen2ForCausalLM', 'qwen2', tied=False),
        'qwen3 (head_dim 6, q/k norm)': tiny('Qwen3ForCausalLM', 'qwen3', head_dim=6, tied=True),
        'llama seqcls (padding)': tiny('LlamaForSequenceClassification', 'llama', tied=True, pad=0,
                                       extra={**SEQCLS}),
    }
    res = {}
    for label, c in cases.items():
        m = LlamaFamily(c).double()
        init_weights(m, 11)
        g = torch.Generator().manual_seed(3)
        ids = torch.randint(1, 11, (2, 5), generator=g)
        mask, labels = None, ids
        if m.seqcls:
            mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]])
            ids = ids.masked_fill(mask == 0, 0)
            labels = torch.tensor([2, 1])
        names = [n for n, _ in m.named_parameters()]
        params = tuple(p.detach().clone().requires_grad_(True) for _, p in m.named_parameters())
        fn = lambda *ps: functional_call(m, dict(zip(names, ps)), (ids, mask, labels))[1]
        ok = torch.autograd.gradcheck(fn, params, eps=1e-6, atol=1e-7, rtol=1e-5)
        res[label] = {'ok': bool(ok), 'parameters': int(sum(p.numel() for p in params))}
    return res


def check_padding_mask(model, io):
    """Right padding: the pooled logits are the same with and without attention_mask."""
    with torch.no_grad():
        a = model(io['input_ids'], io['attention_mask'])[0]
        b = model(io['input_ids'], None)[0]
    return float((a - b).abs().max())


def check_scaling_matters(model, io):
    """How much llama-gqa's logits move if rope_scaling is ignored (the fixture is sensitive to it)."""
    c = MODELS['llama-gqa'][0]
    plain = LlamaFamily({**c, 'rope_scaling': None}).double()
    plain.load_state_dict(model.state_dict(), strict=True)
    with torch.no_grad():
        return float((plain(io['input_ids'])[0] - model(io['input_ids'])[0]).abs().max())


def self_checks():
    checks = {}
    checks['rope_rotate_half_vs_complex_max_abs_diff'] = check_rope_complex()
    checks['llama3_scaling_vs_loop_max_abs_diff'], checks['llama3_bands_in_llama_gqa'] = check_llama3_loop()
    checks['gqa_vs_mha_repeated_weights_logits_max_abs_diff'] = check_gqa_vs_mha()
    checks['gradcheck'] = check_gradcheck()
    for k, v in checks.items():
        print(f'self-check {k}: {v}')
    assert checks['rope_rotate_half_vs_complex_max_abs_diff'] < 1e-12
    assert checks['llama3_scaling_vs_loop_max_abs_diff'] < 1e-15
    assert len(checks['llama3_bands_in_llama_gqa']) == 3
    assert checks['gqa_vs_mha_repeated_weights_logits_max_abs_diff'] < 1e-12
    assert all(v['ok'] for v in checks['gradcheck'].values())
    return checks


def readme(infos, checks):
    files = []
    for name in MODELS:
        for f in sorted(os.listdir(os.path.join(OUT, name))):
            files.append((f'{name}/{f}', os.path.getsize(os.path.join(OUT, name, f))))
    total = sum(s for _, s in files)
    rows = '\n'.join(f'| {f} | {s:,} |' for f, s in files)
    models = []
    for name, info in infos.items():
        g = info['float32_vs_float64']
        extra = ''
        if 'pooled_positions' in info:
            extra = (f"\n  Pooled positions {info['pooled_positions']}, labels {info['labels']}, logits "
                     f"{[[round(v, 6) for v in r] for r in info['logits']]}.")
        models.append(
            f"### {name} ({info['architecture']}, {info['weights_dtype']}, {info['parameters']:,} parameters)\n\n"
            f"- {info['what']}.\n- model.safetensors sha256 `{info['model_sha256']}`.\n"
            f"- loss **{info['loss']:.6f}**; logits {info['shapes']['logits']}.{extra}\n"
            f"- float32 torch vs these values: logits max |diff| {g['logits_max_abs_diff']:.1e} (max |logit| "
            f"{g['logits_max_abs']:.1f}), loss {g['loss_abs_diff']:.1e}, gradients max |diff| "
            f"{g['grads_max_abs_diff']:.1e} (max |grad| {g['grads_max_abs']:.1e}).\n")
    gc = ', '.join(f"{k}: {'ok' if v['ok'] else 'FAILED'} ({v['parameters']} params)"
                   for k, v in checks['gradcheck'].items())
    text = f"""# Llama-family golden values (tests/fixtures/llama)

Written by `tools/golden_llama.py` (`nice -n 10 /usr/bin/python3 tools/golden_llama.py`, under a minute) with the
hand-written PyTorch {torch.__version__} reference `tools/llama_ref.py` (no transformers package; written from
transformers' modeling_llama.py, modeling_qwen2.py, modeling_qwen3.py and modeling_rope_utils.py). The models are
**random, not trained**: weights are drawn from a fixed seed (linear ~ N(0, 1/in), embeddings N(0, 0.3^2) when tied,
N(0, 1) when untied, norm weights 1 + N(0, 0.1^2), biases N(0, 0.1^2)), large enough that every term of the forward
pass moves the outputs.

Each folder `<name>/` holds `config.json` (as transformers {TRANSFORMERS_VERSION} writes it), `model.safetensors`
(checkpoint names; `lm_head.weight` absent when `tie_word_embeddings` is true; `__metadata__ {{"format":"pt"}}`),
`golden.io.safetensors` (inputs I64, `logits` F32, `loss` F32 []), `golden.grads.safetensors` (d loss / d p for every
tensor of model.safetensors, same names, F32) and `golden.json` (ids, loss as a float64 number, sha256 of the model
file, gradient names, `float32_vs_float64`). Everything is computed in **float64** from the stored weights (for
`llama-bf16` from the bf16 values) and stored rounded to F32.

Inputs: B=2, T={T} token ids drawn from a fixed seed in [3, 300) with `bos_token_id` 1 first (ids 0-2 are bos/eos/pad
and do not occur elsewhere, so HF's `padding_idx` gradient rule for the pad row never matters here). Causal LM loss:
mean cross-entropy of logits[:, :-1] vs input_ids[:, 1:] over all 2x{T - 1} targets (HF `labels=input_ids`), no
attention mask. Classifier: `attention_mask` 1/0, right padding with `pad_token_id` 0; the logits are `score(h)` at the
last position where input_ids != pad_token_id; loss is mean cross-entropy vs `labels`. With right padding the causal
mask already hides the pads from every real token, so the attention mask does not change the result
(max |diff| {checks['padding_mask_changes_nothing_max_abs_diff']:.1e}).

Conventions to match: RMSNorm w * x * rsqrt(mean(x^2) + eps) (eps 1e-5); RoPE in HF's half-split layout
(rotate_half, not Meta's interleaved pairs) at positions 0..T-1; attention scale head_dim^-0.5; GQA query head h reads
kv head h // (heads / kv_heads); SwiGLU MLP down(silu(gate(x)) * up(x)); final norm; tied lm_head = embed_tokens.

## Self-checks of the reference (printed by the script; it stops if one fails)

- rotate_half RoPE vs rotating (x_i + j x_(i+hd/2)) by exp(j pos inv_freq_i): max |diff|
  {checks['rope_rotate_half_vs_complex_max_abs_diff']:.1e}.
- llama3 rope scaling, vectorised vs a per-frequency loop: max |diff|
  {checks['llama3_scaling_vs_loop_max_abs_diff']:.1e};
  llama-gqa's head_dim 8 frequencies fall in all three bands ({', '.join(checks['llama3_bands_in_llama_gqa'])}).
  Ignoring rope_scaling moves llama-gqa's logits by up to {checks['rope_scaling_effect_on_llama_gqa_logits']:.2f}.
- GQA (4 heads, 2 kv heads) vs MHA with each kv head's k/v rows repeated: logits max |diff|
  {checks['gqa_vs_mha_repeated_weights_logits_max_abs_diff']:.1e}.
- torch.autograd.gradcheck of the loss w.r.t. all parameters of 1-layer models (hidden 8, vocab 11, T 5): {gc}.

## Models

{chr(10).join(models)}
Tolerance guide: an engine computing in float32 should land near the float32-vs-float64 gaps above; compare
gradients with a tolerance relative to the largest gradient of the tensor. For llama-bf16 the stored weights are
exact in f32 (bf16 -> f32 is exact), so its gaps are those of an f32 computation too.

## Files ({total:,} bytes)

| file | bytes |
|---|---|
{rows}

Regenerate with the command above; the same torch build reproduces the files bit for bit (the JSON files record the
sha256 of the model they were made from).
"""
    with open(os.path.join(OUT, 'README.md'), 'w') as f:
        f.write(text)


if __name__ == '__main__':
    setup_torch(0)
    torch.set_default_dtype(torch.float64)
    checks = self_checks()
    infos, built = {}, {}
    for name in MODELS:
        infos[name], model, io = build(name)
        built[name] = (model, io)
    checks['padding_mask_changes_nothing_max_abs_diff'] = check_padding_mask(*built['llama-seqcls'])
    checks['rope_scaling_effect_on_llama_gqa_logits'] = check_scaling_matters(*built['llama-gqa'])
    print(f"self-check padding mask: {checks['padding_mask_changes_nothing_max_abs_diff']:.1e}; rope scaling moves "
          f"llama-gqa logits by {checks['rope_scaling_effect_on_llama_gqa_logits']:.3f}")
    assert checks['padding_mask_changes_nothing_max_abs_diff'] < 1e-12
    ref = load_safetensors(os.path.join(OUT, 'llama-gqa', 'model.safetensors'))[0]
    cls = load_safetensors(os.path.join(OUT, 'llama-seqcls', 'model.safetensors'))[0]
    assert all(torch.equal(ref[k], cls[k]) for k in cls if k.startswith('model.')), 'seqcls shares the llama-gqa body'
    readme(infos, checks)
