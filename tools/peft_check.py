#!/usr/bin/python3
"""tools/peft_check.py — an independent check of a PEFT LoRA adapter exported by `dynrank train`.

  /usr/bin/python3 tools/peft_check.py --model public/models/gpt2-tiny --adapter <dir> --text "Call me Ishmael."
  /usr/bin/python3 tools/peft_check.py --model bert-tiny --adapter <dir> --ids 2,65,1333,3 [--out f.json]

Loads the base model (config.json + model.safetensors) into the hand-written PyTorch models of tools/common.py
(HF parameter names), applies the adapter folder (adapter_config.json + adapter_model.safetensors) with the semantics
Hugging Face PEFT documents for LoRA, and prints {"input_ids": [...], "logits": [[...], ...]} like `dynrank logits`
(GPT-2: one row of vocab logits per position; BERT: one row of num_labels sequence-classification logits).
It shares no code with the TypeScript implementation; the only shared piece is the tokenizer (tools/tokenize.mjs,
i.e. @huggingface/tokenizers, as tools/golden.py uses it), and --ids bypasses even that.

PEFT semantics implemented here (FORMATS.md §6, METHOD.md §8):
  * Module names are the HF model's: `transformer.h.0.attn.c_attn` (GPT2LMHeadModel), `bert.encoder.layer.0.
    attention.self.query` (BertForSequenceClassification), `model.layers.0.self_attn.q_proj` (Llama, Qwen2, Qwen3
    *ForCausalLM / *ForSequenceClassification, the hand-written tools/llama_ref.py); tensors are `base_model.model.<module>.lora_A.weight`
    [r, in] and `.lora_B.weight` [out, r] (nn.Linear layout also for GPT-2's Conv1D, whose weight is [in, out]).
  * target_modules: a string is a full regex (re.fullmatch); a list matches an exact name or a `.`-suffix;
    "all-linear" = every Linear/Conv1D except the output head. exclude_modules likewise; layers_to_transform.
  * r / alpha per module: the first key K of rank_pattern / alpha_pattern with re.match(rf"(.*\\.)?({K})$", name),
    else r / lora_alpha. scaling = alpha / r, or alpha / sqrt(r) with use_rslora.
  * Forward (eval mode, dropout off): h = base(x) + scaling * (x @ A.T) @ B.T (+ scaling * lora_B.bias with
    lora_bias). Applied at the module output, so it needs no fan_in_fan_out transposition (PEFT forces that flag
    for Conv1D and only uses it when merging W += (B@A).T * scaling).
  * modules_to_save tensors (`base_model.model.classifier.weight`, ...) replace the base module's parameters;
    task_type SEQ_CLS adds the classifier to modules_to_save, as PeftModelForSequenceClassification does
    (`classifier` for BERT, `score` for the Llama family, pooled at the last non-pad token).

Validation (exit 1 with a message): peft_type LORA; use_dora false; bias "none"; r, rank_pattern values > 0;
lora_alpha, alpha_pattern values numbers; target_modules non-empty; every targeted module exists, is a
Linear/Conv1D, and has both tensors of shapes [r, in] / [out, r]; every list entry of target_modules matches a module
(PEFT only requires one to match; an entry that matches nothing means the exporter wrote a wrong name); no tensor is
left unused; a BERT adapter must carry the classifier head (otherwise the logits would come from a random head).
Features that change the math but are not implemented here (layer_replication, target_parameters, ...) are errors.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import MODELS, GPT2LMHeadModel, Conv1D, Bert, load_safetensors, tokenize  # noqa: E402  (sets 1 thread)
from llama_ref import LlamaFamily  # noqa: E402
import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import re  # noqa: E402

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

PREFIX = 'base_model.model.'
LLAMA_PREFIX = {'llama': 'Llama', 'qwen2': 'Qwen2', 'qwen3': 'Qwen3'}


class CheckError(Exception):
    pass


def fail(msg):
    raise CheckError(msg)


# ------------------------------------------------------------------ config
def _num(cfg, key, positive_int):
    v = cfg.get(key)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        fail(f'adapter_config.json: "{key}" must be a number, got {v!r}')
    if positive_int and not (float(v).is_integer() and v > 0):
        fail(f'adapter_config.json: "{key}" = {v!r}; PEFT requires a positive integer rank '
             '(modules with rank 0 must be left out of target_modules)')
    return int(v) if positive_int else float(v)


def validate_config(cfg):
    if not isinstance(cfg, dict):
        fail('adapter_config.json is not a JSON object')
    if cfg.get('peft_type') != 'LORA':
        fail(f'adapter_config.json: peft_type is {cfg.get("peft_type")!r}, expected "LORA"')
    if cfg.get('use_dora', False) not in (False, None):
        fail('adapter_config.json: use_dora is true; PEFT would then expect lora_magnitude_vector tensors '
             '(weight-decomposed DoRA); a dynrank export must write use_dora: false')
    if cfg.get('bias', 'none') != 'none':
        fail(f'adapter_config.json: bias {cfg.get("bias")!r} is not supported by this check (expected "none")')
    for key in ('layer_replication', 'target_parameters', 'trainable_token_indices', 'alora_invocation_tokens',
                'megatron_config'):
        if cfg.get(key) not in (None, [], {}, False):
            fail(f'adapter_config.json: {key} = {cfg[key]!r} changes the model; not implemented by this check')
    r = _num(cfg, 'r', True) if 'r' in cfg else 8  # LoraConfig defaults
    alpha = _num(cfg, 'lora_alpha', False) if 'lora_alpha' in cfg else 8.0
    pats = {}
    for field, pos_int in (('rank_pattern', True), ('alpha_pattern', False)):
        p = cfg.get(field) or {}
        if not isinstance(p, dict):
            fail(f'adapter_config.json: {field} must be an object {{module pattern: value}}')
        for k in p:
            _num(p, k, pos_int)
            try:
                re.compile(k)
            except re.error as e:
                fail(f'adapter_config.json: {field} key {k!r} is not a regex: {e}')
        pats[field] = p
    tm = cfg.get('target_modules')
    if tm is None or tm == [] or tm == '':
        fail('adapter_config.json: target_modules is empty; PEFT needs at least one target module')
    if not isinstance(tm, (str, list)) or (isinstance(tm, list) and not all(isinstance(x, str) and x for x in tm)):
        fail(f'adapter_config.json: target_modules must be a list of names or a regex string, got {tm!r}')
    mts = cfg.get('modules_to_save') or []
    if not isinstance(mts, list) or not all(isinstance(x, str) for x in mts):
        fail(f'adapter_config.json: modules_to_save must be null or a list of names, got {mts!r}')
    return r, alpha, pats['rank_pattern'], pats['alpha_pattern'], tm, mts


def pattern_key(keys, name):
    """PEFT's get_pattern_key: the first key K with re.match(rf"(.*\\.)?({K})$", name), else the name itself."""
    return next((k for k in keys if re.match(rf'(.*\.)?({k})$', name)), name)


def _listed(spec, name):
    if isinstance(spec, str):
        return re.fullmatch(spec, name) is not None
    return name in spec or any(name.endswith('.' + k) for k in spec)


def _layer_ok(cfg, name):
    ltt = cfg.get('layers_to_transform')
    if ltt is None:
        return True
    ltt = [ltt] if isinstance(ltt, int) else list(ltt)
    lp = cfg.get('layers_pattern')
    lp = [lp] if isinstance(lp, str) else (lp or ['h', 'layer', 'layers', 'blocks'])
    for p in lp:
        m = re.match(rf'.*\.{p}\.(\d+)\.', name)
        if m:
            return int(m.group(1)) in ltt
    return False


# ------------------------------------------------------------------ model
def load_base(model_dir, num_labels):
    with open(os.path.join(model_dir, 'config.json')) as f:
        c = json.load(f)
    c = dict(c)
    sd, _ = load_safetensors(os.path.join(model_dir, 'model.safetensors'))
    kind = c.get('model_type')
    if kind == 'gpt2':
        sd = {k[len('transformer.'):] if k.startswith('transformer.') else k: v for k, v in sd.items()}
        sd = {k: v for k, v in sd.items() if not (k.endswith('.attn.bias') or k.endswith('.attn.masked_bias') or k == 'lm_head.weight')}
        model = GPT2LMHeadModel(c)
        model.load_state_dict(sd, strict=True)
        hf_prefix, head = 'transformer.', None
    elif kind == 'bert':
        if not num_labels:
            fail('a BERT adapter must carry the classifier head (modules_to_save: ["classifier"] with '
                 'base_model.model.classifier.weight/bias); without it PEFT would use a randomly initialised head')
        if 'id2label' in c and len(c['id2label']) != num_labels:
            print(f'peft_check: config.json has {len(c["id2label"])} labels, the adapter head {num_labels}; using the '
                  'adapter head (as PEFT does after loading the model with num_labels set)', file=sys.stderr)
        model = Bert(c, mlm=False, nsp=False, num_labels=num_labels)
        enc = {k: v for k, v in sd.items() if k.startswith('bert.')}
        missing, unexpected = model.load_state_dict(enc, strict=False)
        bad = [k for k in missing if not k.startswith('classifier.')]
        if bad or unexpected:
            fail(f'base checkpoint does not fit a BertForSequenceClassification: missing {bad}, unexpected {unexpected}')
        hf_prefix, head = '', 'classifier'
    elif kind in LLAMA_PREFIX:
        # The task is the adapter's: a score head in the adapter makes the model a *ForSequenceClassification.
        c['architectures'] = [LLAMA_PREFIX[kind] + ('ForSequenceClassification' if num_labels else 'ForCausalLM')]
        if num_labels:
            c.pop('id2label', None)
            c['num_labels'] = num_labels
            if c.get('pad_token_id') is None:
                fail('config.json: a sequence classifier needs pad_token_id (the pooled token is the last non-pad one)')
        model = LlamaFamily(c)
        sd = {k: v for k, v in sd.items() if not k.endswith('rotary_emb.inv_freq')}
        if num_labels or c.get('tie_word_embeddings'):
            sd.pop('lm_head.weight', None)
        missing, unexpected = model.load_state_dict(sd, strict=False)
        bad = [k for k in missing if k != 'score.weight']
        unexpected = [k for k in unexpected if k != 'score.weight']
        if bad or unexpected:
            fail(f'base checkpoint does not fit a {c["architectures"][0]}: missing {bad}, unexpected {unexpected}')
        hf_prefix, head = '', ('score' if num_labels else None)
    else:
        fail(f'{model_dir}: model_type {kind!r} is not gpt2, bert, llama, qwen2 or qwen3')
    model.eval()
    return model, kind, hf_prefix, head


def hf_modules(model, hf_prefix):
    """HF module path -> torch module, for every module of the model."""
    return {hf_prefix + n: m for n, m in model.named_modules() if n}


# ------------------------------------------------------------------ adapter
def apply_adapter(model, kind, hf_prefix, head, cfg, tensors, dtype):
    r0, alpha0, rank_pattern, alpha_pattern, tm, mts = validate_config(cfg)
    mods = hf_modules(model, hf_prefix)
    linear_names = [n for n, m in mods.items() if isinstance(m, (nn.Linear, Conv1D)) and n not in (head, 'lm_head')]
    # PEFT (ModulesToSaveWrapper) renames the trainable copy `<name>.modules_to_save.<adapter>`; saved files drop that.
    tensors = {re.sub(r'\.modules_to_save\.[^.]+(?=\.)', '', k): v for k, v in tensors.items()}
    bad = [k for k in tensors if not k.startswith(PREFIX)]
    if bad:
        fail(f'adapter_model.safetensors: tensor names must start with "{PREFIX}": {bad[:3]}')
    used = set()

    if tm == 'all-linear':
        targets = list(linear_names)
    else:
        targets = [n for n in linear_names if _listed(tm, n)]
        if isinstance(tm, list):
            for k in tm:
                if not any(n == k or n.endswith('.' + k) for n in mods):
                    fail(f'adapter_config.json: target_modules entry {k!r} matches no module of the {kind} model '
                         f'(PEFT would silently skip it; module names look like {linear_names[0]!r})')
            for k in tm:
                for n, m in mods.items():
                    if (n == k or n.endswith('.' + k)) and n not in targets and n not in (head, 'lm_head'):
                        fail(f'target module {n!r} is a {type(m).__name__}, not a Linear/Conv1D layer LoRA can adapt')
    ex = cfg.get('exclude_modules')
    if ex:
        targets = [n for n in targets if not _listed(ex, n)]
    targets = [n for n in targets if _layer_ok(cfg, n)]
    if not targets:
        fail(f'Target modules {tm!r} not found in the base model (PEFT raises this too)')

    summary = []
    for name in targets:
        mod = mods[name]
        r = rank_pattern.get(pattern_key(rank_pattern.keys(), name), r0)
        alpha = alpha_pattern.get(pattern_key(alpha_pattern.keys(), name), alpha0)
        if not (isinstance(r, int) or float(r).is_integer()) or r <= 0:
            fail(f'{name}: rank {r!r}; PEFT requires r > 0')
        r = int(r)
        scaling = alpha / math.sqrt(r) if cfg.get('use_rslora') else alpha / r
        if isinstance(mod, Conv1D):
            in_f, out_f = mod.weight.shape  # Conv1D stores [in, out]
        else:
            out_f, in_f = mod.weight.shape
        ka, kb, kbias = f'{PREFIX}{name}.lora_A.weight', f'{PREFIX}{name}.lora_B.weight', f'{PREFIX}{name}.lora_B.bias'
        for k in (ka, kb):
            if k not in tensors:
                fail(f'adapter_model.safetensors: target module {name} has no tensor {k}')
        A, B = tensors[ka], tensors[kb]
        if tuple(A.shape) != (r, in_f) or tuple(B.shape) != (out_f, r):
            fail(f'{name}: lora_A {list(A.shape)} / lora_B {list(B.shape)} do not fit r={r}, in={in_f}, out={out_f} '
                 f'(expected [{r}, {in_f}] / [{out_f}, {r}]; PEFT fails with a size mismatch)')
        bias = None
        if cfg.get('lora_bias'):
            if kbias not in tensors:
                fail(f'adapter_model.safetensors: lora_bias is true but {kbias} is missing')
            bias = tensors[kbias].to(dtype)
            used.add(kbias)
        used.update((ka, kb))
        A, B = A.to(dtype), B.to(dtype)

        def hook(_m, inputs, out, A=A, B=B, bias=bias, s=scaling):
            return out + F.linear(F.linear(inputs[0], A), B, bias) * s

        mod.register_forward_hook(hook)
        summary.append((name, r, alpha, scaling))

    if cfg.get('task_type') == 'SEQ_CLS' and head and head not in mts:
        mts = [*mts, head]  # PeftModelForSequenceClassification adds the classifier ("classifier"/"score") itself
    for ms in mts:
        hits = [n for n in mods if n == ms or n.endswith('.' + ms)]
        if not hits:
            fail(f'adapter_config.json: modules_to_save entry {ms!r} matches no module')
        for n in hits:
            for pname, p in mods[n].named_parameters(recurse=True):
                k = f'{PREFIX}{n}.{pname}'
                if k not in tensors:
                    fail(f'adapter_model.safetensors: modules_to_save {n!r} has no tensor {k}')
                if tuple(tensors[k].shape) != tuple(p.shape):
                    fail(f'{k}: shape {list(tensors[k].shape)} does not fit the module ({list(p.shape)})')
                with torch.no_grad():
                    p.copy_(tensors[k])
                used.add(k)
    if head and not any(k.startswith(f'{PREFIX}{head}.') for k in used):
        fail(f'a sequence-classification adapter must carry its head (modules_to_save: ["{head}"] with '
             f'base_model.model.{head}.weight); without it PEFT would use a randomly initialised head')
    unused = sorted(set(tensors) - used)
    if unused:
        fail(f'adapter_model.safetensors: {len(unused)} tensors belong to no target module or modules_to_save, '
             f'e.g. {unused[:3]} (PEFT would ignore them)')
    return summary


def head_rows(tensors, cfg):
    """num_labels from the adapter's classifier head (modules_to_save), 0 when there is none."""
    for k, v in tensors.items():
        k = re.sub(r'\.modules_to_save\.[^.]+(?=\.)', '', k)
        if k in (f'{PREFIX}classifier.weight', f'{PREFIX}score.weight'):
            return int(v.shape[0])
    return 0


# ------------------------------------------------------------------ main
def run(args):
    model_dir = args.model if os.path.isdir(args.model) else os.path.join(MODELS, args.model)
    if not os.path.isfile(os.path.join(model_dir, 'config.json')):
        fail(f'{args.model}: no config.json (pass a model folder or a name under public/models)')
    cpath, mpath = os.path.join(args.adapter, 'adapter_config.json'), os.path.join(args.adapter, 'adapter_model.safetensors')
    for p in (cpath, mpath):
        if not os.path.isfile(p):
            fail(f'{p} is missing')
    try:
        with open(cpath) as f:
            cfg = json.load(f)
    except json.JSONDecodeError as e:
        fail(f'{cpath}: not valid JSON ({e})')
    validate_config(cfg)
    try:
        tensors, _ = load_safetensors(mpath)
    except (AssertionError, KeyError, ValueError) as e:
        fail(f'{mpath}: not a valid safetensors file ({e})')
    dtype = torch.float64 if args.dtype == 'float64' else torch.float32
    model, kind, hf_prefix, head = load_base(model_dir, head_rows(tensors, cfg))
    model.to(dtype)
    summary = apply_adapter(model, kind, hf_prefix, head, cfg, tensors, dtype)
    for name, r, alpha, s in summary:
        print(f'peft_check: {name}: r={r} alpha={alpha:g} scaling={s:g}', file=sys.stderr)

    if args.ids is not None:
        ids = [int(x) for x in args.ids.replace('[', '').replace(']', '').split(',') if x.strip()]
        types = [0] * len(ids)
    else:
        if args.text is None:
            fail('pass --text or --ids')
        enc = tokenize(model_dir, [args.text], add_special_tokens=True)[0]
        ids, types = enc['ids'], enc.get('token_type_ids') or [0] * len(enc['ids'])
    if not ids:
        fail('the input is empty')
    x = torch.tensor([ids], dtype=torch.int64)
    with torch.no_grad():
        if kind == 'gpt2':
            if len(ids) > model.config['n_positions']:
                fail(f'{len(ids)} tokens > n_positions {model.config["n_positions"]}')
            logits = model(x)[0][0]
        elif kind in LLAMA_PREFIX:
            out = model(x)[0]  # causal LM [1, T, V] -> T rows; classifier [1, num_labels] -> one row, as dynrank
            logits = out if model.seqcls else out[0]
        else:
            logits = model.classify(x, torch.ones_like(x), torch.tensor([types], dtype=torch.int64))[0]
    out = json.dumps({'input_ids': ids, 'logits': logits.double().tolist()})
    if args.out:
        with open(args.out, 'w') as f:
            f.write(out)
    else:
        sys.stdout.write(out + '\n')


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--model', required=True, help='model folder, or a name under public/models')
    ap.add_argument('--adapter', required=True, help='folder with adapter_config.json + adapter_model.safetensors')
    ap.add_argument('--text', help='text to tokenize with the model tokenizer (tools/tokenize.mjs)')
    ap.add_argument('--ids', help='token ids instead of --text, e.g. 2,65,1333,3')
    ap.add_argument('--dtype', choices=('float32', 'float64'), default='float32',
                    help='compute dtype (float32, as PEFT evaluates by default; float64 for a rounding-free reference)')
    ap.add_argument('--out', help='write the JSON here instead of stdout')
    args = ap.parse_args()
    torch.set_num_threads(1)
    try:
        run(args)
    except CheckError as e:
        print(f'peft_check: error: {e}', file=sys.stderr)
        sys.exit(1)


if __name__ == '__main__':
    main()
