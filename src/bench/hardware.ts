// Real-GPU benchmark (Node + Dawn over the system's Vulkan driver), npm run bench:gpu. By default the issue-14 run
// (./gpuBench.ts, under 8 minutes): model FLOPs, tokens/s and % of the float32 peak of LoRA steps, f16 against f32
// frozen weights, the shader-f16 matmul (checked first), per-kernel profiles, matmul at the model widths, and dynamic
// rank under the memory plan. `--legacy`: the earlier sweep below (matmul at the peers' widths with both tilings,
// training steps of the peers' tiny GPT-2, GPT-2 small, BERT-base, SmolLM2 and Qwen2.5 shapes). Synthetic weights, no
// network. What it reports transfers to the page on the same GPU: the same WGSL, the same submissions.
// Run: DYNRANK_VULKAN=system node --import tsx --import ./bin/register-raw.mjs src/bench/hardware.ts [--smoke]
//   [--legacy] [outDir]. `--smoke` (or BENCH_SMOKE=1) runs every section at tiny shapes: the script checked on a CPU
// driver (SwiftShader) in seconds. BENCH_DEVICE_NAME names the device (file name, peak table); BENCH_PEAK_TFLOPS
// overrides the float32 peak.

import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GpuBackend } from '../gpu/backend';
import { diffCounters } from '../gpu/counters';
import { type MatmulTiling, setMatmulTiling } from '../gpu/kernels/matmulRules';
import { createNodeContext } from '../gpu/node';
import type { KernelTime } from '../gpu/profiler';
import { parseModelConfig } from '../models/arch/index';
import { type HostBatch, taskFor } from '../train/task';
import { DEFAULT_OPTIM, Trainer, type TrainMethod } from '../train/trainer';
import { benchStep } from './engine';
import { runGpuBench } from './gpuBench';
import { renderGpuBench } from './gpuBenchReport';
import {
  checkSample,
  dynrank,
  fill,
  GPT2_TARGETS,
  LLAMA_TARGETS,
  lora,
  rowEstimate,
  syntheticModel,
  timeOps,
} from './hardwareKit';
import { median } from './matmul';

const log = (s: string) => process.stderr.write(`${s}\n`);

interface MatmulRow {
  shape: string;
  msPerOp: number;
  gflops: number;
  opsPerTiming: number;
}

/** Matmuls issued back to back in one submission, each timing >= minMs (the peers' method). Completion is awaited with
 * onSubmittedWorkDone, not a readback: reading a 200 MB LM-head output back would be timed as matmul work. */
async function matmuls(
  be: GpuBackend,
  shapes: [number, number, number, string?][],
  minMs: number,
): Promise<MatmulRow[]> {
  const rows: MatmulRow[] = [];
  for (const [M, K, N, trans = ''] of shapes)
    for (const tile of [32, 64] as const) {
      setMatmulTiling(tile);
      const transA = trans.includes('A'),
        transB = trans.includes('B');
      const ha = fill(M * K, 3, 1),
        hb = fill(K * N, 4, 1);
      const a = be.fromArray(ha, transA ? [K, M] : [M, K]),
        b = be.fromArray(hb, transB ? [N, K] : [K, N]),
        c = be.zeros([M, N]);
      const p = { M, K, N, transA, transB };
      const { msPerOp: ms, n } = await timeOps(
        be,
        (n) => {
          for (let i = 0; i < n; i++) be.matmul(c, a, b, null, p);
        },
        { minMs, warmup: 2, afterWarmup: () => checkSample(be, c, ha, hb, { M, K, N, transA, transB }) },
      );
      const shape = `${M}x${K}x${N}${trans ? ` (${trans === 'A' ? 'Aᵀ' : 'Bᵀ'})` : ''}, tile ${tile}`;
      rows.push({ shape, msPerOp: ms, gflops: (2 * M * K * N) / (ms * 1e6), opsPerTiming: n });
      log(
        `matmul ${shape}: ${ms.toFixed(3)} ms, ${((2 * M * K * N) / (ms * 1e6)).toFixed(1)} GFLOP/s (${n} per timing)`,
      );
      for (const t of [a, b, c]) be.dispose(t);
    }
  setMatmulTiling('auto');
  return rows;
}

interface StepRow {
  model: string;
  variant: string;
  tiling: string;
  B: number;
  T: number;
  trainable: number;
  msSynced: number;
  msPipelined: number;
  tokensPerSecond: number;
  submissions: number;
  dispatches: number;
  bufferCreations: number;
  readbacks: number;
  gpuMiB: number;
  estimateMiB: number;
  /** GPU time per kernel in one profiled step (timestamp queries), slowest first; null when not profiled. */
  profile: KernelTime[] | null;
}

async function step(
  be: GpuBackend,
  name: string,
  raw: Record<string, unknown>,
  variant: string,
  method: TrainMethod,
  B: number,
  T: number,
  tiling: MatmulTiling,
): Promise<StepRow> {
  setMatmulTiling(tiling);
  const live0 = be.ctx.counters.bytesLive;
  const cfg = parseModelConfig(raw, { numLabels: 2 });
  const V = cfg.arch.vocabSize;
  const model = syntheticModel(be, cfg, name);
  if (method.method === 'full' && model.task === 'causal-lm') model.net.enableAllGradients();
  const trainer = new Trainer(be, taskFor(be, model), method, {
    ...DEFAULT_OPTIM,
    lr: 1e-4,
    totalSteps: 1000,
    dem: null,
  });
  let s = 5;
  const ids = Int32Array.from({ length: B * T }, () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) % V);
  const batch: HostBatch =
    cfg.task === 'causal-lm'
      ? { kind: 'lm', B, T, ids, targets: Int32Array.from(ids, (_, i) => (i % T === T - 1 ? -100 : ids[i + 1])) }
      : {
          kind: 'cls',
          labels: Int32Array.from({ length: B }, (_, i) => i % 2),
          enc: {
            B,
            T,
            ids,
            typeIds: new Int32Array(B * T),
            posIds: Int32Array.from({ length: B * T }, (_, i) => i % T),
            mask: new Int32Array(B * T).fill(1),
            clsRows: Int32Array.from({ length: B }, (_, i) => i * T),
          },
        };
  for (let i = 0; i < 3; i++) {
    trainer.trainStep(batch);
    await trainer.lastLoss();
  }
  const synced: number[] = [];
  let d = diffCounters(be.ctx.counters, be.ctx.counters);
  for (let i = 0; i < 10; i++) {
    const c0 = { ...be.ctx.counters },
      t0 = performance.now();
    trainer.trainStep(batch);
    if (i === 0) d = diffCounters(be.ctx.counters, c0);
    await trainer.lastLoss();
    synced.push(performance.now() - t0);
  }
  // As the trainer runs in the page: steps back to back, the loss read back once at the end.
  const P = 20,
    t0 = performance.now();
  for (let i = 0; i < P; i++) trainer.trainStep(batch);
  const loss = await trainer.lastLoss();
  const pipelined = (performance.now() - t0) / P;
  let profile: KernelTime[] | null = null;
  if (tiling === 'auto' && be.ctx.device.features.has('timestamp-query')) {
    be.ctx.startProfile();
    trainer.trainStep(batch);
    profile = await be.ctx.stopProfile();
  }
  if (!Number.isFinite(loss)) throw new Error(`${name} ${variant}: loss ${loss}`);
  const est = rowEstimate(model, { B, T, method });
  const row: StepRow = {
    model: name,
    variant,
    tiling: String(tiling),
    B,
    T,
    trainable: trainer.trainableParameters,
    msSynced: median(synced),
    msPipelined: pipelined,
    tokensPerSecond: (B * T) / (pipelined / 1000),
    submissions: d.submissions,
    dispatches: d.dispatches,
    bufferCreations: d.bufferCreations,
    readbacks: d.readbacks,
    profile,
    gpuMiB: (be.ctx.counters.bytesLive - live0) / 2 ** 20,
    estimateMiB: est.total / 2 ** 20,
  };
  log(
    `step ${name} ${variant} tiles ${tiling} B=${B} T=${T}: ${row.msSynced.toFixed(2)} ms synced, ${pipelined.toFixed(2)} ms pipelined, ${row.tokensPerSecond.toFixed(0)} tok/s, ${d.dispatches} dispatches, loss ${loss.toFixed(3)}`,
  );
  // Models are not freed between rows (the engine has no model dispose yet); live bytes are counted per row.
  return row;
}

// BENCH_SMOKE=1 shrinks everything so the script itself can be checked on a CPU driver before a GPU run.
const args = process.argv.slice(2);
const SMOKE = process.env.BENCH_SMOKE === '1' || args.includes('--smoke');
const GPT2_SMALL = SMOKE
  ? { model_type: 'gpt2', vocab_size: 500, n_positions: 64, n_embd: 32, n_layer: 1, n_head: 2 }
  : { model_type: 'gpt2', vocab_size: 50257, n_positions: 1024, n_embd: 768, n_layer: 12, n_head: 12 };
const BERT_BASE = SMOKE
  ? {
      model_type: 'bert',
      vocab_size: 500,
      hidden_size: 32,
      num_hidden_layers: 1,
      num_attention_heads: 2,
      intermediate_size: 64,
      max_position_embeddings: 64,
    }
  : {
      model_type: 'bert',
      vocab_size: 30522,
      hidden_size: 768,
      num_hidden_layers: 12,
      num_attention_heads: 12,
      intermediate_size: 3072,
    };
const BERT_TARGETS = [
  'attention.self.query',
  'attention.self.key',
  'attention.self.value',
  'attention.output.dense',
  'intermediate.dense',
  'output.dense',
];
// SmolLM2-135M and Qwen2.5-0.5B as their config.json files give them (synthetic weights).
const SMOLLM2_135M = SMOKE
  ? {
      model_type: 'llama',
      architectures: ['LlamaForCausalLM'],
      vocab_size: 500,
      hidden_size: 48,
      intermediate_size: 96,
      num_hidden_layers: 1,
      num_attention_heads: 3,
      num_key_value_heads: 1,
      max_position_embeddings: 64,
      tie_word_embeddings: true,
    }
  : {
      model_type: 'llama',
      architectures: ['LlamaForCausalLM'],
      vocab_size: 49152,
      hidden_size: 576,
      intermediate_size: 1536,
      num_hidden_layers: 30,
      num_attention_heads: 9,
      num_key_value_heads: 3,
      max_position_embeddings: 8192,
      rope_theta: 100000,
      rms_norm_eps: 1e-5,
      tie_word_embeddings: true,
    };
const QWEN25_05B = SMOKE
  ? {
      model_type: 'qwen2',
      architectures: ['Qwen2ForCausalLM'],
      vocab_size: 500,
      hidden_size: 32,
      intermediate_size: 64,
      num_hidden_layers: 1,
      num_attention_heads: 2,
      num_key_value_heads: 1,
      max_position_embeddings: 64,
      tie_word_embeddings: true,
    }
  : {
      model_type: 'qwen2',
      architectures: ['Qwen2ForCausalLM'],
      vocab_size: 151936,
      hidden_size: 896,
      intermediate_size: 4864,
      num_hidden_layers: 24,
      num_attention_heads: 14,
      num_key_value_heads: 2,
      max_position_embeddings: 32768,
      rope_theta: 1000000,
      rms_norm_eps: 1e-6,
      tie_word_embeddings: true,
    };
function table(rows: (string | number)[][]): string {
  return [rows[0], rows[0].map(() => '---'), ...rows.slice(1)].map((r) => `| ${r.join(' | ')} |`).join('\n');
}

const outDir = args.find((a) => !a.startsWith('--')) ?? 'bench/results';

async function legacyMain(): Promise<void> {
  const out = outDir;
  const ctx = await createNodeContext({ label: 'dynrank-hw-bench' });
  const be = new GpuBackend(ctx);
  log(`adapter: ${JSON.stringify(ctx.info)} binding limit ${ctx.bindingLimit}`);
  const only = process.env.BENCH_ONLY ?? '';
  const mm =
    only && !only.includes('mm')
      ? []
      : await matmuls(
          be,
          SMOKE
            ? [[64, 32, 48]]
            : [
                [512, 64, 192],
                [512, 64, 256],
                [512, 256, 64],
                [512, 64, 1024],
                [512, 512, 512],
                [1024, 768, 768],
                [1024, 768, 2304],
                [1024, 768, 3072],
                [1024, 3072, 768],
                // GPT-2's tied LM head at B*T = 1024: logits = x·wteᵀ, dx = dlogits·wte, dwte = dlogitsᵀ·x.
                [1024, 768, 50257, 'B'],
                [1024, 50257, 768],
                [50257, 1024, 768, 'A'],
                [2048, 2048, 2048],
                [4096, 4096, 4096],
              ],
          Number(process.env.MIN_MS ?? 200),
        );
  const tiny = [];
  if (!only || only.includes('tiny')) {
    for (const v of ['full', 'lora r=8 (c_attn)', 'dynamic rank b=8 (c_attn)'] as const)
      tiny.push(await benchStep(be, v, 1, 10));
    for (const f of [0.5, 0.25]) tiny.push(await benchStep(be, 'dynamic rank b=8 (c_attn)', f, 10));
    for (const s of tiny) log(`tiny ${s.variant}: ${s.msPerStep.toFixed(2)} ms`);
  }
  const big: StepRow[] = [];
  const PEER_GPT = { model_type: 'gpt2', vocab_size: 1024, n_positions: 64, n_embd: 64, n_layer: 2, n_head: 2 };
  const peerRows: [string, Record<string, unknown>, string, TrainMethod, number, number][] = [
    ["peers' tiny gpt2", PEER_GPT, 'lora r=8 (c_attn)', lora(['attn.c_attn']), 8, 64],
    ["peers' tiny gpt2", PEER_GPT, 'full (4 linear types)', { method: 'full', targets: GPT2_TARGETS }, 8, 64],
  ];
  if (only.includes('peer')) {
    for (const [name, raw, v, m, B, T] of peerRows) big.push(await step(be, name, raw, v, m, B, T, 'auto'));
  }
  const plan: [string, Record<string, unknown>, string, TrainMethod, number, number][] = [
    ['gpt2-small', GPT2_SMALL, 'lora r=8 (c_attn)', lora(['attn.c_attn']), 8, 128],
    ['gpt2-small', GPT2_SMALL, 'dynamic rank b=8 R0=12 (all 4)', dynrank(GPT2_TARGETS), 8, 128],
    ['gpt2-small', GPT2_SMALL, 'full (4 linear types)', { method: 'full', targets: GPT2_TARGETS }, 8, 128],
    ['gpt2-small', GPT2_SMALL, 'dynamic rank b=8 R0=12 (all 4)', dynrank(GPT2_TARGETS), 4, 512],
    ['bert-base', BERT_BASE, 'lora r=8 (all 6)', lora(BERT_TARGETS), 32, 128],
    ['bert-base', BERT_BASE, 'dynamic rank b=8 R0=12 (all 6)', dynrank(BERT_TARGETS), 32, 128],
    ['smollm2-135m', SMOLLM2_135M, 'lora r=8 (all 7)', lora(LLAMA_TARGETS), 8, 256],
    ['smollm2-135m', SMOLLM2_135M, 'dynamic rank b=8 R0=12 (all 7)', dynrank(LLAMA_TARGETS), 8, 256],
    ['qwen2.5-0.5b', QWEN25_05B, 'lora r=8 (all 7)', lora(LLAMA_TARGETS), 4, 256],
    ['qwen2.5-0.5b', QWEN25_05B, 'dynamic rank b=8 R0=12 (all 7)', dynrank(LLAMA_TARGETS), 4, 256],
  ].map(
    ([n, r, v, m, B, T]) =>
      [n, r, v, m, SMOKE ? 2 : B, SMOKE ? 16 : T] as [
        string,
        Record<string, unknown>,
        string,
        TrainMethod,
        number,
        number,
      ],
  );
  if (!only || only.includes('big')) {
    for (const [name, raw, v, m, B, T] of plan) {
      for (const tiling of (process.env.BENCH_TILINGS ?? 'auto,32')
        .split(',')
        .map((t): MatmulTiling => (t === 'auto' || t === 'flat' ? t : (Number(t) as 32 | 64))))
        try {
          big.push(await step(be, name, raw, v, m, B, T, tiling));
        } catch (e) {
          log(`step ${name} ${v} failed: ${(e as Error).stack}`);
        }
    }
  }
  const result = {
    date: new Date().toISOString(),
    adapter: ctx.info,
    runtime: `node ${process.version} + dawn (npm webgpu)`,
    matmul: mm,
    tiny,
    big,
  };
  const md = [
    `### dynrank engine on ${process.env.BENCH_DEVICE_NAME ?? ctx.info.vendor} (${ctx.info.description}), Node + Dawn over Vulkan`,
    '',
    table([
      ['matmul M×K×N (one submission of n ops)', 'ms/op', 'GFLOP/s', 'n'],
      ...mm.map((r) => [r.shape, r.msPerOp.toFixed(3), r.gflops.toFixed(1), r.opsPerTiming]),
    ]),
    '',
    table([
      [
        "peers' tiny GPT-2 step (B=8, T=64)",
        'ms/step (loss read back each step)',
        'tokens/s',
        'submissions',
        'dispatches',
        'buffer creations',
        'readbacks',
        'adapter MFLOP',
      ],
      ...tiny.map((s) => [
        s.variant,
        s.msPerStep.toFixed(2),
        s.tokensPerSecond.toFixed(0),
        s.perStep.submissions,
        s.perStep.dispatches,
        s.perStep.bufferCreations,
        s.perStep.readbacks,
        s.adapterFlops === null ? '-' : (s.adapterFlops / 1e6).toFixed(1),
      ]),
    ]),
    '',
    table([
      [
        'model',
        'method',
        'matmul tiles',
        'B×T',
        'trainable',
        'ms/step synced',
        'ms/step pipelined',
        'tokens/s',
        'submissions',
        'dispatches',
        'buffer creations',
        'readbacks',
        'GPU MiB (live / estimate = ratio)',
      ],
      ...big.map((r) => [
        r.model,
        r.variant,
        r.tiling,
        `${r.B}×${r.T}`,
        r.trainable.toLocaleString('en'),
        r.msSynced.toFixed(1),
        r.msPipelined.toFixed(1),
        r.tokensPerSecond.toFixed(0),
        r.submissions,
        r.dispatches,
        r.bufferCreations,
        r.readbacks,
        `${r.gpuMiB.toFixed(0)} / ${r.estimateMiB.toFixed(0)} = ${(r.gpuMiB / r.estimateMiB).toFixed(2)}`,
      ]),
    ]),
    '',
    ...big
      .filter((r) => r.profile)
      .flatMap((r) => {
        const total = r.profile!.reduce((a, k) => a + k.ms, 0);
        return [
          `GPU time by kernel, one ${r.model} ${r.variant} step (B×T ${r.B}×${r.T}): ${total.toFixed(1)} ms in ${r.profile!.reduce((a, k) => a + k.count, 0)} dispatches`,
          '',
          table([
            ['kernel', 'dispatches', 'ms', 'share'],
            ...r
              .profile!.slice(0, 10)
              .map((k) => [k.kernel, k.count, k.ms.toFixed(2), `${((100 * k.ms) / total).toFixed(1)}%`]),
          ]),
          '',
        ];
      }),
  ].join('\n');
  await mkdir(out, { recursive: true });
  const name = process.env.BENCH_DEVICE_NAME || `${ctx.info.vendor}-${ctx.info.architecture || 'gpu'}`;
  const stem = join(out, `${result.date.slice(0, 10)}-${name.replace(/[^\w.-]+/g, '_')}`);
  await writeFile(`${stem}.json`, JSON.stringify(result, null, 2));
  await writeFile(`${stem}.md`, `${md}\n`);
  console.log(md);
  ctx.destroy();
}

/** The issue-14 run: the report as markdown and JSON in outDir, the markdown on stdout; exit 1 on any problem. */
async function main(): Promise<void> {
  const report = await runGpuBench({ smoke: SMOKE, deviceName: process.env.BENCH_DEVICE_NAME });
  const md = renderGpuBench(report);
  await mkdir(outDir, { recursive: true });
  const stem = join(
    outDir,
    `${report.date.slice(0, 10)}-${report.deviceName.replace(/[^\w.-]+/g, '_')}-issue14${SMOKE ? '-smoke' : ''}`,
  );
  await writeFile(`${stem}.json`, JSON.stringify(report, null, 2));
  await writeFile(`${stem}.md`, `${md}\n`);
  console.log(md);
  process.stderr.write(`wrote ${stem}.md and .json; wall time ${report.wallSeconds.toFixed(1)} s\n`);
  if (report.problems.length) process.exitCode = 1;
}

await (args.includes('--legacy') ? legacyMain() : main());
