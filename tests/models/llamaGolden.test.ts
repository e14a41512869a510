// Golden parity of the Llama family with an independent implementation: logits, loss and every parameter gradient of
// the five fixtures in tests/fixtures/llama (GQA + llama3 rope, Qwen2 biases + untied head, Qwen3 head_dim + q/k norm,
// a BF16 checkpoint, the sequence classifier) against PyTorch float64 values, on the CPU and the WebGPU backends.
// Tolerances: the README's float32-torch-vs-float64 gaps are logits <= 4.2e-6, loss <= 2.8e-7, gradients <= 1.3e-6
// (relative to the largest gradient, <= 1e-6); ours differ from f32 torch by summation order only, so the bounds are
// a few times those: logits 2e-5, loss 2e-6, each gradient tensor 1e-5 of its largest |value| plus 2e-3 relative.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type LlamaConfig, parseLlamaConfig } from '../../src/models/arch/llamaConfig';
import { RopeConfigError } from '../../src/models/arch/llamaRope';
import { LlamaWeightError, mapLlamaWeights } from '../../src/models/arch/llamaWeights';
import { ConfigError } from '../../src/models/config';
import { toFloat32 } from '../../src/models/safetensorsDecode';
import type { TensorEntry } from '../../src/models/safetensorsFormat';
import { parseSafetensors } from '../../src/models/safetensorsRead';
import { Llama } from '../../src/nn/llamaCausal';
import { LlamaClassifier, lastTokenRows } from '../../src/nn/llamaClassifier';
import { ParamStore } from '../../src/nn/params';
import type { Backend, Tensor } from '../../src/tensor/backend';
import { CpuBackend } from '../../src/tensor/cpu';
import { expectClose } from '../helpers/check';
import { gpuBackend } from '../helpers/gpu';

const DIR = 'tests/fixtures/llama/';
const FIXTURES = ['llama-gqa', 'qwen2-bias', 'qwen3-headdim', 'llama-bf16', 'llama-seqcls'];

const st = (path: string) => parseSafetensors(new Uint8Array(readFileSync(path)), path).tensors;
const f32 = (e: TensorEntry | undefined) => toFloat32(e!).slice();
const i64 = (e: TensorEntry | undefined) =>
  Int32Array.from(new BigInt64Array(e!.data.slice().buffer), (x) => Number(x));

/** config.json + model.safetensors of a fixture, checked and mapped as the loader will. */
type Weights = Map<string, { shape: number[]; data: Float32Array }>;

const checkpoint = (name: string): Weights =>
  new Map([...st(`${DIR}${name}/model.safetensors`)].map(([n, e]) => [n, { shape: e.shape, data: f32(e) }]));

function loadFixture(name: string): { cfg: LlamaConfig; weights: Weights } {
  const cfg = parseLlamaConfig(readFileSync(`${DIR}${name}/config.json`, 'utf8'));
  return { cfg, weights: mapLlamaWeights(checkpoint(name), cfg).tensors };
}

function upload(be: Backend, weights: Weights): ParamStore {
  return new ParamStore(
    be,
    new Map([...weights].map(([n, t]) => [n, be.fromArray(t.data, t.shape, n)] as [string, Tensor])),
  );
}

/** max |a - b| <= atol * max|b| + rtol |b| elementwise: a tolerance relative to the tensor's largest gradient. */
function expectGradClose(got: ArrayLike<number>, want: ArrayLike<number>, what: string): void {
  let scale = 0;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i]));
  expectClose(got, want, 1e-5 * Math.max(scale, 1e-3), 2e-3, what);
}

const backends: [string, () => Promise<Backend>][] = [
  ['cpu', async () => new CpuBackend()],
  ['webgpu', gpuBackend],
];

describe.each(backends)('Llama family vs PyTorch float64 (%s)', (_, mk) => {
  it.each(FIXTURES)('%s: logits, loss and every parameter gradient', async (name) => {
    const be = await mk();
    const { cfg, weights } = loadFixture(name);
    const params = upload(be, weights);
    const io = st(`${DIR}${name}/golden.io.safetensors`),
      ids = i64(io.get('input_ids'));
    const [B, T] = io.get('input_ids')!.shape;
    const tIds = be.fromArray(ids, [B * T]);
    let logits: Tensor, lossSum: Tensor, count: Tensor;
    if (cfg.task === 'seq-cls') {
      expect(name).toBe('llama-seqcls');
      const net = new LlamaClassifier(be, cfg, params);
      net.enableAllGradients();
      const rows = lastTokenRows(ids, B, T, cfg.padTokenId!);
      expect(Array.from(rows, (r, b) => r - b * T)).toEqual([7, 11]); // golden.json pooled_positions
      const batch = {
        ids: tIds,
        B,
        T,
        mask: be.fromArray(i64(io.get('attention_mask')), [B * T]),
        poolRows: be.fromArray(rows, [B]),
      };
      const labels = be.fromArray(i64(io.get('labels')), [B]);
      logits = net.forward(batch);
      ({ lossSum, count } = net.loss(labels));
      net.backward(batch, labels);
    } else {
      const net = new Llama(be, cfg, params);
      net.enableAllGradients();
      // labels = input_ids: position t predicts token t+1; the last position of each row has no target.
      const targets = be.fromArray(
        Int32Array.from(ids, (_, i) => (i % T === T - 1 ? -100 : ids[i + 1])),
        [B * T],
      );
      logits = net.forward(tIds, B, T);
      ({ lossSum, count } = net.loss(targets));
      net.backward(tIds, targets);
    }
    expectClose(await be.read(logits), f32(io.get('logits')), 2e-5, 1e-5, `${name} logits`);
    const loss = (await be.read(lossSum))[0] / (await be.read(count))[0];
    expect(Math.abs(loss - f32(io.get('loss'))[0]), `${name} loss ${loss}`).toBeLessThan(2e-6);
    const grads = st(`${DIR}${name}/golden.grads.safetensors`);
    expect([...params.grads.keys()].sort()).toEqual([...grads.keys()].sort());
    for (const [n, e] of grads) expectGradClose(await be.read(params.grads.get(n)!), f32(e), `${name} d ${n}`);
  });
});

const fixtureConfig = (name: string) =>
  JSON.parse(readFileSync(`${DIR}${name}/config.json`, 'utf8')) as Record<string, unknown>;

describe('Llama config.json parsing', () => {
  it('reads each fixture: family, head, GQA, head_dim, biases, q/k norm, tying, rope, labels', () => {
    const gqa = parseLlamaConfig(fixtureConfig('llama-gqa'));
    expect(gqa).toMatchObject({
      family: 'llama',
      task: 'causal-lm',
      heads: 4,
      kvHeads: 2,
      headDim: 8,
      hidden: 32,
      qkvBias: false,
      oBias: false,
      mlpBias: false,
      qkNorm: false,
      tieWordEmbeddings: true,
      eps: 1e-5,
      numLabels: 0,
      bosTokenId: 1,
      eosTokenIds: [2],
      padTokenId: null,
    });
    expect(gqa.rope.scaling.type).toBe('llama3');
    expect(parseLlamaConfig(fixtureConfig('qwen2-bias'))).toMatchObject({
      family: 'qwen2',
      qkvBias: true,
      oBias: false,
      tieWordEmbeddings: false,
      padTokenId: 2,
      rope: { theta: 1e6, scaling: { type: 'default' } },
    });
    expect(parseLlamaConfig(fixtureConfig('qwen3-headdim'))).toMatchObject({
      family: 'qwen3',
      headDim: 16,
      hidden: 48,
      qkNorm: true,
      qkvBias: false,
    });
    expect(parseLlamaConfig(fixtureConfig('llama-bf16'))).toMatchObject({ kvHeads: 1, rope: { theta: 1e5 } });
    expect(parseLlamaConfig(fixtureConfig('llama-seqcls'))).toMatchObject({
      task: 'seq-cls',
      numLabels: 3,
      labels: ['LABEL_0', 'LABEL_1', 'LABEL_2'],
      padTokenId: 0,
      architecture: 'LlamaForSequenceClassification',
    });
  });

  it('applies transformers defaults and per-family bias rules', () => {
    const base = {
      model_type: 'llama',
      hidden_size: 64,
      num_attention_heads: 4,
      num_hidden_layers: 1,
      intermediate_size: 128,
      vocab_size: 50,
    };
    const llama = parseLlamaConfig(base);
    expect(llama).toMatchObject({
      kvHeads: 4,
      headDim: 16,
      eps: 1e-6,
      maxPositions: 2048,
      tieWordEmbeddings: false,
      rope: { theta: 10000 },
      architecture: 'LlamaForCausalLM',
    });
    expect(parseLlamaConfig({ ...base, attention_bias: true, mlp_bias: true })).toMatchObject({
      qkvBias: true,
      oBias: true,
      mlpBias: true,
    });
    // Qwen2 always has q/k/v biases and never an o or MLP bias; Qwen3 defaults head_dim to 128.
    expect(parseLlamaConfig({ ...base, model_type: 'qwen2', attention_bias: false })).toMatchObject({
      qkvBias: true,
      oBias: false,
      mlpBias: false,
    });
    expect(parseLlamaConfig({ ...base, model_type: 'qwen3' }).headDim).toBe(128);
    // A causal-LM checkpoint as a classifier: task, class count and pad token from the options.
    const cls = parseLlamaConfig(base, { task: 'seq-cls', numLabels: 5, padTokenId: 0 });
    expect(cls).toMatchObject({
      task: 'seq-cls',
      numLabels: 5,
      padTokenId: 0,
      architecture: 'LlamaForSequenceClassification',
    });
    expect(parseLlamaConfig({ ...base, eos_token_id: [2, 3] }).eosTokenIds).toEqual([2, 3]);
  });

  const gqa = fixtureConfig('llama-gqa');
  it.each([
    [{ hidden_size: 0 }, 'hidden_size', /integer in \[1, 65536\], got 0/],
    [{ hidden_size: 32.5 }, 'hidden_size', /integer/],
    [{ hidden_size: '32' }, 'hidden_size', /must be a number, got "32"/],
    [{ num_hidden_layers: 5000 }, 'num_hidden_layers', /\[1, 1024\]/],
    [{ vocab_size: 1e9 }, 'vocab_size', /integer in/],
    [{ intermediate_size: -1 }, 'intermediate_size', /integer in/],
    [{ num_key_value_heads: 3 }, 'num_key_value_heads', /must divide num_attention_heads \(4\)/],
    [{ num_key_value_heads: 8 }, 'num_key_value_heads', /\[1, 4\]/],
    [{ head_dim: 7 }, 'head_dim', /even/],
    [{ head_dim: undefined, hidden_size: 30 }, 'num_attention_heads', /must divide hidden_size \(30\)/],
    [{ rms_norm_eps: 0 }, 'rms_norm_eps', /\(0, 1\)/],
    [{ max_position_embeddings: -5 }, 'max_position_embeddings', /integer/],
    [{ hidden_act: 'gelu' }, 'hidden_act', /"gelu".*needs "silu"/],
    [{ tie_word_embeddings: 1 }, 'tie_word_embeddings', /true or false/],
    [{ mlp_bias: 'no' }, 'mlp_bias', /true or false/],
    [{ attention_dropout: 1.5 }, 'attention_dropout', /\[0, 1\)/],
    [{ initializer_range: -1 }, 'initializer_range', /\(0, 1\]/],
    [{ bos_token_id: 300 }, 'bos_token_id', /token id in \[0, 299\]/],
    [{ eos_token_id: [2, -1] }, 'eos_token_id', /token id/],
    [{ pad_token_id: 1.5 }, 'pad_token_id', /token id/],
    [{ model_type: 'mistral' }, 'model_type', /"mistral"/],
    [{ architectures: ['Qwen2ForCausalLM'] }, 'architectures', /"Qwen2ForCausalLM".*model_type "llama"/],
    [{ architectures: ['LlamaForTokenClassification'] }, 'architectures', /LlamaForTokenClassification/],
    [{ architectures: 'LlamaForCausalLM' }, 'architectures', /list of one class name/],
    [{ architectures: ['LlamaForSequenceClassification'] }, 'pad_token_id', /is missing/],
    [{ use_sliding_window: true }, 'use_sliding_window', /not supported/],
    [
      { id2label: ['a', 'b'], architectures: ['LlamaForSequenceClassification'], pad_token_id: 0 },
      'id2label',
      /object of class names/,
    ],
  ] as [Record<string, unknown>, string, RegExp][])('refuses %j naming the field %s', (patch, field, msg) => {
    let err: unknown;
    try {
      parseLlamaConfig({ ...gqa, ...patch }, { file: 'models/x/config.json' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).field).toBe(field);
    expect((err as ConfigError).file).toBe('models/x/config.json');
    expect((err as Error).message).toMatch(/^models\/x\/config\.json: field "/);
    expect((err as Error).message).toMatch(msg);
  });

  it('refuses an unknown rope_scaling type by name, with a RopeConfigError naming the field', () => {
    let err: unknown;
    try {
      parseLlamaConfig({ ...gqa, rope_scaling: { rope_type: 'yarn', factor: 4 } });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RopeConfigError);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as RopeConfigError).field).toBe('rope_scaling.rope_type');
    expect((err as Error).message).toMatch(/^config\.json: rope_scaling\.rope_type: rope type "yarn" is not supported/);
  });

  it('refuses text that is not a JSON object', () => {
    expect(() => parseLlamaConfig('{"model_type": ')).toThrow(/config\.json: not valid JSON/);
    expect(() => parseLlamaConfig('[1]')).toThrow(/expected a JSON object/);
  });
});

describe('Llama checkpoint tensors vs config.json', () => {
  const refusal = (fn: () => unknown): LlamaWeightError => {
    let err: unknown;
    try {
      fn();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(LlamaWeightError);
    return err as LlamaWeightError;
  };

  it('refuses a shape that does not follow config.json, naming the tensor', () => {
    const cfg = parseLlamaConfig({ ...fixtureConfig('llama-gqa'), num_key_value_heads: 4 });
    const e = refusal(() => mapLlamaWeights(checkpoint('llama-gqa'), cfg));
    expect(e.field).toBe('model.layers.0.self_attn.k_proj.weight');
    expect(
      e.message.startsWith(
        'model.safetensors: tensor "model.layers.0.self_attn.k_proj.weight" has shape ' +
          '[16, 32], config.json implies [32, 32]',
      ),
    ).toBe(true);
  });

  it('refuses a missing tensor and an unexpected one, naming it', () => {
    const qwen3 = parseLlamaConfig(fixtureConfig('qwen3-headdim'));
    const w = checkpoint('qwen3-headdim');
    w.delete('model.layers.1.self_attn.k_norm.weight');
    expect(refusal(() => mapLlamaWeights(w, qwen3)).field).toBe('model.layers.1.self_attn.k_norm.weight');
    const oneLayer = parseLlamaConfig({ ...fixtureConfig('llama-gqa'), num_hidden_layers: 1 });
    const e = refusal(() => mapLlamaWeights(checkpoint('llama-gqa'), oneLayer, { file: 'x.safetensors' }));
    expect(e.field).toMatch(/^model\.layers\.1\./);
    expect(e.message).toMatch(/^x\.safetensors: tensor "model\.layers\.1\..*" is not part of a LlamaForCausalLM/);
    // Qwen2 (q/k/v biases) read as Llama: the biases are unexpected.
    const asLlama = parseLlamaConfig({ ...fixtureConfig('qwen2-bias'), model_type: 'llama', architectures: null });
    expect(refusal(() => mapLlamaWeights(checkpoint('qwen2-bias'), asLlama)).field).toMatch(/_proj\.bias$/);
  });

  it('drops RoPE buffers and a tied lm_head; a new task gets a fresh score head, a causal LM drops it', () => {
    const cfg = parseLlamaConfig(fixtureConfig('llama-gqa'));
    const w = checkpoint('llama-gqa');
    w.set('lm_head.weight', w.get('model.embed_tokens.weight')!);
    w.set('model.layers.0.self_attn.rotary_emb.inv_freq', { shape: [4], data: new Float32Array(4) });
    const m = mapLlamaWeights(w, cfg);
    expect(m.ignored.sort()).toEqual(['lm_head.weight', 'model.layers.0.self_attn.rotary_emb.inv_freq']);
    const cls = parseLlamaConfig(fixtureConfig('llama-gqa'), { task: 'seq-cls', numLabels: 4, padTokenId: 0 });
    const mc = mapLlamaWeights(checkpoint('llama-gqa'), cls, { seed: 3 });
    expect(mc.initialized).toEqual(['score.weight']);
    const score = mc.tensors.get('score.weight')!;
    expect(score.shape).toEqual([4, 32]);
    const std = Math.sqrt(score.data.reduce((s, v) => s + v * v, 0) / score.data.length);
    expect(std).toBeGreaterThan(0.01);
    expect(std).toBeLessThan(0.03); // initializer_range 0.02
    const lm = parseLlamaConfig({ ...fixtureConfig('llama-seqcls'), architectures: ['LlamaForCausalLM'] });
    expect(mapLlamaWeights(checkpoint('llama-seqcls'), lm).ignored).toEqual(['score.weight']);
  });
});
