#!/usr/bin/python3
"""tools/export_onnx.py — exports gpt2-demo to ONNX with golden logits.

  nice -n 10 /usr/bin/python3 tools/export_onnx.py [gpt2-demo|gpt2-tiny]     (seconds)

Writes tests/fixtures/onnx/<model>.onnx: torch.onnx.export (TorchScript exporter), opset 14, input `input_ids` int64
(1, T) with dynamic T (<= n_positions), output `logits` float32 (1, T, V); dropout off; no KV cache. Falls back to
gpt2-tiny if the gpt2-demo file would exceed 8 MB.
Writes tests/fixtures/onnx/<model>.golden.json: a fixed text tokenized with @huggingface/tokenizers, its ids, and the
float32 torch logits for it (full [1, T, V]), plus a second shorter input's logits checksum for the dynamic axis.
The exported graph is checked with onnx.checker; tools/check_onnx.mjs re-runs it in onnxruntime-web and compares.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import ROOT, MODELS, GPT2LMHeadModel, load_safetensors, write_json, tokenize, sha256, setup_torch
import json
import numpy as np
import torch
import onnx

OUT = os.path.join(ROOT, 'tests', 'fixtures', 'onnx')
TEXT = 'Call me Ishmael. The whale'
TEXT2 = 'Call me'
MAX_BYTES = 8 * 1024 * 1024


class LogitsOnly(GPT2LMHeadModel):
    """Same parameters/names as the checkpoint (wte.weight, h.0.attn.c_attn.weight, ...); returns logits only."""

    def forward(self, input_ids):
        return super().forward(input_ids)[0]


def f32list(t):
    """Nested lists of the shortest decimals that round-trip float32 (smaller JSON, exact values)."""
    return np.vectorize(lambda v: float(str(np.float32(v))), otypes=[object])(t.numpy()).tolist()


def export(name):
    d = os.path.join(MODELS, name)
    cfg = json.load(open(os.path.join(d, 'config.json')))
    c0 = dict(cfg, attn_pdrop=0.0, embd_pdrop=0.0, resid_pdrop=0.0)
    sd, _ = load_safetensors(os.path.join(d, 'model.safetensors'))
    wrapped = LogitsOnly(c0)
    wrapped.load_state_dict(sd, strict=True)
    wrapped.eval()
    enc = tokenize(name, [TEXT, TEXT2], add_special_tokens=False)
    ids = torch.tensor([enc[0]['ids']])
    ids2 = torch.tensor([enc[1]['ids']])
    path = os.path.join(OUT, f'{name}.onnx')
    os.makedirs(OUT, exist_ok=True)
    torch.onnx.export(wrapped, (ids,), path, opset_version=14, input_names=['input_ids'], output_names=['logits'],
                      dynamic_axes={'input_ids': {1: 'T'}, 'logits': {1: 'T'}}, do_constant_folding=True)
    m = onnx.load(path)
    onnx.checker.check_model(m)
    with torch.no_grad():
        logits = wrapped(ids)
        logits2 = wrapped(ids2)
    return path, m, enc, ids, ids2, logits, logits2, sd


def main():
    setup_torch(0)
    name = sys.argv[1] if len(sys.argv) > 1 else 'gpt2-demo'
    path, m, enc, ids, ids2, logits, logits2, sd = export(name)
    size = os.path.getsize(path)
    if size > MAX_BYTES and name != 'gpt2-tiny':
        print(f'{name}.onnx is {size} bytes > 8 MB; exporting gpt2-tiny instead')
        os.remove(path)
        name = 'gpt2-tiny'
        path, m, enc, ids, ids2, logits, logits2, sd = export(name)
        size = os.path.getsize(path)
    inits = [(i.name, list(i.dims)) for i in m.graph.initializer]
    write_json(os.path.join(OUT, f'{name}.golden.json'), {
        'model': f'public/models/{name}', 'model_sha256': sha256(os.path.join(MODELS, name, 'model.safetensors')),
        'onnx': f'{name}.onnx', 'onnx_bytes': size, 'onnx_sha256': sha256(path),
        'exporter': f'torch {torch.__version__} torch.onnx.export, opset 14, do_constant_folding=True',
        'opset': [{'domain': o.domain, 'version': o.version} for o in m.opset_import], 'ir_version': m.ir_version,
        'inputs': {'input_ids': 'int64 [1, T], T dynamic (<= n_positions)'}, 'outputs': {'logits': 'float32 [1, T, V]'},
        'ops': sorted({n.op_type for n in m.graph.node}),
        'initializers': inits,
        'text': TEXT, 'tokens': enc[0]['tokens'], 'input_ids': ids.tolist(),
        'logits_shape': list(logits.shape), 'logits': f32list(logits),
        'argmax': logits.argmax(-1).tolist(),
        'text2': TEXT2, 'input_ids2': ids2.tolist(),
        'logits2_sum': float(logits2.double().sum()), 'logits2_last_row_first8': f32list(logits2[0, -1, :8]),
        'lm_head_note': 'the tied lm_head appears as an anonymous initializer onnx::MatMul_* = wte.weight transposed [n_embd, V]; '
                        'other weights keep their checkpoint names (Conv1D weights [in, out] used by Gemm/MatMul)',
        'note': 'float32 torch (1 thread) logits; compare with rtol ~1e-4 / atol ~1e-4',
    })
    print(f'{name}: {path} {size} bytes, {len(m.graph.node)} nodes, ops {sorted({n.op_type for n in m.graph.node})}')
    print('initializers:', inits)


if __name__ == '__main__':
    main()
