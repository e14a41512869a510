// The Llama-family ONNX graph (src/export/onnx/llama.ts) on every causal fixture of tests/fixtures/llama (GQA with
// llama3 rope scaling and tied head; Qwen2 q/k/v biases and untied head; Qwen3 explicit head_dim and q/k norms; bf16
// weights) and on public/models/llama-demo, run in onnxruntime-web (wasm, in Node) against our CPU forward:
// the full forward, a prefill of T-1 tokens then one cached step through past_key_values, and a left-padded batch row
// with transformers.js's position ids (cumsum(mask) - 1, padding 1). The exported folder passes Debian's python3-onnx
// checker (full_check) and its config.json has what transformers.js sizes the past from.
//
// Tolerance 1e-4 absolute: both sides compute in float32; the ONNX side computes its RoPE angles in float32 from
// position_ids, ours reads a float64-computed table.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-web';
import { describe, expect, it } from 'vitest';
import { onnxFolder } from '../../src/export/onnx/folder';
import { OnnxExportError } from '../../src/export/onnx/graph';
import { llamaGraph } from '../../src/export/onnx/llama';
import { parseLlamaConfig } from '../../src/models/arch/llamaConfig';
import { readModelFiles } from '../../src/models/load';
import { dirSource } from '../../src/models/node';
import { Llama } from '../../src/nn/llamaCausal';
import { ParamStore } from '../../src/nn/params';
import { CpuBackend } from '../../src/tensor/cpu';
import { expectClose } from '../helpers/check';
import { llamaFolder } from '../helpers/llamaFolder';
import { LLAMA_DECODERS } from '../helpers/llamaNet';

const TOL = 1e-4;
const PYTHON = '/usr/bin/python3';
const i64 = (v: ArrayLike<number>, dims: number[]) =>
  new ort.Tensor('int64', BigInt64Array.from(Array.from(v, BigInt)), dims);
const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) =>
  Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i])));

/** Our weights and config of a folder (the fixtures have no tokenizer: a tiny one is copied beside them). */
async function load(dir: string) {
  const src = dir.startsWith('public/') ? dir : llamaFolder(dir.split('/').at(-1)!);
  const files = await readModelFiles(dirSource(src), {});
  if (files.config.kind !== 'llama' && files.config.kind !== 'qwen2' && files.config.kind !== 'qwen3')
    throw new Error(`${dir}: llama family expected`);
  return { ...files, config: files.config, src };
}

describe('Llama-family ONNX export', () => {
  for (const [name, dir] of LLAMA_DECODERS) {
    it(`${name}: full forward, prefill + cached step, left padding equal our forward`, async () => {
      const { config, weights } = await load(dir);
      const cfg = config.arch;
      const { layers: L, kvHeads: KVH, headDim: D, vocabSize: V } = cfg;
      const be = new CpuBackend();
      const params = new ParamStore(
        be,
        new Map([...weights.tensors].map(([n, t]) => [n, be.fromArray(t.data, t.shape, n)])),
      );
      const net = new Llama(be, cfg, params);
      const ours = async (ids: number[]) =>
        Float32Array.from(
          (await be.read(net.forward(be.fromArray(Int32Array.from(ids), [ids.length]), 1, ids.length))) as Float32Array,
        );
      ort.env.wasm.numThreads = 1;
      const s = await ort.InferenceSession.create(llamaGraph(cfg, weights.tensors).encode({ producer: 'test' }));
      expect(s.inputNames).toEqual([
        'input_ids',
        'attention_mask',
        'position_ids',
        ...Array.from({ length: L }, (_, l) => [`past_key_values.${l}.key`, `past_key_values.${l}.value`]).flat(),
      ]);
      expect(s.outputNames).toEqual([
        'logits',
        ...Array.from({ length: L }, (_, l) => [`present.${l}.key`, `present.${l}.value`]).flat(),
      ]);
      const ids = [1, 17, 250, 42, 9, 133, 77, 5, 201, 64, 18].map((t) => t % V);
      const T = ids.length;
      const want = await ours(ids);
      const feeds = (rows: number[][], mask: number[][], pos: number[][], kv: (n: string, B: number) => ort.Tensor) => {
        const B = rows.length;
        const f: Record<string, ort.Tensor> = {
          input_ids: i64(rows.flat(), [B, rows[0].length]),
          attention_mask: i64(mask.flat(), [B, mask[0].length]),
          position_ids: i64(pos.flat(), [B, pos[0].length]),
        };
        for (let l = 0; l < L; l++)
          for (const k of ['key', 'value']) f[`past_key_values.${l}.${k}`] = kv(`${l}.${k}`, B);
        return f;
      };
      const empty = (_: string, B: number) => new ort.Tensor('float32', new Float32Array(0), [B, KVH, 0, D]);
      const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);

      const full = await s.run(feeds([ids], [ids.map(() => 1)], [range(0, T)], empty));
      expect(full.logits.dims).toEqual([1, T, V]);
      expect(full['present.0.key'].dims).toEqual([1, KVH, T, D]);
      expectClose(full.logits.data as Float32Array, want, TOL, 0, `${name} full forward`);

      const prefill = await s.run(feeds([ids.slice(0, T - 1)], [ids.slice(1).map(() => 1)], [range(0, T - 1)], empty));
      const step = await s.run(
        feeds([ids.slice(T - 1)], [ids.map(() => 1)], [[T - 1]], (n) => prefill[`present.${n}`]),
      );
      expect(step.logits.dims).toEqual([1, 1, V]);
      expectClose(step.logits.data as Float32Array, want.subarray((T - 1) * V), TOL, 0, `${name} cached step`);

      // Row 1 is left-padded by 3 (pad id 0) and then takes a cached step: its real positions equal the short prompt's.
      const short = ids.slice(0, T - 3);
      const mask = [ids.map(() => 1), [0, 0, 0, ...short.map(() => 1)]];
      const pos = [range(0, T), [1, 1, 1, ...range(0, T - 3)]];
      const padded = await s.run(feeds([ids, [0, 0, 0, ...short]], mask, pos, empty));
      const got = padded.logits.data as Float32Array;
      expectClose(got.subarray(T * V + 3 * V), await ours(short), TOL, 0, `${name} left-padded row`);
      const next = [ids[3], ids[4]];
      const cont = await s.run(
        feeds(
          [[next[0]], [next[1]]],
          mask.map((m) => [...m, 1]),
          [[T], [T - 3]],
          (n) => padded[`present.${n}`],
        ),
      );
      const c = cont.logits.data as Float32Array;
      expectClose(c.subarray(0, V), (await ours([...ids, next[0]])).subarray(T * V), TOL, 0, `${name} row 0 step`);
      expectClose(c.subarray(V), (await ours([...short, next[1]])).subarray((T - 3) * V), TOL, 0, `${name} row 1 step`);
      console.info(
        `${name}: max |onnx - ours| full ${maxDiff(full.logits.data as Float32Array, want).toExponential(2)}, ` +
          `cached ${maxDiff(step.logits.data as Float32Array, want.subarray((T - 1) * V)).toExponential(2)}`,
      );
    });
  }

  it('writes config.json with kv heads and head_dim, and the checker accepts the file (qwen3-headdim)', async () => {
    const { config, weights, src } = await load('tests/fixtures/llama/qwen3-headdim');
    const files = onnxFolder({
      config,
      weights: weights.tensors,
      tokenizerJson: new Uint8Array(readFileSync(join(src, 'tokenizer.json'))),
      tokenizerConfig: null,
    });
    const cfg = JSON.parse(new TextDecoder().decode(files.get('config.json')));
    expect(cfg).toMatchObject({ architectures: ['Qwen3ForCausalLM'], head_dim: 16, num_key_value_heads: 2 });
    expect([...files.keys()].sort()).toEqual([
      'config.json',
      'generation_config.json',
      'onnx/model.onnx',
      'tokenizer.json',
      'tokenizer_config.json',
    ]);
    const path = join(mkdtempSync(join(tmpdir(), 'dynrank-onnx-q3-')), 'model.onnx');
    writeFileSync(path, files.get('onnx/model.onnx')!);
    const r = spawnSync(
      PYTHON,
      ['-c', 'import sys, onnx; onnx.checker.check_model(sys.argv[1], full_check=True)', path],
      { encoding: 'utf8' },
    );
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('refuses weights that do not fit one model.onnx, naming the size and the limit', async () => {
    const { config, weights } = await load('public/models/llama-demo');
    const input = { config, weights: weights.tensors, tokenizerJson: new Uint8Array(0), tokenizerConfig: null };
    expect(() => onnxFolder({ ...input, maxModelBytes: 2 ** 20 })).toThrow(OnnxExportError);
    expect(() => onnxFolder({ ...input, maxModelBytes: 2 ** 20 })).toThrow(
      /model\.safetensors: 3\.8 MiB of float32 weights do not fit one model\.onnx \(at most 1\.0 MiB .*smaller model/,
    );
    expect(onnxFolder({ ...input, maxModelBytes: 2 ** 23 }).has('onnx/model.onnx')).toBe(true);
  });

  it('refuses a sequence classifier with a typed error naming the file and what to export', () => {
    const cfg = parseLlamaConfig(readFileSync('tests/fixtures/llama/llama-seqcls/config.json', 'utf8'));
    expect(() => llamaGraph(cfg, new Map())).toThrow(OnnxExportError);
    expect(() => llamaGraph(cfg, new Map())).toThrow(/config\.json: LlamaForSequenceClassification .* causal LM/);
  });
});
