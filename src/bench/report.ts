// Turns one `npm run bench` run (scripts/bench.mjs) into the markdown report: assembles the matmul and step sections
// (reportMatmul.ts, reportSteps.ts) with the header, responsiveness and Node + Dawn sections. Pure functions.

import type { MatmulResult } from './matmul';
import { matmulSection, roundRatios } from './reportMatmul';
import { adapterSlug, type BenchRun, mmCell, type NodeSection, num, table, verdict } from './reportRun';
import { engineSections, llamaSection, memoryPlanSection, stepSection } from './reportSteps';
import type { ResponsiveSection } from './responsive';

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
  if (run.memoryPlans?.length) out.push(memoryPlanSection(run.memoryPlans), '');
  if (run.responsive) out.push('', responsiveSection(run.responsive));
  out.push(
    nodeSection(run.node, run.engine.matmul),
    '',
    `Items: ${run.log.map((l) => `${l.name} ${l.wallS} s (load ${l.load.split(' ')[0]})${l.error ? ' ERROR' : ''}`).join('; ')}`,
    '',
  );
  return out.join('\n');
}
