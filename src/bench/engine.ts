// Engine benchmarks (npm run bench): matmul GFLOP/s, training-step time of the peers' tiny GPT-2, the GPU work that
// transfers to real hardware (submissions, dispatches, buffer creations, readbacks per step), step time against the
// live-component fraction, and memory against the analytical estimate. Runs on any GpuBackend (Node/Dawn or a page).

import type { GpuBackend } from '../gpu/backend';
import { diffCounters, type GpuCounters } from '../gpu/counters';
import { instantiate } from '../models/load';
import { parseConfig } from '../models/config';
import type { TextTokenizer } from '../models/tokenizer';
import type { HostTensor } from '../models/weights';
import { Rng } from '../tensor/rng';
import { estimateMemory } from '../train/memory';
import { taskFor, type HostBatch } from '../train/task';
import { DEFAULT_OPTIM, Trainer, type TrainMethod } from '../train/trainer';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Waits for all submitted work by reading one float back (the only portable completion signal on every backend). */
async function settle(be: GpuBackend, t: Parameters<GpuBackend['read']>[0]): Promise<void> {
  await be.read(t);
}

export interface MatmulResult { shape: string; ms: number; gflops: number }

export async function benchMatmul(be: GpuBackend, shapes: [number, number, number][], reps = 3): Promise<MatmulResult[]> {
  const out: MatmulResult[] = [];
  const r = new Rng(1);
  for (const [M, K, N] of shapes) {
    const a = be.fromArray(r.fillUniform(new Float32Array(M * K)) as Float32Array, [M, K]);
    const b = be.fromArray(r.fillUniform(new Float32Array(K * N)) as Float32Array, [K, N]);
    const c = be.zeros([M, N]);
    be.matmul(c, a, b, null, { M, K, N });
    await settle(be, c);
    const times: number[] = [];
    for (let i = 0; i < reps; i++) {
      const t0 = performance.now();
      be.matmul(c, a, b, null, { M, K, N });
      be.flush();
      await settle(be, c);
      times.push(performance.now() - t0);
    }
    const ms = median(times);
    out.push({ shape: `${M}x${K}x${N}`, ms, gflops: (2 * M * K * N) / (ms * 1e6) });
    for (const t of [a, b, c]) be.dispose(t);
  }
  return out;
}

/** The peers' model (shared/peers): n_embd 64, 2 layers, 2 heads, vocab 1024, context 64, batch 8, tied embeddings. */
const PEER = { V: 1024, C: 64, L: 2, H: 2, T: 64, B: 8 };
const tok: TextTokenizer = { encode: () => ({ ids: [], typeIds: [] }), decode: () => '', padId: 0, eosId: 0, vocabSize: PEER.V };

function peerWeights(): Map<string, HostTensor> {
  const m = new Map<string, HostTensor>(), r = new Rng(7), { V, C, L, T } = PEER;
  const put = (n: string, shape: number[], s = 0.02, o = 0) => {
    const d = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < d.length; i++) d[i] = o + r.normal() * s;
    m.set(n, { shape, data: d });
  };
  put('wte.weight', [V, C]); put('wpe.weight', [T, C]);
  for (let l = 0; l < L; l++) {
    const p = `h.${l}.`;
    put(`${p}ln_1.weight`, [C], 0, 1); put(`${p}ln_1.bias`, [C], 0); put(`${p}ln_2.weight`, [C], 0, 1); put(`${p}ln_2.bias`, [C], 0);
    put(`${p}attn.c_attn.weight`, [C, 3 * C]); put(`${p}attn.c_attn.bias`, [3 * C], 0);
    put(`${p}attn.c_proj.weight`, [C, C]); put(`${p}attn.c_proj.bias`, [C], 0);
    put(`${p}mlp.c_fc.weight`, [C, 4 * C]); put(`${p}mlp.c_fc.bias`, [4 * C], 0);
    put(`${p}mlp.c_proj.weight`, [4 * C, C]); put(`${p}mlp.c_proj.bias`, [C], 0);
  }
  put('ln_f.weight', [C], 0, 1); put('ln_f.bias', [C], 0);
  return m;
}

export interface StepResult {
  variant: string;
  msPerStep: number;
  tokensPerSecond: number;
  perStep: Pick<GpuCounters, 'submissions' | 'dispatches' | 'bufferCreations' | 'readbacks' | 'pipelineCreations' | 'bytesAllocated'>;
  trainable: number;
  adapterFlops: number | null;
  bytesLive: number;
  estimateBytes: number;
}

export async function benchStep(be: GpuBackend, variant: 'full' | 'lora r=8 (c_attn)' | 'dynamic rank b=8 (c_attn)', liveFraction = 1, steps = 3): Promise<StepResult> {
  const { V, C, L, H, T, B } = PEER;
  const live0 = be.ctx.counters.bytesLive;
  const config = parseConfig({ model_type: 'gpt2', vocab_size: V, n_positions: T, n_embd: C, n_layer: L, n_head: H });
  const model = instantiate(be, config, tok, { tensors: peerWeights(), initialized: [], ignored: [] }, 'peer-gpt2');
  const method: TrainMethod = variant === 'full' ? { method: 'full', targets: ['attn.c_attn', 'attn.c_proj', 'mlp.c_fc', 'mlp.c_proj'] }
    : variant.startsWith('lora') ? { method: 'lora', targets: ['attn.c_attn'], adapter: { method: 'lora', R0: 8, alpha: 16, dropout: 0, seed: 1 } }
      : { method: 'dora', targets: ['attn.c_attn'], budget: 8, pruneInterval: 10, adapter: { method: 'dora', R0: 12, alpha: 8, dropout: 0.1, seed: 1 } };
  if (method.method === 'full') {
    // Full fine-tuning trains everything, embeddings included, as the peers do.
    model.net.enableAllGradients();
  }
  const trainer = new Trainer(be, taskFor(be, model), method, { ...DEFAULT_OPTIM, lr: 1e-3, totalSteps: 1000, dem: null });
  if (trainer.adapters && liveFraction < 1) {
    const R0 = trainer.adapters.opts.R0, keep = Math.max(1, Math.round(R0 * liveFraction));
    trainer.adapters.compact(Float32Array.from({ length: trainer.adapters.modules.length * R0 }, (_, i) => (i % R0 < keep ? 1 : 0)));
  }
  const r = new Rng(3), ids = Int32Array.from({ length: B * T }, () => r.int(V));
  const batch: HostBatch = { kind: 'lm', B, T, ids, targets: Int32Array.from(ids, (_, i) => (i % T === T - 1 ? -100 : ids[i + 1])) };
  trainer.trainStep(batch);
  await trainer.lastLoss(); // warm-up: pipelines, bind groups, buffers
  const times: number[] = [];
  let perStep: StepResult['perStep'] | null = null;
  for (let s = 0; s < steps; s++) {
    const c0 = { ...be.ctx.counters }, t0 = performance.now();
    trainer.trainStep(batch);
    const d = diffCounters(be.ctx.counters, c0);
    await trainer.lastLoss();
    times.push(performance.now() - t0);
    perStep ??= { submissions: d.submissions, dispatches: d.dispatches, bufferCreations: d.bufferCreations, readbacks: d.readbacks, pipelineCreations: d.pipelineCreations, bytesAllocated: d.bytesAllocated };
  }
  const ms = median(times);
  const est = estimateMemory(model, { batch: B, seq: T, method: method.method, budget: 8, rank: 8, r0: 12 });
  return {
    variant: liveFraction < 1 ? `${variant}, ${Math.round(liveFraction * 100)}% live` : variant,
    msPerStep: ms, tokensPerSecond: (B * T) / (ms / 1000), perStep: perStep!, trainable: trainer.trainableParameters,
    adapterFlops: trainer.adapters ? trainer.adapters.flopsPerStep(B * T) : null, bytesLive: be.ctx.counters.bytesLive - live0, estimateBytes: est.total,
  };
}
