import { describeOptions, type PlanOptions } from '../train/plan';
import { type GpuBenchReport, KERNEL_VARIANTS, MORE_SPLITS, pct, type StepRow } from './gpuBenchCommon';

function table(rows: (string | number)[][]): string {
  return [rows[0], rows[0].map(() => '---'), ...rows.slice(1)].map((r) => `| ${r.join(' | ')} |`).join('\n');
}

/** Three significant digits (whole numbers from 100 up): tiny smoke shapes keep their digits too. */
const sig = (x: number | null) => (x === null ? '–' : Math.abs(x) >= 100 ? x.toFixed(0) : x.toPrecision(3));
const optionsCell = (o: PlanOptions) => describeOptions(o);
/** What sets a row's matmul tiles apart from its model's f32 row. */
const tilesNote = (r: StepRow) =>
  r.tuning
    ? ' (tuned tiles)'
    : r.largeTile === 128
      ? ' (128×128 tiles)'
      : r.kernelVariant
        ? ` (${KERNEL_VARIANTS[r.kernelVariant].note})`
        : '';

function stepTable(rows: StepRow[], withSpeedup: boolean): string {
  return table([
    [
      'model',
      'method',
      'weights / arithmetic',
      'attention',
      'B×T',
      'options',
      'ms/step (pipelined; synced)',
      'tokens/s',
      'model GFLOP/step',
      'TFLOP/s',
      '% of f32 peak',
      ...(withSpeedup ? ['speed-up vs f32 (goal 1.5×)'] : []),
      'per step: submissions / dispatches / readbacks',
      'buffers created after warm-up',
      'peak MiB / estimate = ratio',
    ],
    ...rows.map((r) => [
      r.model,
      r.method,
      `${r.weights} / ${r.arithmetic}${tilesNote(r)}`,
      `${r.attention === 'matmul' ? 'batched matmuls' : 'per row'}${r.attentionSetting === 'row' ? ' (forced)' : ''}`,
      `${r.B}×${r.T}`,
      optionsCell(r.options),
      `${sig(r.msPipelined)}; ${sig(r.msSynced)}`,
      r.tokensPerSecond.toFixed(0),
      sig(r.flops.total / 1e9),
      sig(r.tflops),
      sig(r.percentOfPeak),
      ...(withSpeedup
        ? [
            r.mismatch
              ? `**MISMATCH** (${r.mismatch})`
              : r.speedupVsF32 === null
                ? '–'
                : r.tuning
                  ? `${r.speedupVsF32.toFixed(2)}× (tuned vs the rule's tiles)`
                  : r.largeTile === 128 && r.weights === 'f32'
                    ? `${r.speedupVsF32.toFixed(2)}× (128×128 vs 64×64 tiles)`
                    : r.attentionSetting === 'row'
                      ? `${r.speedupVsF32.toFixed(2)}× (per-row vs 'auto' attention)`
                      : r.kernelVariant
                        ? `${r.speedupVsF32.toFixed(2)}× (${KERNEL_VARIANTS[r.kernelVariant].speedup})`
                        : `${r.speedupVsF32.toFixed(2)}× (${r.speedupVsF32 >= 1.5 ? 'met' : 'not met'})`,
          ]
        : []),
      `${r.submissions} / ${r.dispatches} / ${r.readbacks}`,
      r.buffersAfterWarmup,
      `${sig(r.peakMiB)} / ${sig(r.estimateMiB)} = ${(r.peakMiB / r.estimateMiB).toFixed(2)}`,
    ]),
  ]);
}

/** Kernels grouped by shader (matmul, attention, …): the share of a step's GPU time each takes. */
function profileTables(rows: StepRow[]): string[] {
  const out: string[] = [];
  for (const r of rows) {
    if (!r.profile) continue;
    const total = r.profile.reduce((a, k) => a + k.ms, 0),
      timed = r.profile.reduce((a, k) => a + k.count, 0);
    const byShader = new Map<string, number>();
    for (const k of r.profile) {
      // One group per shader file: the tiled matmul's operand variants ("matmul[a4,b4]") under "matmul".
      const s = k.kernel.split('.')[0].replace(/\[.*\]$/, '');
      byShader.set(s, (byShader.get(s) ?? 0) + k.ms);
    }
    const groups = [...byShader].sort((a, b) => b[1] - a[1]);
    out.push(
      `${r.model} ${r.method}, ${r.weights} weights / ${r.arithmetic} arithmetic${tilesNote(r)}` +
        `${r.attentionSetting === 'row' ? ', per-row attention forced' : ''}, ${r.B}×${r.T}: ` +
        `${total.toFixed(1)} ms of GPU time in ${timed} of ${r.dispatches} dispatches timed; by shader: ` +
        groups.map(([s, ms]) => `${s} ${((100 * ms) / total).toFixed(0)}%`).join(', '),
      '',
      table([
        ['kernel', 'dispatches', 'ms', 'share'],
        ...r.profile
          .slice(0, 8)
          .map((k) => [k.kernel, k.count, k.ms.toFixed(2), `${((100 * k.ms) / total).toFixed(1)}%`]),
      ]),
      '',
    );
  }
  return out;
}

/** The f32 LoRA steps at four times the batch, and per model the % of peak at its batch and at four times it
 * (the step rows' first f32 row, the rule's tiles and tuned). */
function moreTokensLines(r: GpuBenchReport): string[] {
  if (!r.moreTokens.length) return ['no row ran', ''];
  const pctOf = (s: StepRow | undefined) => (s ? `${sig(s.percentOfPeak)}% at ${s.B}×${s.T}` : 'not run');
  const lines = r.moreTokens
    .filter((s) => !s.tuning)
    .map((s) => {
      const one = r.steps.find((x) => x.model === s.model && x.speedupVsF32 === null);
      const tuned = r.moreTokens.find((x) => x.model === s.model && x.tuning);
      return `${s.model}: % of f32 peak ${pctOf(one)}, ${pctOf(s)}${tuned ? `, ${pctOf(tuned)} with tuned tiles` : ''}.`;
    });
  return [...lines, '', stepTable(r.moreTokens, false), ''];
}

/** Per tuned row: the tuning's summary line, and each timed shape (largest first) with every tile's ms per op and
 * how much faster the chosen tile ran than the rule's. */
function tuningTables(rows: StepRow[]): string[] {
  const out: string[] = [
    'After the first warm-up step, each matmul shape is timed with 32-, 64- and 128-wide tiles and the 64 and 128 ' +
      "tiles with prefetch, largest shape first until the time budget is spent; 'auto' then takes the fastest unless " +
      "the rule's kernel is within 3%. Untimed shapes keep the rule's; rule / chosen is the chosen kernel's speed-up.",
    '',
  ];
  for (const r of rows) {
    if (!r.tuning) continue;
    const tiles = ['32', '64', '128', '64+prefetch', '128+prefetch'];
    const kernels = [...r.tuning.kernels].sort((x, y) => y.flops - x.flops);
    const budget = `${(r.tuning.budgetMs / 1000).toFixed(1)} s budget`;
    out.push(`${r.model} ${r.method}, ${r.B}×${r.T} (${budget}): ${r.tuning.summary}.`, '');
    if (kernels.length)
      out.push(
        table([
          [
            'shape (batch×M×K×N, flags, b)',
            'GFLOP',
            'calls/step',
            'rule',
            'chosen',
            ...tiles.map((t) => `ms/op ${t}`),
            'rule / chosen',
          ],
          ...kernels.map((k) => {
            const rule = k.msPerOp[k.rule] ?? null,
              chosen = k.msPerOp[k.chosen] ?? null;
            return [
              k.shape,
              sig(k.flops / 1e9),
              k.calls,
              k.rule,
              k.chosen === k.rule ? k.chosen : `**${k.chosen}**`,
              ...tiles.map((t) => sig(k.msPerOp[t] ?? null)),
              rule !== null && chosen !== null ? `${(rule / chosen).toFixed(2)}×` : '–',
            ];
          }),
        ]),
        '',
      );
  }
  return out;
}

/** A table cell: x / y as "1.23×", or '–' where either was not timed. */
const ratio = (x: number | null | undefined, y: number | null | undefined) => (x && y ? `${(x / y).toFixed(2)}×` : '–');

/** One line on a contender timed beside another at every shape: at how many shapes it was more than 5% faster or
 * slower, and the median ratio of their TFLOP/s. */
function ratioSummary(what: string, pairs: [number | null | undefined, number | null | undefined][]): string {
  const ratios = pairs.filter(([x, y]) => !!x && !!y).map(([x, y]) => (x as number) / (y as number));
  if (!ratios.length) return `${what}: not timed.`;
  const sorted = [...ratios].sort((x, y) => x - y);
  const median = sorted[Math.floor(sorted.length / 2)];
  const faster = ratios.filter((x) => x > 1.05).length,
    slower = ratios.filter((x) => x < 1 / 1.05).length;
  return (
    `${what}: more than 5% faster at ${faster} of ${ratios.length} shapes, more than 5% slower at ${slower}, ` +
    `median ratio ${median.toFixed(2)}×.`
  );
}

/** The matmul contenders' summary lines: 128x128 tiles, vector loads and prefetch, each against its alternative. */
type MatmulRow = GpuBenchReport['matmul'][number];
const CONTENDERS: [string, (m: MatmulRow) => [number | null | undefined, number | null | undefined]][] = [
  ["128×128 tiles vs 'auto'", (m) => [m.tflops128, m.tflops]],
  ["vector loads ('auto') vs element loads", (m) => [m.tflops, m.tflopsElementLoads]],
  ["swizzled staging ('auto') vs unswizzled", (m) => [m.tflops, m.tflopsUnswizzled]],
  ["prefetch vs 'auto'", (m) => [m.tflopsPrefetch, m.tflops]],
  ['prefetch in two staging buffers vs one', (m) => [m.tflopsPrefetch, m.tflopsPrefetchOneBuffer]],
  ['prefetch vs not on 128×128 tiles', (m) => [m.tflopsPrefetch128, m.tflops128]],
  [`${MORE_SPLITS}× the splits vs 'auto' (where it splits)`, (m) => [m.tflopsMoreSplits, m.tflops]],
];
/** Where each matmul's time goes: the 'auto' kernel whole, its products alone and its memory phases alone. */
function phaseTable(rows: MatmulRow[], peak: GpuBenchReport['peak']): string[] {
  const timed = rows.filter((m) => m.msProductsOnly !== undefined && m.msMemoryOnly !== undefined);
  if (!timed.length) return ['not timed', ''];
  const tflops = (m: MatmulRow, ms: number) => (2 * m.M * m.K * m.N) / (ms / 1000) / 1e12;
  return [
    "The 'auto' kernel in parts (`setMatmulPhases`): its products alone (the first K tile staged once and multiplied " +
      'once per K tile: no global loads or barriers in the loop; the ceiling the inner loop sets) and its global ' +
      "loads, stagings and barriers alone (no products); with split K each includes the partial sums' pass. Neither " +
      'computes the matmul. Products alone far below the ' +
      'peak: the inner loop is the limit; memory alone near the whole: loads and barriers are; their sum above the ' +
      'whole: the two overlap.',
    '',
    table([
      [
        'model',
        'layer',
        'M×K×N',
        'ms whole',
        'ms products alone',
        'products alone TFLOP/s',
        '% of f32 peak',
        'ms memory alone',
        '(products + memory) / whole',
      ],
      ...timed.map((m) => {
        const prod = m.msProductsOnly as number,
          mem = m.msMemoryOnly as number;
        return [
          m.model,
          m.layer,
          `${m.M}×${m.K}×${m.N}${m.transB ? ' (Bᵀ)' : ''}`,
          sig(m.msPerOp),
          sig(prod),
          sig(tflops(m, prod)),
          sig(pct(tflops(m, prod), peak)),
          sig(mem),
          `${((prod + mem) / m.msPerOp).toFixed(2)}`,
        ];
      }),
    ]),
    '',
  ];
}

function contenderSummaries(rows: MatmulRow[]): string[] {
  return CONTENDERS.map(([what, pair]) => ratioSummary(what, rows.map(pair)));
}

export function renderGpuBench(r: GpuBenchReport): string {
  const a = r.adapter as { description?: string };
  const peak = r.peak
    ? `${r.peak.tflops} TFLOP/s float32 (${r.peak.source})`
    : 'unknown for this device: set BENCH_PEAK_TFLOPS to get % of peak';
  return [
    `### dynrank on ${r.deviceName} (${a.description ?? ''}), Node + Dawn over Vulkan${r.smoke ? ' — SMOKE RUN' : ''}`,
    '',
    `Peak used for % of peak: ${peak}. Model FLOPs per step from the shapes (src/bench/flops.ts): 4 per frozen ` +
      'weight and token (forward + input gradient), attention at full T×T, adapters at R0 with every component live. ' +
      `Matmul 'auto' tiling takes tiles up to ${r.largeTile}×${r.largeTile}` +
      (r.largeTile === 64
        ? '; each LoRA model also has an f32 row with 128×128 tiles for large outputs (BENCH_LARGE_TILE=128 runs ' +
          'every step that way).'
        : '.') +
      ' Each LoRA model also has a row with kernel tuning (tiles measured per shape) and one with the per-row ' +
      "attention kernels forced, against 'auto' (attention as batched matmuls on GPUs from T = 64).",
    '',
    table([
      ['section', 'wall s', 'status'],
      ...r.sections.map((s) => [
        s.name,
        s.seconds.toFixed(1),
        [s.skipped ?? 'ran', ...s.notes].join('; ').replaceAll('|', '/'),
      ]),
    ]),
    '',
    `Wall time ${r.wallSeconds.toFixed(1)} s of the ${r.budgetSeconds} s budget.`,
    '',
    '#### Matmul at the models’ widths (f32; auto tiling, and 128×128 tiles beside it)',
    '',
    '\'auto\' stages the k-fast operands it reads as vec4s swizzled ("auto / unswizzled": against padded or plain ' +
      "rows), pads a transposed b's staged rows by one vec4 otherwise (spreading its staging stores over memory banks) and " +
      'splits K where the output has few tiles; "auto / unpadded", "auto / both padded" (a row-major a padded too) ' +
      'and "auto / no split" time it against the alternatives, and "4× splits / auto" against 4 times its splits, in ' +
      "the same run. 'auto' reads operands whose stored " +
      'rows are a multiple of 4 long as vec4s ("auto / element loads": against one element per load); "prefetch / ' +
      'auto" and "128 prefetch / 128" time the next K tile\'s loads issued before the current tile\'s products ' +
      '(staged in two buffers where they fit, one barrier per K tile; "prefetch: 2 buffers / 1" against one buffer).',
    '',
    table([
      [
        'model',
        'layer',
        'M×K×N',
        'ms/op',
        'TFLOP/s',
        '% of f32 peak',
        'TFLOP/s on 128×128 tiles',
        '128 / auto',
        'auto / unswizzled',
        'auto / unpadded',
        'auto / both padded',
        'splits',
        'auto / no split',
        `${MORE_SPLITS}× splits / auto`,
        'auto / element loads',
        'prefetch / auto',
        'prefetch: 2 buffers / 1',
        '128 prefetch / 128',
      ],
      ...r.matmul.map((m) => [
        m.model,
        m.layer,
        `${m.M}×${m.K}×${m.N}${m.transB ? ' (Bᵀ)' : ''}`,
        sig(m.msPerOp),
        sig(m.tflops),
        sig(m.percentOfPeak),
        sig(m.tflops128),
        ratio(m.tflops128, m.tflops),
        ratio(m.tflops, m.tflopsUnswizzled),
        ratio(m.tflops, m.tflopsPadNone),
        ratio(m.tflops, m.tflopsPadBoth),
        m.splits ?? '–',
        ratio(m.tflops, m.tflopsNoSplit),
        ratio(m.tflopsMoreSplits, m.tflops),
        ratio(m.tflops, m.tflopsElementLoads),
        ratio(m.tflopsPrefetch, m.tflops),
        ratio(m.tflopsPrefetch, m.tflopsPrefetchOneBuffer),
        ratio(m.tflopsPrefetch128, m.tflops128),
      ]),
    ]),
    '',
    ...contenderSummaries(r.matmul).flatMap((line) => [line, '']),
    '',
    "#### Where a matmul's time goes ('auto' kernel in parts)",
    '',
    ...phaseTable(r.matmul, r.peak),
    '#### shader-f16 matmul (checked against the f32 path before timing)',
    '',
    r.shaderF16
      ? table([
          ['model', 'layer', 'M×K×N', 'check (err f16 / vs f32 path)', 'ms f32', 'ms f16 weights', 'ms f16 arithmetic'],
          ...r.shaderF16Matmul.map((m) => [
            m.model,
            m.layer,
            `${m.M}×${m.K}×${m.N}`,
            `${m.check === 'ok' ? 'ok' : '**MISMATCH**'} (${m.errF16Path.toExponential(1)} / ${m.errVsF32Path.toExponential(1)})`,
            sig(m.msF32Weights),
            sig(m.msF16Weights),
            sig(m.msF16Arithmetic),
          ]),
        ])
      : 'skipped: adapter lacks shader-f16',
    '',
    '#### LoRA steps: f32 vs f16 frozen weights',
    '',
    stepTable(r.steps, true),
    '',
    '#### Kernel tuning on this device (the tuned rows)',
    '',
    ...(r.steps.some((s) => s.tuning) ? tuningTables([...r.steps, ...r.moreTokens]) : ['no tuned row ran', '']),
    '#### Where the time goes (timestamp queries, one step)',
    '',
    ...(r.timestampQuery
      ? [
          r.timestampsExact
            ? "Timestamps exact (Dawn's timestamp_quantization off)."
            : 'Dawn rounded these timestamps down to multiples of 65.536 us (DYNRANK_DAWN_FLAGS=' +
              'disable-dawn-features=timestamp_quantization gives exact ones): a kernel shorter than that reads 0 or ' +
              '65.5 us, so only sums over many dispatches mean much.',
          '',
          ...profileTables([...r.steps, ...r.dynrank, ...r.moreTokens]),
        ]
      : ['skipped: adapter lacks timestamp-query', '']),
    '#### Dynamic rank b=8 on all seven module types under the memory plan, then under each recompute mode',
    '',
    ...(r.smoke
      ? ['Smoke run: every row shares one device, so a row reuses pooled buffers and its peak reads low.', '']
      : []),
    stepTable(r.dynrank, false),
    '',
    '#### LoRA steps at 4× the tokens (f32)',
    '',
    ...moreTokensLines(r),
    r.problems.length
      ? `**PROBLEMS (${r.problems.length})**: ${r.problems.map((p) => p.split('\n')[0]).join('; ')}`
      : 'No problems.',
  ].join('\n');
}
