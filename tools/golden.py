#!/usr/bin/python3
"""tools/golden.py — golden values for the JS/WebGPU implementation tests, from the committed tiny models.

  nice -n 10 /usr/bin/python3 tools/golden.py          (a few seconds; needs node for tokenization)

Reads public/models/{gpt2-tiny,bert-tiny}/ and writes tests/fixtures/golden/:

  gpt2-tiny.io.safetensors      input_ids I64 [2,16], logits F32 [2,16,V], loss F32 []
  gpt2-tiny.grads.safetensors   d loss / d parameter for every parameter, keyed by the checkpoint name
                                (`wte.weight` holds the embedding + tied lm_head contributions)
  gpt2-tiny.json                texts, ids, loss, shapes, tolerance hints, sha256 of the model used
  bert-tiny-seqcls.io.safetensors          input_ids / attention_mask / token_type_ids / labels I64 [2,T] / [2],
                                           logits F32 [2,2], loss F32 []
  bert-tiny-seqcls.classifier.safetensors  classifier.weight [2,64], classifier.bias [2] (the seeded head used)
  bert-tiny-seqcls.grads.safetensors       d loss / d parameter for every BertForSequenceClassification parameter
                                           (`bert.*` incl. the pooler, and `classifier.*`)
  bert-tiny-seqcls.json                    texts, ids, masks, labels, loss, config additions, tolerance hints

Semantics: GPT-2 = HF GPT2LMHeadModel(input_ids, labels=input_ids) (mean CE over the B*(T-1) shifted targets);
BERT = HF BertForSequenceClassification (num_labels 2, single_label_classification: mean CE), pooled [CLS] output,
additive attention mask (1-mask)*finfo.min. Dropout off. Inputs are tokenized with @huggingface/tokenizers
(tools/tokenize.mjs). All values are computed in float64 from the F32 checkpoint and stored rounded to F32; the JSON
also reports how far a float32 torch computation is from them (a guide for test tolerances).
The classifier head is drawn with torch.manual_seed(20240607): weight ~ normal(0, 0.02), bias = 0 (HF _init_weights).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (ROOT, MODELS, GPT2LMHeadModel, Bert, load_safetensors, save_safetensors, write_json, tokenize,
                    sha256, setup_torch)
import json
import torch

OUT = os.path.join(ROOT, 'tests', 'fixtures', 'golden')
GPT2_TEXTS = [
    'Call me Ishmael. Some years ago—never mind how long precisely—having little or no money in my purse',
    'It was the Pequod, the ship of Captain Ahab, that sailed from Nantucket on a cold Christmas day.',
]
BERT_TEXTS = [
    'Call me Ishmael.',
    'The great white whale swam slowly away from the ship, and the boats followed him.',
]
BERT_LABELS = [0, 1]
CLS_SEED = 20240607


def no_dropout(c):
    c = dict(c)
    for k in ('attn_pdrop', 'embd_pdrop', 'resid_pdrop', 'hidden_dropout_prob', 'attention_probs_dropout_prob'):
        if k in c:
            c[k] = 0.0
    return c


def run(model, fn, dtype):
    m = model.to(dtype)
    m.zero_grad(set_to_none=True)
    out, loss = fn(m)
    loss.backward()
    grads = {n: p.grad.detach().clone() for n, p in m.named_parameters()}
    return out.detach().clone(), loss.detach().clone(), grads


def diff_report(a64, b32):
    """max |a-b| and max |a| for logits/loss/grads between the float64 golden and a float32 computation."""
    return {'max_abs_diff': float((a64 - b32.double()).abs().max()), 'max_abs': float(a64.abs().max())}


def gpt2():
    name = 'gpt2-tiny'
    d = os.path.join(MODELS, name)
    cfg = json.load(open(os.path.join(d, 'config.json')))
    sd, _ = load_safetensors(os.path.join(d, 'model.safetensors'))
    enc = tokenize(name, GPT2_TEXTS, add_special_tokens=False)
    ids = [e['ids'][:16] for e in enc]
    assert all(len(x) == 16 for x in ids)
    x = torch.tensor(ids, dtype=torch.int64)
    model = GPT2LMHeadModel(no_dropout(cfg))
    missing = model.load_state_dict(sd, strict=True)
    fn = lambda m: m(x, labels=x)
    logits32, loss32, g32 = run(model, fn, torch.float32)
    logits, loss, grads = run(model, fn, torch.float64)
    assert set(grads) == set(sd), 'a gradient for every checkpoint tensor'
    save_safetensors(os.path.join(OUT, f'{name}.io.safetensors'),
                     {'input_ids': x, 'logits': logits.float(), 'loss': loss.float()})
    save_safetensors(os.path.join(OUT, f'{name}.grads.safetensors'), {n: g.float() for n, g in grads.items()})
    gmax = max(float((grads[n] - g32[n].double()).abs().max()) for n in grads)
    write_json(os.path.join(OUT, f'{name}.json'), {
        'model': f'public/models/{name}', 'model_sha256': sha256(os.path.join(d, 'model.safetensors')),
        'task': 'GPT2LMHeadModel(input_ids, labels=input_ids): mean cross-entropy of logits[:, :-1] vs input_ids[:, 1:]',
        'dropout': 0.0,
        'texts': GPT2_TEXTS, 'note_ids': 'each text tokenized without special tokens, first 16 ids kept',
        'input_ids': ids, 'tokens': [e['tokens'][:16] for e in enc],
        'shapes': {'input_ids': list(x.shape), 'logits': list(logits.shape)},
        'loss': float(loss), 'loss_float32_torch': float(loss32),
        'files': {'io': f'{name}.io.safetensors', 'grads': f'{name}.grads.safetensors'},
        'grad_names': sorted(grads),
        'note_tied': 'wte.weight gradient includes the tied lm_head contribution',
        'float32_vs_float64': {'logits': diff_report(logits, logits32), 'loss_abs_diff': abs(float(loss) - float(loss32)),
                               'grads_max_abs_diff': gmax, 'grads_max_abs': max(float(g.abs().max()) for g in grads.values())},
    })
    print(f'{name}: loss {float(loss):.6f}, logits {tuple(logits.shape)}, {len(grads)} gradients; f32 vs f64 logits '
          f'{diff_report(logits, logits32)["max_abs_diff"]:.2e}, grads {gmax:.2e}')


def bert():
    name = 'bert-tiny'
    d = os.path.join(MODELS, name)
    cfg = json.load(open(os.path.join(d, 'config.json')))
    sd, _ = load_safetensors(os.path.join(d, 'model.safetensors'))
    enc = tokenize(name, BERT_TEXTS, add_special_tokens=True)
    T = max(len(e['ids']) for e in enc)
    assert len(enc[0]['ids']) != len(enc[1]['ids'])
    pad = lambda v, fill: v + [fill] * (T - len(v))
    ids = torch.tensor([pad(e['ids'], 0) for e in enc])
    mask = torch.tensor([pad(e['attention_mask'], 0) for e in enc])
    types = torch.tensor([pad(e['token_type_ids'], 0) for e in enc])
    labels = torch.tensor(BERT_LABELS)
    model = Bert(no_dropout(cfg), mlm=False, nsp=False, num_labels=2)
    torch.manual_seed(CLS_SEED)
    with torch.no_grad():
        model.classifier.weight.normal_(0.0, cfg['initializer_range'])
        model.classifier.bias.zero_()
    head = {'classifier.weight': model.classifier.weight.detach().clone(), 'classifier.bias': model.classifier.bias.detach().clone()}
    enc_sd = {k: v for k, v in sd.items() if k.startswith('bert.')}
    res = model.load_state_dict({**enc_sd, **head}, strict=True)
    fn = lambda m: m.classify(ids, mask, types, labels)
    logits32, loss32, g32 = run(model, fn, torch.float32)
    logits, loss, grads = run(model, fn, torch.float64)
    assert set(grads) == set(enc_sd) | set(head)
    pname = f'{name}-seqcls'
    save_safetensors(os.path.join(OUT, f'{pname}.io.safetensors'),
                     {'input_ids': ids, 'attention_mask': mask, 'token_type_ids': types, 'labels': labels,
                      'logits': logits.float(), 'loss': loss.float()})
    save_safetensors(os.path.join(OUT, f'{pname}.classifier.safetensors'), head)
    save_safetensors(os.path.join(OUT, f'{pname}.grads.safetensors'), {n: g.float() for n, g in grads.items()})
    gmax = max(float((grads[n] - g32[n].double()).abs().max()) for n in grads)
    write_json(os.path.join(OUT, f'{pname}.json'), {
        'model': f'public/models/{name}', 'model_sha256': sha256(os.path.join(d, 'model.safetensors')),
        'task': 'BertForSequenceClassification(num_labels=2): logits = classifier(tanh(pooler.dense(h[:,0]))); '
                'loss = mean cross-entropy vs labels',
        'config_additions': {'architectures': ['BertForSequenceClassification'], 'id2label': {'0': 'LABEL_0', '1': 'LABEL_1'},
                             'label2id': {'LABEL_0': 0, 'LABEL_1': 1}, 'problem_type': 'single_label_classification'},
        'weights': 'bert.* from the checkpoint (incl. bert.pooler.dense), classifier.* from '
                   f'{pname}.classifier.safetensors; cls.* (MLM/NSP heads) unused',
        'classifier_init': f'torch.manual_seed({CLS_SEED}); weight.normal_(0, 0.02); bias = 0',
        'dropout': 0.0,
        'attention_mask_semantics': 'scores + (1 - mask) * finfo(dtype).min before softmax',
        'texts': BERT_TEXTS, 'tokens': [e['tokens'] for e in enc],
        'input_ids': ids.tolist(), 'attention_mask': mask.tolist(), 'token_type_ids': types.tolist(), 'labels': BERT_LABELS,
        'logits': logits.tolist(), 'loss': float(loss), 'loss_float32_torch': float(loss32),
        'files': {'io': f'{pname}.io.safetensors', 'classifier': f'{pname}.classifier.safetensors', 'grads': f'{pname}.grads.safetensors'},
        'grad_names': sorted(grads),
        'float32_vs_float64': {'logits': diff_report(logits, logits32), 'loss_abs_diff': abs(float(loss) - float(loss32)),
                               'grads_max_abs_diff': gmax, 'grads_max_abs': max(float(g.abs().max()) for g in grads.values())},
    })
    print(f'{pname}: T={T}, logits {logits.tolist()}, loss {float(loss):.6f}, {len(grads)} gradients; f32 vs f64 grads {gmax:.2e}')


def readme():
    g = json.load(open(os.path.join(OUT, 'gpt2-tiny.json')))
    b = json.load(open(os.path.join(OUT, 'bert-tiny-seqcls.json')))
    files = sorted(f for f in os.listdir(OUT) if f != 'README.md')
    sizes = '\n'.join(f'| {f} | {os.path.getsize(os.path.join(OUT, f)):,} |' for f in files)
    text = f"""# Golden values (tests/fixtures/golden)

Written by `tools/golden.py` (`nice -n 10 /usr/bin/python3 tools/golden.py`, a few seconds) from the committed tiny
models with a hand-written PyTorch {torch.__version__} reference of the Hugging Face architectures (`tools/common.py`;
no transformers package). Inputs are tokenized with @huggingface/tokenizers 0.2.0 (`tools/tokenize.mjs`), i.e. exactly
as in the app. Everything is computed in **float64** from the F32 checkpoint and stored as **F32** safetensors
(`__metadata__ {{"format":"pt"}}`); integer inputs are I64. Dropout is off. Each JSON holds the texts, ids, masks,
labels, loss (as a float64 number), the sha256 of the model file used, the list of gradient names, and
`float32_vs_float64`: how far a float32 torch run is from the stored values (a guide for test tolerances).

## gpt2-tiny (GPT2LMHeadModel, full fine-tuning gradients)

- Model `public/models/gpt2-tiny` (sha256 `{g['model_sha256']}`).
- `input_ids` [2,16]: the first 16 tokens (no special tokens) of two fixed texts (see `gpt2-tiny.json`).
- `logits` [2,16,{g['shapes']['logits'][2]}]; `loss` = HF `GPT2LMHeadModel(input_ids, labels=input_ids).loss`:
  mean cross-entropy of logits[:, :-1] against input_ids[:, 1:] over all 2x15 targets = **{g['loss']:.6f}**.
- `gpt2-tiny.grads.safetensors`: d loss / d p for every parameter, named as in model.safetensors (`wte.weight`,
  `wpe.weight`, `h.0.attn.c_attn.weight` [in,out], ...). `wte.weight` includes the tied lm_head contribution.
- float32 torch vs these values: logits max |diff| {g['float32_vs_float64']['logits']['max_abs_diff']:.1e}, gradients
  max |diff| {g['float32_vs_float64']['grads_max_abs_diff']:.1e} (max |grad| {g['float32_vs_float64']['grads_max_abs']:.1e}).

## bert-tiny as BertForSequenceClassification (num_labels 2)

- Encoder and pooler (`bert.*`) from `public/models/bert-tiny` (sha256 `{b['model_sha256']}`); the MLM/NSP heads
  (`cls.*`) are not used. Classifier head `bert-tiny-seqcls.classifier.safetensors`: `classifier.weight` [2,64]
  drawn with `{b['classifier_init']}` (HF `_init_weights`), `classifier.bias` [2] = 0.
- Inputs: two texts of different lengths, `[CLS] ... [SEP]`, right-padded with [PAD]=0 to T={len(b['input_ids'][0])};
  `attention_mask` 1/0, `token_type_ids` all 0, `labels` [0, 1]. Mask semantics: scores + (1-mask)*finfo.min.
- `logits` [2,2] = classifier(tanh(pooler.dense(h[:, 0]))) = {[[round(v, 6) for v in r] for r in b['logits']]};
  `loss` = mean cross-entropy = **{b['loss']:.6f}**.
- `bert-tiny-seqcls.grads.safetensors`: d loss / d p for every parameter (`bert.embeddings.*`, `bert.encoder.*`,
  `bert.pooler.*`, `classifier.*`). The [PAD] row (0) of `bert.embeddings.word_embeddings.weight` has zero gradient
  (HF uses `padding_idx=0`), as do the rows of ids absent from the input. The logits are small
  (the head is freshly initialised): compare with a relative tolerance.
- float32 torch vs these values: logits max |diff| {b['float32_vs_float64']['logits']['max_abs_diff']:.1e}, gradients
  max |diff| {b['float32_vs_float64']['grads_max_abs_diff']:.1e} (max |grad| {b['float32_vs_float64']['grads_max_abs']:.1e}).

## Files

| file | bytes |
|---|---|
{sizes}

Regenerate after retraining a tiny model (the sha256 in the JSON files must match the committed model).
"""
    with open(os.path.join(OUT, 'README.md'), 'w') as f:
        f.write(text)


if __name__ == '__main__':
    setup_torch(0)
    os.makedirs(OUT, exist_ok=True)
    gpt2()
    bert()
    readme()
