// The report's training-step sections: the tiny GPT-2 step against the peers (with its targets), the GPU work, live
// fraction and memory of each of our steps, and the SmolLM2-shaped Llama step.

import { describeOptions } from '../train/plan';
import type { StepResult } from './engine';
import type { LlamaStepResult } from './llama';
import type { MemoryPlanRow } from './memoryPlans';
import type { PairedStepResult } from './pairedStep';
import { type BenchRun, num, type PeerStep, TOKENS_PER_STEP, table, type Verdict, verdict } from './reportRun';

const STEP_NAMES: Record<string, string> = {
  'tfjs-webgpu': 'tfjs webgpu',
  'jax-webgpu': 'jax-js webgpu (jit)',
  'tfjs-webgl': 'tfjs webgl (context)',
  'jax-wasm': 'jax-js wasm (jit, context)',
};

const stepMs = (s: PeerStep | undefined) => s?.stepMs?.median;
const stepCell = (ms: number | undefined) =>
  ms == null ? '–' : `**${num(ms, 1)}** (${num(TOKENS_PER_STEP / (ms / 1000), 0)} tok/s)`;

/** Full: ours < jax-js webgpu full. LoRA: ours ≤ 0.5 × jax-js webgpu LoRA. */
export function stepTargets(
  ours: { full?: number; lora?: number },
  jax: { full?: number; lora?: number },
): { full: Verdict; lora: Verdict } {
  return {
    full: verdict(ours.full == null || jax.full == null ? null : ours.full < jax.full),
    lora: verdict(ours.lora == null || jax.lora == null ? null : ours.lora <= 0.5 * jax.lora),
  };
}

/** In turns, on the median over rounds of jax-js ms / our ms: full above 1 (ours faster), LoRA at least 2. */
export function pairedStepTargets(
  full: number | null | undefined,
  lora: number | null | undefined,
): { full: Verdict; lora: Verdict } {
  return { full: verdict(full == null ? null : full > 1), lora: verdict(lora == null ? null : lora >= 2) };
}

const pairedPeerMs = (p: PairedStepResult | undefined) => (p && !('error' in p.peer) ? p.peer.msPerStep : undefined);

/** One line per variant timed in turns: each round's ms of both contenders and their ratio, then the median. */
export function pairedStepRounds(p: PairedStepResult): string {
  const name = p.variant === 'full' ? 'full' : 'LoRA';
  const ms = (xs: number[]) => xs.map((x) => num(x, 1)).join(', ');
  const ours = `ours ${ms(p.ours.rounds)} ms`;
  if ('error' in p.peer)
    return `- in turns, ${name}: ${ours}; jax-js error ${p.peer.error.split('\n')[0].slice(0, 200)}`;
  const loss = (l: [number, number]) => `${l[0].toFixed(4)} → ${l[1].toFixed(4)}`;
  return (
    `- in turns, ${name} (${p.steps} steps per timing after ${p.warmup} warm-up, ${p.rounds} rounds, ` +
    `ours first in odd rounds): ${ours}; jax-js ${ms(p.peer.rounds)} ms; ` +
    `jax-js / ours ${p.ratios.map((r) => r.toFixed(2)).join(', ')} (median ${num(p.medianRatio, 2)}); ` +
    `first step ours ${num(p.ours.firstStepMs, 0)} ms, jax-js ${num(p.peer.firstStepMs, 0)} ms; ` +
    `loss ours ${loss(p.ours.losses)}, jax-js ${loss(p.peer.losses)}`
  );
}

export function stepSection(run: BenchRun): string {
  const find = (v: string) => run.engine.steps.find((s) => s.variant === v);
  const paired = (v: string) => run.engine.pairedSteps?.find((p) => p.variant === v);
  const pf = paired('full'),
    pl = paired('lora r=8 (c_attn)'),
    inTurns = Boolean(pf || pl);
  const ours = {
    full: pf?.ours.msPerStep ?? find('full')?.msPerStep,
    lora: pl?.ours.msPerStep ?? find('lora r=8 (c_attn)')?.msPerStep,
  };
  const peerNames = Object.keys(STEP_NAMES).filter((n) => run.peers.gpt[n] || (inTurns && n === 'jax-webgpu'));
  const jaxGpt = run.peers.gpt['jax-webgpu'];
  const jax = {
    full: pf ? pairedPeerMs(pf) : stepMs(jaxGpt?.full),
    lora: pl ? pairedPeerMs(pl) : stepMs(jaxGpt?.lora),
  };
  const peerMs = (n: string, v: 'full' | 'lora') =>
    n === 'jax-webgpu' && inTurns ? jax[v] : stepMs(run.peers.gpt[n]?.[v]);
  const t = inTurns ? pairedStepTargets(pf?.medianRatio, pl?.medianRatio) : stepTargets(ours, jax);
  const label = (n: string) =>
    n === 'jax-webgpu' && inTurns ? 'jax-js webgpu (jit, same page, in turns)' : STEP_NAMES[n];
  const head = ['step (tiny GPT-2, B=8, T=64)', 'ours (page)', ...peerNames.map(label), 'target', 'verdict'];
  const rows = inTurns
    ? [
        [
          'full fine-tuning',
          stepCell(ours.full),
          ...peerNames.map((n) => stepCell(peerMs(n, 'full'))),
          `median over rounds of jax-js / ours > 1 (${num(pf?.medianRatio, 2)})`,
          t.full,
        ],
        [
          'LoRA r=8 on c_attn',
          stepCell(ours.lora),
          ...peerNames.map((n) => stepCell(peerMs(n, 'lora'))),
          `median over rounds of jax-js / ours ≥ 2 (${num(pl?.medianRatio, 2)})`,
          t.lora,
        ],
      ]
    : [
        [
          'full fine-tuning',
          stepCell(ours.full),
          ...peerNames.map((n) => stepCell(stepMs(run.peers.gpt[n]?.full))),
          `< jax-js webgpu full (${num(jax.full, 1)} ms)`,
          t.full,
        ],
        [
          'LoRA r=8 on c_attn',
          stepCell(ours.lora),
          ...peerNames.map((n) => stepCell(stepMs(run.peers.gpt[n]?.lora))),
          `≤ 0.5 × jax-js webgpu LoRA (${num(jax.lora == null ? undefined : jax.lora / 2, 1)} ms)`,
          t.lora,
        ],
      ];
  const detail = (name: string, v: string, s: PeerStep | undefined) =>
    s?.error
      ? `- ${name} ${v}: error ${s.error.slice(0, 200)}`
      : s?.stepMs
        ? `- ${name} ${v}: ${s.stepMs.n} timed steps ${num(s.stepMs.min, 1)}..${num(s.stepMs.max, 1)} ms, first step ${num(s.firstStepMs, 0)} ms, loss ${s.losses?.[0]?.toFixed(4)} → ${s.losses?.at(-1)?.toFixed(4)}`
        : null;
  const details = [
    ...[pf, pl].filter((p): p is PairedStepResult => Boolean(p)).map(pairedStepRounds),
    ...run.engine.steps
      .filter((s) => (s.liveFraction ?? 1) === 1 && !s.variant.startsWith('dyn'))
      .map((s) =>
        detail('ours', s.variant, {
          stepMs: { median: s.msPerStep, min: s.msMin ?? NaN, max: s.msMax ?? NaN, n: s.steps ?? 0 },
          firstStepMs: s.firstStepMs,
          losses: s.losses,
        }),
      ),
    ...peerNames
      .filter((n) => run.peers.gpt[n])
      .flatMap((n) => [
        detail(STEP_NAMES[n], 'full', run.peers.gpt[n].full),
        detail(STEP_NAMES[n], 'LoRA', run.peers.gpt[n].lora),
      ]),
  ].filter(Boolean);
  return [
    '### Training step, ms (tokens/s), same page, same adapter',
    '',
    table([head, ...rows]),
    '',
    'Wall time from the call until the loss is read back (jax-js: and the new parameters are ready). ' +
      (inTurns
        ? 'Ours and jax-js (jit, one-hot embedding, as bench/peers/www/gpt_jax.js) run in one page and take ' +
          'turns: each round times a run of steps of one, then of the other, the order swapped every round, and the ' +
          "verdict reads the median of the per-round ratios, so a drift of the machine's speed moves both sides alike. " +
          'Other peers: their own pages, 3 warm-up + 10 timed steps, median. '
        : '3 warm-up + 10 timed steps, median. ') +
      'Same model shape for all (n_embd 64, 2 layers, 2 heads, vocab 1024, context 64, batch 8); the peers ' +
      'share one init (first loss 6.94785), ours uses its own seeded init and AdamW with clipping.',
    ...(run.engine.stepError ? [`- ours: error ${run.engine.stepError.slice(0, 300)}`] : []),
    ...details,
  ].join('\n');
}

/** Per-step GPU work: one submission, no buffer creation, no readback inside the step. */
export function countersVerdict(p: StepResult['perStep']): Verdict {
  return verdict(p.submissions === 1 && p.bufferCreations === 0 && p.readbacks === 0);
}

/** Adapter FLOPs at a live fraction against all components live: proportional within 2%. */
export function flopsVerdict(flops: number | null, allLive: number | null, fraction: number): Verdict {
  if (flops == null || !allLive) return 'n/a';
  return verdict(Math.abs(flops / allLive - fraction) <= 0.02 * fraction);
}

export function engineSections(steps: StepResult[], where: string): string {
  if (!steps.length) return '';
  const mib = (b: number) => (b / 2 ** 20).toFixed(1);
  const counters = table([
    ['step', 'submissions', 'dispatches', 'buffer creations', 'readbacks', 'pipeline creations', 'target: 1 / 0 / 0'],
    ...steps.map((s) => [
      s.variant,
      ...[
        s.perStep.submissions,
        s.perStep.dispatches,
        s.perStep.bufferCreations,
        s.perStep.readbacks,
        s.perStep.pipelineCreations,
      ].map(String),
      countersVerdict(s.perStep),
    ]),
  ]);
  const dyn = steps.filter((s) => s.variant.startsWith('dyn'));
  const all = dyn.find((s) => (s.liveFraction ?? 1) === 1)?.adapterFlops ?? null;
  const live = table([
    [
      'dynamic rank b=8 (R0=12) on c_attn',
      'ms/step',
      'tokens/s',
      'adapter MFLOP/step',
      'FLOPs vs all live',
      'target: FLOPs ∝ live',
    ],
    ...dyn.map((s) => {
      const f = s.liveFraction ?? 1;
      return [
        `${Math.round(f * 100)}% live`,
        num(s.msPerStep, 0),
        num(s.tokensPerSecond, 0),
        s.adapterFlops == null ? '–' : (s.adapterFlops / 1e6).toFixed(1),
        all && s.adapterFlops != null ? (s.adapterFlops / all).toFixed(3) : '–',
        flopsVerdict(s.adapterFlops, all, f),
      ];
    }),
  ]);
  const memory = table([
    ['step', 'trainable params', 'GPU MiB live', 'estimate MiB', 'live / estimate'],
    ...steps.map((s) => [
      s.variant,
      String(s.trainable),
      mib(s.bytesLive),
      mib(s.estimateBytes),
      (s.bytesLive / s.estimateBytes).toFixed(2),
    ]),
  ]);
  return [
    `#### GPU work per step (${where})`,
    '',
    counters,
    '',
    ...(dyn.length ? [`#### Live fraction (${where})`, '', live, ''] : []),
    `#### Memory against the analytical estimate (${where})`,
    '',
    memory,
  ].join('\n');
}

/** A measured-over-estimated ratio and whether it is within the 10% the memory plan aims for. */
const ratioCell = (r: number): string => `${r.toFixed(3)} ${Math.abs(r - 1) <= 0.1 ? 'met' : 'missed'}`;

/** The SmolLM2-135M-shaped step (src/bench/llama.ts): time, GPU work per step and footprint. */
export function llamaSection(steps: LlamaStepResult[], error?: string): string {
  if (!steps.length && !error) return '';
  const mib = (b: number) => (b / 2 ** 20).toFixed(0);
  const rows = steps.map((s) => [
    s.variant,
    num(s.msPerStep, 0),
    num(s.tokensPerSecond, 1),
    String(s.perStep.submissions),
    String(s.perStep.dispatches),
    String(s.perStep.bufferCreations),
    mib(s.peakBytes),
    s.estimateBytes ? mib(s.estimateBytes) : '–',
    s.estimateBytes ? ratioCell(s.peakBytes / s.estimateBytes) : '–',
    String(s.trainable),
    `${s.plan.steps} (+${s.plan.warmup} warm-up; first ${num(s.firstStepMs, 0)} ms)`,
  ]);
  return [
    '### Llama step, SmolLM2-135M shape, synthetic weights (page)',
    '',
    ...(rows.length
      ? [
          table([
            [
              'step',
              'ms/step',
              'tokens/s',
              'submissions',
              'dispatches',
              'buffer creations',
              'peak GPU MiB',
              'plan estimate MiB',
              'peak / estimate (target 0.9–1.1)',
              'trainable params',
              'timed steps',
            ],
            ...rows,
          ]),
          '',
        ]
      : []),
    'Hidden 576, 9 heads, 3 kv heads, intermediate 1536, vocab 49152, tied embeddings; adapters on q, k, v, o, gate, ' +
      'up and down projections of every layer (LoRA r=8 alpha 16; dynamic rank b=8, R0=12). The step is built from the ' +
      'network, the adapters and AdamW with clipping as the trainer builds it. Peak GPU MiB: live buffers plus the ' +
      "engine's pool, the counters' high-water mark. Plan estimate: src/train/memory.ts for the step's shapes and " +
      'settings (f32 weights, no recompute, the whole batch). Counters: the most seen in any timed step.',
    ...(error ? [`- error: ${error.slice(0, 300)}`] : []),
  ].join('\n');
}

/** The memory plan of the shapes the bench aims at (src/bench/memoryPlans.ts): options chosen and the estimate. */
export function memoryPlanSection(rows: MemoryPlanRow[]): string {
  if (!rows.length) return '';
  const mib = (b: number) => (b / 2 ** 20).toFixed(0);
  const opts = (r: MemoryPlanRow) => (r.options ? describeOptions(r.options) : 'nothing fits');
  return [
    '### Memory plans, shapes only (no weights, nothing allocated)',
    '',
    table([
      [
        'model',
        'B x T',
        'budget GiB',
        'plan',
        'weights MiB',
        'activations MiB',
        'adapters + AdamW MiB',
        'total MiB',
        'fits',
      ],
      ...rows.map((r) => [
        r.model,
        `${r.B} x ${r.T}`,
        String(r.budgetGiB),
        opts(r),
        mib(r.weights),
        mib(r.activations),
        mib(r.adapterAndOptimizer),
        mib(r.total),
        verdict(r.options !== null),
      ]),
    ]),
    '',
    'Dynamic rank b=8 (R0 = 12, adapter dropout 0.1) on all seven module types; the plan (src/train/plan.ts) tries ' +
      'f32 weights, then f16 frozen weights, then selective recomputation, then whole blocks, then ' +
      'smaller micro-batches, and keeps the first whose ' +
      'estimate fits the budget.',
    ...rows.filter((r) => r.error).map((r) => `- ${r.model}: ${r.error}`),
  ].join('\n');
}
