// Llama-family network on random checkpoints, covering what the PyTorch goldens do not: Llama attention_bias (o_proj
// bias) and mlp_bias, an explicit head_dim with H*D != hidden on Llama, Qwen3 with biases, a left-padded classifier
// batch (the key mask matters there), and LoRA adapters on q_proj/v_proj. Every backward is checked against central
// differences of the f32 loss (CPU), and the WebGPU backend against the CPU one for logits, loss and every gradient.

import { describe, expect, it } from 'vitest';
import { type LlamaConfig, parseLlamaConfig } from '../../src/models/arch/llamaConfig';
import { llamaWeightShapes } from '../../src/models/arch/llamaWeights';
import { Llama } from '../../src/nn/llamaCausal';
import { type DecoderClsBatch, LlamaClassifier, lastTokenRows } from '../../src/nn/llamaClassifier';
import { ParamStore } from '../../src/nn/params';
import { AdapterSet } from '../../src/peft/adapters';
import type { Backend, Tensor } from '../../src/tensor/backend';
import { CpuBackend } from '../../src/tensor/cpu';
import { Rng } from '../../src/tensor/rng';
import { expectClose } from '../helpers/check';
import { gpuBackend } from '../helpers/gpu';

type Weights = Map<string, { shape: number[]; data: Float32Array }>;

const BASE = {
  hidden_size: 12,
  intermediate_size: 16,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  head_dim: 4,
  vocab_size: 23,
  max_position_embeddings: 256,
  rms_norm_eps: 1e-5,
  bos_token_id: 1,
  eos_token_id: 2,
};
const VARIANTS: Record<string, Record<string, unknown>> = {
  // Llama 3 rope scaling, q/k/v/o and MLP biases, untied head, H*D = 16 != hidden 12.
  'llama-biases': {
    ...BASE,
    model_type: 'llama',
    attention_bias: true,
    mlp_bias: true,
    tie_word_embeddings: false,
    rope_theta: 500000,
    rope_scaling: {
      rope_type: 'llama3',
      factor: 8,
      low_freq_factor: 1,
      high_freq_factor: 4,
      original_max_position_embeddings: 16,
    },
  },
  // q/k norm with q/k/v/o biases, tied head.
  'qwen3-bias': { ...BASE, model_type: 'qwen3', attention_bias: true, tie_word_embeddings: true, rope_theta: 1e6 },
  'qwen2-mqa': { ...BASE, model_type: 'qwen2', num_key_value_heads: 1, tie_word_embeddings: true },
};

function randomWeights(cfg: LlamaConfig, seed: number): Weights {
  const r = new Rng(seed),
    w: Weights = new Map();
  for (const [name, shape] of llamaWeightShapes(cfg)) {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    const norm = /norm\.weight$/.test(name),
      bias = name.endsWith('.bias');
    const scale = norm ? 0.1 : bias ? 0.1 : 1 / Math.sqrt(shape[shape.length - 1]);
    for (let i = 0; i < data.length; i++) data[i] = (norm ? 1 : 0) + (r.next() * 2 - 1) * scale * 1.7;
    w.set(name, { shape, data });
  }
  return w;
}

const B = 2,
  T = 6;

function store(be: Backend, w: Weights): ParamStore {
  return new ParamStore(be, new Map([...w].map(([n, t]) => [n, be.fromArray(t.data, t.shape, n)] as [string, Tensor])));
}

interface RunResult {
  loss: number;
  logits: Float32Array;
  grads: Map<string, Float32Array>;
  adapterGrad?: Float32Array;
}

interface RunOptions {
  /** Attach LoRA (rank 2) on q_proj and v_proj with this packed theta. */
  theta?: Float32Array;
}

/** One forward + loss + backward with every gradient enabled. */
async function run(be: Backend, cfg: LlamaConfig, w: Weights, opts: RunOptions = {}): Promise<RunResult> {
  const params = store(be, w),
    r = new Rng(7),
    V = cfg.vocabSize;
  let net: Llama | LlamaClassifier;
  let step: () => { lossSum: Tensor; count: Tensor; logits: Tensor };
  if (cfg.task === 'seq-cls') {
    const cls = new LlamaClassifier(be, cfg, params);
    const pad = cfg.padTokenId!;
    // Row 0 left-padded (3 pads), row 1 full: only the key mask keeps row 0's real tokens off the pads.
    const ids = Int32Array.from({ length: B * T }, (_, i) => (i < 3 ? pad : 3 + r.int(V - 3)));
    const mask = Int32Array.from(ids, (_id, i) => (i < 3 ? 0 : 1));
    const rows = lastTokenRows(ids, B, T, pad);
    const batch: DecoderClsBatch = {
      ids: be.fromArray(ids, [B * T]),
      mask: be.fromArray(mask, [B * T]),
      poolRows: be.fromArray(rows, [B]),
      B,
      T,
    };
    const labels = be.fromArray(Int32Array.from([2, 0]), [B]);
    net = cls;
    step = () => {
      const logits = cls.forward(batch),
        l = cls.loss(labels);
      cls.backward(batch, labels);
      return { ...l, logits };
    };
  } else {
    const lm = new Llama(be, cfg, params);
    const ids = Int32Array.from({ length: B * T }, () => r.int(V));
    const targets = Int32Array.from(ids, (_, i) => (i % T === T - 1 ? -100 : ids[i + 1]));
    const tIds = be.fromArray(ids, [B * T]),
      tT = be.fromArray(targets, [B * T]);
    net = lm;
    step = () => {
      const logits = lm.forward(tIds, B, T),
        l = lm.loss(tT);
      lm.backward(tIds, tT);
      return { ...l, logits };
    };
  }
  net.enableAllGradients();
  let adapters: AdapterSet | null = null;
  if (opts.theta) {
    const targets = net.linears().filter((l) => /self_attn\.(q|v)_proj$/.test(l.name));
    expect(targets.map((l) => l.name)).toEqual([
      'model.layers.0.self_attn.q_proj',
      'model.layers.0.self_attn.v_proj',
      'model.layers.1.self_attn.q_proj',
      'model.layers.1.self_attn.v_proj',
    ]);
    adapters = new AdapterSet(be, targets, { method: 'lora', R0: 2, alpha: 4, dropout: 0, seed: 1 });
    be.write(adapters.theta, opts.theta);
  }
  const { lossSum, count, logits } = step();
  const loss = ((await be.read(lossSum))[0] as number) / ((await be.read(count))[0] as number);
  const grads = new Map<string, Float32Array>();
  for (const [n, g] of params.grads) grads.set(n, (await be.read(g)) as Float32Array);
  return {
    loss,
    logits: (await be.read(logits)) as Float32Array,
    grads,
    adapterGrad: adapters ? ((await be.read(adapters.grad)) as Float32Array) : undefined,
  };
}

/** Central differences of the f32 loss on a few entries of each parameter: checks the wiring, not the last digit. */
async function fdCheck(runW: (w: Weights) => Promise<RunResult>, w: Weights, names = [...w.keys()]): Promise<void> {
  const base = await runW(w),
    r = new Rng(3);
  let checked = 0;
  for (const name of names) {
    const t = w.get(name)!;
    for (let s = 0; s < 2; s++) {
      const i = r.int(t.data.length),
        old = t.data[i],
        h = 1e-2;
      t.data[i] = old + h;
      const up = (await runW(w)).loss;
      t.data[i] = old - h;
      const down = (await runW(w)).loss;
      t.data[i] = old;
      const num = (up - down) / (2 * h),
        ana = base.grads.get(name)![i];
      expect(Math.abs(num - ana), `${name}[${i}] numeric ${num} analytic ${ana}`).toBeLessThanOrEqual(
        2e-3 + 0.03 * Math.abs(num),
      );
      checked++;
    }
  }
  expect(checked).toBe(2 * names.length);
}

const variants: [string, LlamaConfig][] = [
  ...Object.entries(VARIANTS).map(([n, raw]) => [n, parseLlamaConfig(raw)] as [string, LlamaConfig]),
  [
    'llama-seqcls-leftpad',
    parseLlamaConfig({
      ...VARIANTS['llama-biases'],
      pad_token_id: 0,
      num_labels: 3,
      architectures: ['LlamaForSequenceClassification'],
    }),
  ],
];

describe.each(variants)('%s forward/backward', (_, cfg) => {
  it('gradients match finite differences of the loss (CPU, f32)', async () => {
    const cpu = new CpuBackend();
    await fdCheck((w) => run(cpu, cfg, w), randomWeights(cfg, 11));
  });

  it('WebGPU matches the CPU backend: logits, loss, every gradient', async () => {
    const w = randomWeights(cfg, 12);
    const [c, g] = [await run(new CpuBackend(), cfg, w), await run(await gpuBackend(), cfg, w)];
    expectClose(g.logits, c.logits, 1e-5, 1e-4, 'logits');
    expect(Math.abs(g.loss - c.loss)).toBeLessThan(1e-5);
    expect([...g.grads.keys()].sort()).toEqual([...c.grads.keys()].sort());
    for (const [n, cg] of c.grads) expectClose(g.grads.get(n)!, cg, 1e-5, 1e-3, `grad ${n}`);
  });
});

describe('LoRA on q_proj and v_proj', () => {
  const cfg = variants[0][1];
  // 4 modules of rank 2: q (in 12, out 16) and v (in 12, out 8) per layer.
  const thetaSize = 2 * (2 * (12 + 16) + 2 * (12 + 8));
  const theta = () => new Rng(5).fillUniform(new Float32Array(thetaSize), -0.3, 0.3) as Float32Array;

  it('changes the outputs; its gradients and the base gradients through it match finite differences', async () => {
    const cpu = new CpuBackend(),
      w = randomWeights(cfg, 13),
      th = theta();
    const plain = await run(cpu, cfg, w),
      base = await run(cpu, cfg, w, { theta: th });
    let moved = 0;
    for (let i = 0; i < plain.logits.length; i++) moved = Math.max(moved, Math.abs(plain.logits[i] - base.logits[i]));
    expect(moved).toBeGreaterThan(0.05);
    const r = new Rng(9),
      h = 1e-2;
    for (let s = 0; s < 16; s++) {
      const i = r.int(thetaSize),
        old = th[i];
      th[i] = old + h;
      const up = (await run(cpu, cfg, w, { theta: th })).loss;
      th[i] = old - h;
      const down = (await run(cpu, cfg, w, { theta: th })).loss;
      th[i] = old;
      const num = (up - down) / (2 * h),
        ana = base.adapterGrad![i];
      expect(Math.abs(num - ana), `theta[${i}] numeric ${num} analytic ${ana}`).toBeLessThanOrEqual(
        2e-3 + 0.03 * Math.abs(num),
      );
    }
    // The adapters' dx reaches the layers below: the embedding and layer-0 gradients still match.
    await fdCheck((ww) => run(cpu, cfg, ww, { theta: th }), w, [
      'model.embed_tokens.weight',
      'model.layers.0.input_layernorm.weight',
      'model.layers.0.self_attn.q_proj.bias',
    ]);
  });
});

describe('Llama padding, positions and workspaces', () => {
  const cfg = variants[3][1];

  it('a left-padded row pools the same logits as the row alone (RoPE is relative; the key mask hides the pads)', async () => {
    const be = new CpuBackend(),
      net = new LlamaClassifier(be, cfg, store(be, randomWeights(cfg, 14)));
    const real = [5, 9, 4, 17],
      pad = cfg.padTokenId!;
    const logitsOf = async (ids: number[], mask: number[] | null) => {
      const t = ids.length,
        host = Int32Array.from(ids);
      const tMask = mask ? be.fromArray(Int32Array.from(mask), [t]) : null;
      const out = net.forward({
        ids: be.fromArray(host, [t]),
        mask: tMask,
        poolRows: be.fromArray(lastTokenRows(host, 1, t, pad), [1]),
        B: 1,
        T: t,
      });
      return Float32Array.from((await be.read(out)) as Float32Array);
    };
    const alone = await logitsOf(real, null);
    const padded = await logitsOf([pad, pad, pad, ...real], [0, 0, 0, 1, 1, 1, 1]);
    expectClose(padded, alone, 1e-5, 1e-5, 'left-padded logits');
    // Right padding needs no mask: causal attention already keeps the pads after the pooled token.
    expectClose(await logitsOf([...real, pad, pad], null), alone, 1e-5, 1e-5, 'right-padded logits');
  });

  it('refuses a batch longer than max_position_embeddings', () => {
    const small = parseLlamaConfig({ ...VARIANTS['qwen2-mqa'], max_position_embeddings: 4 });
    const be = new CpuBackend(),
      net = new Llama(be, small, store(be, randomWeights(small, 1)));
    expect(() => net.forward(be.fromArray(new Int32Array(5), [5]), 1, 5)).toThrow(/sequence length 5 exceeds .* 4/);
  });

  it('varying batch shapes (and a longer RoPE table) recycle GPU memory instead of growing it', async () => {
    const be = await gpuBackend(),
      lm = variants[1][1];
    const net = new Llama(be, lm, store(be, randomWeights(lm, 2)));
    const ids = be.fromArray(new Int32Array(2 * 100).fill(3), [200]);
    const step = async (b: number, t: number) => await be.read(net.forward(ids, b, t));
    for (const [b, t] of [
      [1, 5],
      [2, 9],
      [2, 100],
      [1, 5],
      [2, 100],
    ])
      await step(b, t);
    const live = be.ctx.counters.bytesLive;
    for (const [b, t] of [
      [1, 5],
      [2, 9],
      [2, 100],
      [1, 5],
      [2, 100],
    ])
      await step(b, t);
    expect(be.ctx.counters.bytesLive).toBe(live);
  });
});
