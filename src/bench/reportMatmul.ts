// The report's matmul section: our GFLOP/s against the peers' at every shape, the target (ours ≥ the fastest WebGPU
// peer) and the round-by-round ratios of a run in turns.

import { type MatmulResult, median } from './matmul';
import { GPT2_SMALL_SHAPES, PEER_SHAPES, shapeKey } from './plan';
import {
  type BenchRun,
  mmCell,
  num,
  type PeerMatmul,
  type PeerMatmulRun,
  table,
  type Verdict,
  verdict,
} from './reportRun';

const MM_NAMES: Record<string, string> = {
  'tfjs-webgpu': 'tfjs webgpu',
  'ort-webgpu-gpuio': 'ORT webgpu',
  'jax-webgpu': 'jax-js webgpu',
  'tfjs-webgl': 'tfjs webgl (context)',
  'jax-wasm': 'jax-js wasm (context)',
};
const isWebGpu = (name: string) => name.includes('webgpu');
const peerShape = (run: PeerMatmulRun | undefined, shape: string) =>
  run?.results?.find((r) => r.shape === shape && r.gflops);

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
export function roundRatios(ours: MatmulResult[], peer: PeerMatmul[] | undefined): string[] {
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
