// Turns one `npm run bench` run (scripts/bench.mjs) into the markdown report: one table per section, each with its
// target column (met / missed / n/a). Pure functions, so the targets' logic is unit-tested (report.test.ts).

import type { StepResult } from './engine';
import type { LlamaStepResult } from './llama';
import { type MatmulResult, median } from './matmul';
import type { PairedStepResult } from './pairedStep';
import { GPT2_SMALL_SHAPES, PEER_SHAPES, shapeKey } from './plan';
import type { ResponsiveSection } from './responsive';

export interface AdapterInfo {
  vendor: string;
  architecture: string;
  description?: string;
  isFallback?: boolean;
}
/** One shape of the peers' runMM reply (bench/peers/www/mm_bench.js). */
export interface PeerMatmul {
  shape: string;
  ms?: number;
  gflops?: number;
  error?: string;
  err?: { maxAbs: number };
  rounds?: number[];
}
/** `paired`: timed in our engine's page, alternating with ours (src/bench/matmul.ts pairedMatmul). */
export interface PeerMatmulRun {
  results?: PeerMatmul[];
  error?: string;
  paired?: boolean;
  version?: string;
}
/** The peers' runGpt reply (gpt_tf.js / gpt_jax.js). */
export interface PeerStep {
  stepMs?: { median: number; min: number; max: number; n: number };
  firstStepMs?: number;
  losses?: number[];
  error?: string;
}
/** `jaxMatmul`: jax-js in the same Node process, in turns with ours (absent in runs before it was added). */
export interface NodeSection {
  runtime?: string;
  adapter?: AdapterInfo;
  matmul?: MatmulResult[];
  jaxMatmul?: PeerMatmul[];
  steps?: StepResult[];
  error?: string;
}

export interface BenchRun {
  date: string;
  wallS?: number;
  browser?: string;
  host: { cores: number; loadStart: string; loadEnd?: string; topStart?: string[] };
  adapters: { page?: AdapterInfo; enginePage?: AdapterInfo | null; peersPage?: AdapterInfo | null; node?: AdapterInfo };
  /** pairedSteps: the tiny GPT-2 step, ours and jax-js's in turns in one page; llamaSteps: the SmolLM2-shaped step. */
  engine: {
    matmul: MatmulResult[];
    steps: StepResult[];
    error?: string;
    stepError?: string;
    pairedSteps?: PairedStepResult[];
    llamaSteps?: LlamaStepResult[];
    llamaError?: string;
  };
  peers: { mm: Record<string, PeerMatmulRun>; gpt: Record<string, { full?: PeerStep; lora?: PeerStep }> };
  node: NodeSection | null;
  /** The page's main-thread figures (src/bench/responsive.ts); absent when the section did not run. */
  responsive?: ResponsiveSection;
  log: { name: string; wallS: number; load: string; error?: string }[];
}

export type Verdict = 'met' | 'missed' | 'n/a';
export const verdict = (ok: boolean | null): Verdict => (ok === null ? 'n/a' : ok ? 'met' : 'missed');
/** Tokens per step of the peers' model (B=8, T=64), for every contender. */
export const TOKENS_PER_STEP = 512;

const MM_NAMES: Record<string, string> = {
  'tfjs-webgpu': 'tfjs webgpu',
  'ort-webgpu-gpuio': 'ORT webgpu',
  'jax-webgpu': 'jax-js webgpu',
  'tfjs-webgl': 'tfjs webgl (context)',
  'jax-wasm': 'jax-js wasm (context)',
};
const STEP_NAMES: Record<string, string> = {
  'tfjs-webgpu': 'tfjs webgpu',
  'jax-webgpu': 'jax-js webgpu (jit)',
  'tfjs-webgl': 'tfjs webgl (context)',
  'jax-wasm': 'jax-js wasm (jit, context)',
};
const isWebGpu = (name: string) => name.includes('webgpu');

export function adapterSlug(a: AdapterInfo | null | undefined): string {
  return a ? `${a.vendor || 'unknown'}-${a.architecture || 'unknown'}`.replace(/[^\w.-]+/g, '_') : 'no-adapter';
}

export function table(rows: string[][]): string {
  return [rows[0], rows[0].map(() => '---'), ...rows.slice(1)].map((r) => `| ${r.join(' | ')} |`).join('\n');
}

const num = (x: number | undefined | null, d = 2): string =>
  x == null || !Number.isFinite(x) ? '–' : x >= 100 ? x.toFixed(0) : x.toFixed(d);
const peerShape = (run: PeerMatmulRun | undefined, shape: string) =>
  run?.results?.find((r) => r.shape === shape && r.gflops);
const mmCell = (g: number | undefined, ms: number | undefined) =>
  g == null ? '–' : `**${num(g)}** (${num(ms, 1)} ms)`;

/** Our GFLOP/s against the fastest WebGPU peer measured at that shape. */
export function matmulTarget(
  ours: number | undefined,
  peers: Record<string, number | undefined>,
): { best: string | null; bestGflops: number | null; verdict: Verdict } {
  let best: string | null = null,
    bestGflops: number | null = null;
  for (const [name, g] of Object.entries(peers))
    if (isWebGpu(name) && g != null && (bestGflops === null || g > bestGflops)) {
      best = name;
      bestGflops = g;
    }
  return { best, bestGflops, verdict: verdict(ours == null || bestGflops === null ? null : ours >= bestGflops) };
}

function maxErrors(run: BenchRun): string {
  const max = (xs: (number | undefined)[]) => {
    const v = xs.filter((x): x is number => x != null);
    return v.length ? Math.max(...v).toExponential(1) : '–';
  };
  return [
    `ours ${max(run.engine.matmul.map((m) => m.maxAbsErr))}`,
    ...Object.entries(run.peers.mm).map(
      ([n, r]) => `${MM_NAMES[n] ?? n} ${max((r.results ?? []).map((x) => x.err?.maxAbs))}`,
    ),
  ].join(', ');
}

/** Per shape, ours / the peer's GFLOP/s in each round of a paired run, and the median. */
function roundRatios(ours: MatmulResult[], peer: PeerMatmul[] | undefined): string[] {
  return [...PEER_SHAPES, ...GPT2_SMALL_SHAPES].map(shapeKey).flatMap((shape) => {
    const o = ours.find((m) => m.shape === shape)?.rounds,
      j = peer?.find((m) => m.shape === shape)?.rounds;
    if (!o || !j || o.length !== j.length) return [];
    const r = o.map((g, i) => g / j[i]);
    return [`${shape} ${r.map((x) => x.toFixed(2)).join(', ')} (median ${median(r).toFixed(2)})`];
  });
}

export function matmulSection(run: BenchRun): string {
  const peerNames = Object.keys(MM_NAMES).filter((n) => run.peers.mm[n]);
  const paired = run.peers.mm['jax-webgpu']?.paired === true;
  const label = (n: string) => (n === 'jax-webgpu' && paired ? `${MM_NAMES[n]} (same page, in turns)` : MM_NAMES[n]);
  const head = ['M×K×N', 'ours (page)', ...peerNames.map(label), 'target: ours ≥ fastest WebGPU peer'];
  const rows = [...PEER_SHAPES, ...GPT2_SMALL_SHAPES].map(shapeKey).flatMap((shape) => {
    const ours = run.engine.matmul.find((m) => m.shape === shape);
    const peers = Object.fromEntries(peerNames.map((n) => [n, peerShape(run.peers.mm[n], shape)?.gflops]));
    if (!ours && Object.values(peers).every((g) => g == null)) return [];
    const t = matmulTarget(ours?.gflops, peers);
    const why = t.best ? `${t.verdict} (${MM_NAMES[t.best]} ${num(t.bestGflops)})` : 'n/a (no WebGPU peer run)';
    return [
      [
        shape,
        mmCell(ours?.gflops, ours?.ms),
        ...peerNames.map((n) => {
          const p = peerShape(run.peers.mm[n], shape);
          return mmCell(p?.gflops, p?.ms);
        }),
        why,
      ],
    ];
  });
  const errors = [
    ...Object.entries(run.peers.mm).flatMap(([n, r]) =>
      [r.error, ...(r.results ?? []).map((x) => x.error)]
        .filter(Boolean)
        .map((e) => `${n}: ${String(e).slice(0, 200)}`),
    ),
    ...(run.engine.error ? [`ours: ${run.engine.error.slice(0, 300)}`] : []),
  ];
  const ratios = roundRatios(run.engine.matmul, run.peers.mm['jax-webgpu']?.results);
  return [
    '### Matmul GFLOP/s (median ms per matmul), same adapter',
    '',
    table([head, ...rows]),
    '',
    'Every contender is timed the same way (bench/peers/www/mm_bench.js, shared/peers/RESULTS.md §3): inputs on the device, ' +
      'matmuls back to back in groups of up to 16 with one sync per group (ours: one submission per group), ≥ 0.3 s warm-up, ' +
      'each timing ≥ 1 s (at the GPT-2-small widths one matmul already lasts longer, so a timing may hold a single matmul), median. ' +
      (paired
        ? `Ours and jax-js, the fastest WebGPU peer, run in one page and take turns, one timing each per round, ${run.engine.matmul[0]?.rounds?.length ?? '?'} ` +
          "rounds, the order swapped every round: the machine's speed drifts by 20-40% over minutes, so only timings taken side by side " +
          "can settle a 10% difference. tfjs and ORT run in the peers' own page, 3 timings, at the peers' shapes only."
        : "3 timings. Only jax-js, the fastest WebGPU peer at the peers' shapes, also runs the GPT-2-small widths."),
    ...(ratios.length ? ['', `Ours / jax-js GFLOP/s, round by round: ${ratios.join('; ')}.`] : []),
    '',
    `Max abs error of each contender's first result against a JS matmul: ${maxErrors(run)}.`,
    ...errors.map((e) => `- error: ${e}`),
  ].join('\n');
}

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
      "engine's pool, the most seen after any step. Counters: the most seen in any timed step.",
    ...(error ? [`- error: ${error.slice(0, 300)}`] : []),
  ].join('\n');
}

function nodeSection(node: NodeSection | null, page: MatmulResult[]): string {
  if (!node) return '';
  if (node.error || !node.matmul) return `## Node + Dawn\n\nerror: ${node.error ?? 'no results'}`;
  const a = node.adapter;
  const jax = node.jaxMatmul;
  const mm = table([
    [
      'M×K×N',
      'ours, Node + Dawn',
      ...(jax ? ['jax-js webgpu, Node (in turns)', 'target: ours ≥ jax-js'] : []),
      'ours, page (above)',
    ],
    ...node.matmul.map((m) => {
      const p = page.find((x) => x.shape === m.shape),
        j = jax?.find((x) => x.shape === m.shape);
      const vs = j
        ? [
            mmCell(j.gflops, j.ms),
            j.gflops ? verdict(m.gflops >= j.gflops) : `n/a (${(j.error ?? '').split('\n')[0].slice(0, 80)})`,
          ]
        : jax
          ? ['–', 'n/a']
          : [];
      return [m.shape, mmCell(m.gflops, m.ms), ...vs, mmCell(p?.gflops, p?.ms)];
    }),
  ]);
  const ratios = roundRatios(node.matmul, jax);
  const steps = table([
    ['step', 'ms/step', 'tokens/s', 'timed steps'],
    ...(node.steps ?? []).map((s) => [
      s.variant,
      num(s.msPerStep, 0),
      num(s.tokensPerSecond, 0),
      `${s.steps ?? '?'} (+${s.warmup ?? '?'} warm-up)`,
    ]),
  ]);
  return [
    `## ${node.runtime ?? 'Node + Dawn'}, adapter ${a?.vendor} ${a?.architecture} (${a?.description || 'no description'})`,
    '',
    'The same engine outside the browser: Dawn from the npm `webgpu` package on the SwiftShader Vulkan driver Chromium ships. ' +
      'Fewer shapes and steps than the page (src/bench/plan.ts); one fresh device per item.',
    '',
    '### Matmul GFLOP/s (same method and shapes as the page)',
    '',
    mm,
    '',
    ...(ratios.length ? [`Ours / jax-js GFLOP/s, round by round: ${ratios.join('; ')}.`, ''] : []),
    '### Training step',
    '',
    steps,
    '',
    engineSections(node.steps ?? [], 'Node'),
  ].join('\n');
}

const load = (l: number[]): string => l.map((x) => x.toFixed(2)).join(' ');

/** The markdown of the section: one row per scenario, the machine's load beside each. */
export function responsiveSection(r: ResponsiveSection): string {
  const rows = r.items.map((f) => [
    f.what,
    f.longestCpu ? `**${Math.round(f.longestCpu.cpuMs)}** (${f.longestCpu.task})` : '–',
    f.longestWall ? `**${Math.round(f.longestWall.wallMs)}** (${f.longestWall.task})` : '–',
    String(f.longTasks),
    `${Math.round(f.busyCpuMs)} ms in ${f.seconds.toFixed(1)} s (${f.tasks} tasks)`,
    load(f.load),
  ]);
  return [
    '## Responsiveness of the page (production build)',
    '',
    `Machine: ${r.cores} cores; load average ${load(r.loadStart)} at the start of the section. A task's wall time` +
      " includes the time its thread waited for a core; its CPU time is the page's own cost.",
    '',
    ...(rows.length
      ? [
          table([
            [
              'while',
              'longest main-thread task, CPU ms',
              'longest main-thread task, wall ms',
              'long tasks (> 50 ms wall)',
              'main thread busy (CPU)',
              'load average at the end',
            ],
            ...rows,
          ]),
          '',
        ]
      : []),
    ...(r.error ? [`error: ${r.error}`, ''] : []),
  ].join('\n');
}

/** The 1-minute load average went above the number of cores at the start, the end or any item. */
export function overloaded(run: BenchRun): boolean {
  const loads = [run.host.loadStart, run.host.loadEnd, ...run.log.map((l) => l.load)]
    .filter((l): l is string => Boolean(l))
    .map((l) => parseFloat(l));
  // The bench itself keeps about one load unit per core busy (browser, GPU emulation, Node); more than one extra unit
  // means other jobs shared the machine.
  return loads.some((l) => l > run.host.cores + 1);
}

export function renderReport(run: BenchRun): string {
  const a = run.adapters.page ?? run.adapters.enginePage ?? run.adapters.node;
  const same =
    run.adapters.enginePage && run.adapters.peersPage
      ? adapterSlug(run.adapters.enginePage) === adapterSlug(run.adapters.peersPage) &&
        run.adapters.enginePage.description === run.adapters.peersPage.description
        ? "the engine's page and the peers' pages report the same adapter"
        : `**adapters differ**: peers' pages see ${JSON.stringify(run.adapters.peersPage)}`
      : '';
  const browser = run.log.some((l) => !l.name.startsWith('node') && l.name !== 'responsive');
  const out = [
    `# npm run bench, ${run.date.slice(0, 16).replace('T', ' ')} UTC`,
    '',
    `- Adapter: ${a ? `${a.vendor} ${a.architecture} (${a.description || 'no description'}${a.isFallback ? ', fallback adapter' : ''})` : 'none'}${same ? `; ${same}` : ''}.`,
    ...(run.browser
      ? [
          `- Browser: headless Chromium ${run.browser}, one launch for every contender (shared/peers/RESULTS.md used 3 launches and reports the median of their medians; this run has one, so expect ±5–10% run to run on an idle machine).`,
        ]
      : []),
    `- Machine: ${run.host.cores} cores; load average ${run.host.loadStart} at the start, ${run.host.loadEnd ?? '?'} at the end. Whole run ${run.wallS ?? '?'} s.` +
      (overloaded(run)
        ? ' **Other jobs pushed the load well above the core count, so every timing here is inflated and noisy; compare contenders only within this run.**'
        : ''),
    '- SwiftShader, where it is the adapter, is a CPU emulation of a GPU: these numbers anchor CI, they do not predict real GPUs.',
  ];
  if (browser) {
    out.push('', '## Browser (same Chromium, same adapter)', '');
    if (run.engine.matmul.length || Object.keys(run.peers.mm).length) out.push(matmulSection(run), '');
    if (run.engine.steps.length || Object.keys(run.peers.gpt).length || run.engine.pairedSteps?.length) {
      out.push(stepSection(run), '', engineSections(run.engine.steps, 'page'), '');
    }
    const llama = llamaSection(run.engine.llamaSteps ?? [], run.engine.llamaError);
    if (llama) out.push(llama, '');
  }
  if (run.responsive) out.push('', responsiveSection(run.responsive));
  out.push(
    nodeSection(run.node, run.engine.matmul),
    '',
    `Items: ${run.log.map((l) => `${l.name} ${l.wallS} s (load ${l.load.split(' ')[0]})${l.error ? ' ERROR' : ''}`).join('; ')}`,
    '',
  );
  return out.join('\n');
}
