#!/usr/bin/python3
"""tools/common.py — shared code for the fixture generators (no transformers/safetensors packages needed).

Contents
  * save_safetensors / load_safetensors: the Hugging Face safetensors format (FORMATS.md §4): u64 LE header length,
    JSON header padded with spaces to a multiple of 8, `__metadata__: {"format": "pt"}`, tensors sorted by
    (descending dtype alignment, name), row-major little-endian data. The reader validates like the reference one.
  * GPT2LMHeadModel: pre-LN GPT-2 with HF parameter names (`wte.weight`, `h.0.attn.c_attn.weight`, ... — no
    `transformer.` prefix in the saved file), Conv1D weights stored [in, out], gelu_new, tied lm_head, eps 1e-5.
  * Bert: post-LN BERT with HF names (`bert.embeddings...`, `bert.encoder.layer.0.attention.self.query.weight`, ...),
    erf gelu, eps 1e-12, token types, pooler, MLM head (`cls.predictions.*`, decoder tied to the word embeddings),
    NSP head (`cls.seq_relationship.*`, as in bert-base-uncased) and a sequence-classification head (`classifier.*`).
  * gpt2_config / bert_config: config.json dicts with the keys transformers 4.50 writes (sorted, like save_pretrained).
  * tokenize(): runs tools/tokenize.mjs, i.e. the very @huggingface/tokenizers code the app uses.
Code licence: Apache-2.0.
"""
import os
# one CPU thread everywhere (the machine is shared); must be set before numpy/torch load OpenBLAS
for _v in ('OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS'):
    os.environ.setdefault(_v, '1')
import json
import math
import struct
import subprocess
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS = os.path.join(ROOT, 'public', 'models')
DATA = os.path.join(ROOT, 'tools', '.cache', 'data')
TRANSFORMERS_VERSION = '4.50.3'  # the version string written into config.json (the layout of that release)

# ------------------------------------------------------------------ safetensors
_DT = {  # name -> (torch dtype, itemsize)
    'F64': (torch.float64, 8), 'F32': (torch.float32, 4), 'F16': (torch.float16, 2), 'BF16': (torch.bfloat16, 2),
    'I64': (torch.int64, 8), 'I32': (torch.int32, 4), 'I16': (torch.int16, 2), 'I8': (torch.int8, 1),
    'U8': (torch.uint8, 1), 'BOOL': (torch.bool, 1),
}
_TORCH2DT = {v[0]: k for k, v in _DT.items()}


def save_safetensors(path, tensors, metadata=None):
    """tensors: dict name -> torch.Tensor (contiguous copies are made). Returns the file's bytes length."""
    meta = {'format': 'pt'}
    meta.update(metadata or {})
    items = []
    for name, t in tensors.items():
        t = t.detach().cpu().contiguous()
        dt = _TORCH2DT[t.dtype]
        items.append((name, dt, t))
    items.sort(key=lambda x: (-_DT[x[1]][1], x[0]))
    header = {'__metadata__': {str(k): str(v) for k, v in meta.items()}}
    blobs, off = [], 0
    for name, dt, t in items:
        b = t.view(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b''
        assert len(b) == t.numel() * _DT[dt][1]
        header[name] = {'dtype': dt, 'shape': list(t.shape), 'data_offsets': [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(',', ':'), ensure_ascii=True).encode('utf-8')
    h += b' ' * ((8 - len(h) % 8) % 8)
    assert sys.byteorder == 'little'
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    return 8 + len(h) + off


def load_safetensors(path):
    """Returns (dict name -> torch.Tensor, metadata). Validates offsets/shapes like the reference reader."""
    with open(path, 'rb') as f:
        data = f.read()
    (n,) = struct.unpack('<Q', data[:8])
    assert n <= 100_000_000 and 8 + n <= len(data), 'bad header length'
    header = json.loads(data[8:8 + n].decode('utf-8'))
    meta = header.pop('__metadata__', None)
    buf = data[8 + n:]
    out, end = {}, 0
    for name, info in sorted(header.items(), key=lambda kv: kv[1]['data_offsets'][0]):
        dt, size = _DT[info['dtype']]
        b, e = info['data_offsets']
        assert b == end, f'{name}: gap/overlap in buffer'
        assert e - b == math.prod(info['shape']) * size, f'{name}: size mismatch'
        end = e
        raw = bytearray(buf[b:e])
        t = torch.frombuffer(raw, dtype=torch.uint8) if raw else torch.empty(0, dtype=torch.uint8)
        out[name] = t.view(dt).reshape(info['shape']).clone()
    assert end == len(buf), 'trailing bytes'
    return out, meta


# ------------------------------------------------------------------ GPT-2
def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


class Conv1D(nn.Module):
    """HF transformers.pytorch_utils.Conv1D: weight [in, out], y = x @ W + b."""

    def __init__(self, nf, nx):
        super().__init__()
        self.nf = nf
        self.weight = nn.Parameter(torch.empty(nx, nf))
        self.bias = nn.Parameter(torch.zeros(nf))
        nn.init.normal_(self.weight, std=0.02)

    def forward(self, x):
        size_out = x.size()[:-1] + (self.nf,)
        x = torch.addmm(self.bias, x.view(-1, x.size(-1)), self.weight)
        return x.view(size_out)


class GPT2Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        d, eps = c['n_embd'], c['layer_norm_epsilon']
        inner = c['n_inner'] or 4 * d
        self.n_head = c['n_head']
        self.ln_1 = nn.LayerNorm(d, eps=eps)
        self.attn = nn.Module()
        self.attn.c_attn = Conv1D(3 * d, d)
        self.attn.c_proj = Conv1D(d, d)
        self.ln_2 = nn.LayerNorm(d, eps=eps)
        self.mlp = nn.Module()
        self.mlp.c_fc = Conv1D(inner, d)
        self.mlp.c_proj = Conv1D(d, inner)
        self.attn_drop = nn.Dropout(c['attn_pdrop'])
        self.resid_drop = nn.Dropout(c['resid_pdrop'])
        P = c['n_positions']
        self.register_buffer('causal', torch.tril(torch.ones(P, P, dtype=torch.bool)).view(1, 1, P, P), persistent=False)

    def forward(self, x):
        B, T, d = x.shape
        H = self.n_head
        h = self.ln_1(x)
        q, k, v = self.attn.c_attn(h).split(d, dim=2)
        q, k, v = (t.view(B, T, H, d // H).transpose(1, 2) for t in (q, k, v))
        w = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(d // H)
        mask = self.causal[:, :, :T, :T]
        w = torch.where(mask, w, torch.tensor(torch.finfo(w.dtype).min, dtype=w.dtype))
        w = self.attn_drop(torch.softmax(w, dim=-1))
        a = torch.matmul(w, v).transpose(1, 2).contiguous().view(B, T, d)
        x = x + self.resid_drop(self.attn.c_proj(a))
        x = x + self.resid_drop(self.mlp.c_proj(gelu_new(self.mlp.c_fc(self.ln_2(x)))))
        return x


class GPT2LMHeadModel(nn.Module):
    """state_dict() names are exactly HF gpt2's (without the `transformer.` prefix); lm_head is wte (tied)."""

    def __init__(self, c):
        super().__init__()
        self.config = c
        self.wte = nn.Embedding(c['vocab_size'], c['n_embd'])
        self.wpe = nn.Embedding(c['n_positions'], c['n_embd'])
        self.drop = nn.Dropout(c['embd_pdrop'])
        self.h = nn.ModuleList([GPT2Block(c) for _ in range(c['n_layer'])])
        self.ln_f = nn.LayerNorm(c['n_embd'], eps=c['layer_norm_epsilon'])
        # HF init: normal(0, 0.02) for weights, zeros for biases, c_proj scaled by 1/sqrt(2 n_layer)
        for mod in self.modules():
            if isinstance(mod, nn.Embedding):
                nn.init.normal_(mod.weight, std=c['initializer_range'])
        for name, p in self.named_parameters():
            if name.endswith('c_proj.weight'):
                nn.init.normal_(p, std=c['initializer_range'] / math.sqrt(2 * c['n_layer']))

    def forward(self, input_ids, labels=None):
        B, T = input_ids.shape
        pos = torch.arange(T, device=input_ids.device).unsqueeze(0)
        x = self.drop(self.wte(input_ids) + self.wpe(pos))
        for blk in self.h:
            x = blk(x)
        x = self.ln_f(x)
        logits = F.linear(x, self.wte.weight)
        loss = None
        if labels is not None:  # HF GPT2LMHeadModel: shift inside, mean over non-ignored targets
            loss = F.cross_entropy(logits[:, :-1].reshape(-1, logits.size(-1)), labels[:, 1:].reshape(-1), ignore_index=-100)
        return logits, loss


def gpt2_config(vocab_size, n_embd, n_layer, n_head, n_positions):
    eot = vocab_size - 1
    return dict(sorted({
        'activation_function': 'gelu_new',
        'architectures': ['GPT2LMHeadModel'],
        'attn_pdrop': 0.1,
        'bos_token_id': eot,
        'embd_pdrop': 0.1,
        'eos_token_id': eot,
        'initializer_range': 0.02,
        'layer_norm_epsilon': 1e-05,
        'model_type': 'gpt2',
        'n_embd': n_embd,
        'n_head': n_head,
        'n_inner': None,
        'n_layer': n_layer,
        'n_positions': n_positions,
        'reorder_and_upcast_attn': False,
        'resid_pdrop': 0.1,
        'scale_attn_by_inverse_layer_idx': False,
        'scale_attn_weights': True,
        'summary_activation': None,
        'summary_first_dropout': 0.1,
        'summary_proj_to_labels': True,
        'summary_type': 'cls_index',
        'summary_use_proj': True,
        'torch_dtype': 'float32',
        'transformers_version': TRANSFORMERS_VERSION,
        'use_cache': True,
        'vocab_size': vocab_size,
    }.items()))


# ------------------------------------------------------------------ BERT
def gelu_erf(x):
    return 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))


def _lin(i, o, std):
    m = nn.Linear(i, o)
    nn.init.normal_(m.weight, std=std)
    nn.init.zeros_(m.bias)
    return m


class BertLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        d, std, eps = c['hidden_size'], c['initializer_range'], c['layer_norm_eps']
        self.H = c['num_attention_heads']
        self.attention = nn.Module()
        self.attention.self = nn.Module()
        self.attention.self.query = _lin(d, d, std)
        self.attention.self.key = _lin(d, d, std)
        self.attention.self.value = _lin(d, d, std)
        self.attention.output = nn.Module()
        self.attention.output.dense = _lin(d, d, std)
        self.attention.output.LayerNorm = nn.LayerNorm(d, eps=eps)
        self.intermediate = nn.Module()
        self.intermediate.dense = _lin(d, c['intermediate_size'], std)
        self.output = nn.Module()
        self.output.dense = _lin(c['intermediate_size'], d, std)
        self.output.LayerNorm = nn.LayerNorm(d, eps=eps)
        self.attn_drop = nn.Dropout(c['attention_probs_dropout_prob'])
        self.drop = nn.Dropout(c['hidden_dropout_prob'])

    def forward(self, x, ext_mask):
        B, T, d = x.shape
        H = self.H
        s = self.attention.self
        q, k, v = (m(x).view(B, T, H, d // H).transpose(1, 2) for m in (s.query, s.key, s.value))
        w = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(d // H) + ext_mask
        w = self.attn_drop(torch.softmax(w, dim=-1))
        a = torch.matmul(w, v).transpose(1, 2).contiguous().view(B, T, d)
        x = self.attention.output.LayerNorm(self.drop(self.attention.output.dense(a)) + x)
        h = gelu_erf(self.intermediate.dense(x))
        return self.output.LayerNorm(self.drop(self.output.dense(h)) + x)


class Bert(nn.Module):
    """Holds `bert.*` (BertModel with pooler) and optionally `cls.*` (MLM + NSP heads) and/or `classifier.*`."""

    def __init__(self, c, mlm=True, nsp=True, num_labels=0):
        super().__init__()
        self.config = c
        d, std, eps = c['hidden_size'], c['initializer_range'], c['layer_norm_eps']
        self.bert = nn.Module()
        e = self.bert.embeddings = nn.Module()
        e.word_embeddings = nn.Embedding(c['vocab_size'], d, padding_idx=c['pad_token_id'])
        e.position_embeddings = nn.Embedding(c['max_position_embeddings'], d)
        e.token_type_embeddings = nn.Embedding(c['type_vocab_size'], d)
        for emb in (e.word_embeddings, e.position_embeddings, e.token_type_embeddings):
            nn.init.normal_(emb.weight, std=std)
        with torch.no_grad():
            e.word_embeddings.weight[c['pad_token_id']].zero_()
        e.LayerNorm = nn.LayerNorm(d, eps=eps)
        self.emb_drop = nn.Dropout(c['hidden_dropout_prob'])
        self.bert.encoder = nn.Module()
        self.bert.encoder.layer = nn.ModuleList([BertLayer(c) for _ in range(c['num_hidden_layers'])])
        self.bert.pooler = nn.Module()
        self.bert.pooler.dense = _lin(d, d, std)
        self.has_mlm, self.has_nsp = mlm, nsp
        if mlm or nsp:
            self.cls = nn.Module()
        if mlm:
            self.cls.predictions = nn.Module()
            self.cls.predictions.transform = nn.Module()
            self.cls.predictions.transform.dense = _lin(d, d, std)
            self.cls.predictions.transform.LayerNorm = nn.LayerNorm(d, eps=eps)
            self.cls.predictions.bias = nn.Parameter(torch.zeros(c['vocab_size']))
        if nsp:
            self.cls.seq_relationship = _lin(d, 2, std)
        self.num_labels = num_labels
        if num_labels:
            self.cls_drop = nn.Dropout(c['classifier_dropout'] if c.get('classifier_dropout') is not None else c['hidden_dropout_prob'])
            self.classifier = _lin(d, num_labels, std)

    def encode(self, input_ids, attention_mask=None, token_type_ids=None):
        B, T = input_ids.shape
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(input_ids)
        e = self.bert.embeddings
        pos = torch.arange(T, device=input_ids.device).unsqueeze(0)
        x = e.word_embeddings(input_ids) + e.token_type_embeddings(token_type_ids) + e.position_embeddings(pos)
        x = self.emb_drop(e.LayerNorm(x))
        dt = x.dtype
        ext = (1.0 - attention_mask[:, None, None, :].to(dt)) * torch.finfo(dt).min  # HF get_extended_attention_mask
        for layer in self.bert.encoder.layer:
            x = layer(x, ext)
        pooled = torch.tanh(self.bert.pooler.dense(x[:, 0]))
        return x, pooled

    def mlm_logits(self, seq):
        t = self.cls.predictions.transform
        h = t.LayerNorm(gelu_erf(t.dense(seq)))
        return F.linear(h, self.bert.embeddings.word_embeddings.weight, self.cls.predictions.bias)

    def classify(self, input_ids, attention_mask=None, token_type_ids=None, labels=None):
        """BertForSequenceClassification.forward (single_label_classification)."""
        _, pooled = self.encode(input_ids, attention_mask, token_type_ids)
        logits = self.classifier(self.cls_drop(pooled))
        loss = F.cross_entropy(logits, labels) if labels is not None else None
        return logits, loss


def bert_config(vocab_size, hidden, layers, heads, intermediate, max_pos, type_vocab=2):
    return dict(sorted({
        'architectures': ['BertForMaskedLM'],
        'attention_probs_dropout_prob': 0.1,
        'classifier_dropout': None,
        'hidden_act': 'gelu',
        'hidden_dropout_prob': 0.1,
        'hidden_size': hidden,
        'initializer_range': 0.02,
        'intermediate_size': intermediate,
        'layer_norm_eps': 1e-12,
        'max_position_embeddings': max_pos,
        'model_type': 'bert',
        'num_attention_heads': heads,
        'num_hidden_layers': layers,
        'pad_token_id': 0,
        'position_embedding_type': 'absolute',
        'torch_dtype': 'float32',
        'transformers_version': TRANSFORMERS_VERSION,
        'type_vocab_size': type_vocab,
        'use_cache': True,
        'vocab_size': vocab_size,
    }.items()))


# ------------------------------------------------------------------ misc
def write_json(path, obj):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, 'w') as f:
        json.dump(obj, f, indent=2)
        f.write('\n')


def load_ids(name):
    """A corpus encoded by tools/build_tokenizers.mjs (uint16 LE) and its index.json entry."""
    with open(os.path.join(DATA, 'index.json')) as f:
        meta = json.load(f)['files'][name]
    ids = np.fromfile(os.path.join(DATA, name), dtype='<u2').astype(np.int64)
    assert len(ids) == meta['tokens']
    return ids, meta


def tokenize(model_dir, texts, add_special_tokens=True):
    """Encode with @huggingface/tokenizers (tools/tokenize.mjs); returns a list of Encoding dicts."""
    req = json.dumps({'dir': model_dir, 'texts': texts, 'add_special_tokens': add_special_tokens})
    out = subprocess.run(['node', os.path.join(ROOT, 'tools', 'tokenize.mjs')], input=req.encode(), capture_output=True, check=True)
    return json.loads(out.stdout)


def detokenize(model_dir, id_lists):
    req = json.dumps({'dir': model_dir, 'decode': [list(map(int, x)) for x in id_lists]})
    out = subprocess.run(['node', os.path.join(ROOT, 'tools', 'tokenize.mjs')], input=req.encode(), capture_output=True, check=True)
    return json.loads(out.stdout)


def n_params(sd):
    return int(sum(t.numel() for t in sd.values()))


def sha256(path):
    import hashlib
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        h.update(f.read())
    return h.hexdigest()


def setup_torch(seed):
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    np.random.seed(seed)
