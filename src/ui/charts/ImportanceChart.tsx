// The distribution of component importance (EMA of ||dW_i|| / ||dW||, log scale): live components sit right of the
// pruning threshold, pruned ones left of it. Dynamic rank only (empty for LoRA); mounted with empty axes on page load.

import { memo, useMemo } from 'react';
import { Bar, BarChart, CartesianGrid, Legend, Tooltip, XAxis, YAxis } from 'recharts';
import { type AppState, useStore } from '../../store';
import { int } from '../format';
import { useStoreTransition } from '../useStoreTransition';
import { COLORS } from './colors';
import {
  CHART_INTERVAL_MS,
  CHART_PHASE_MS,
  chartStyle,
  LEGEND_STYLE,
  MARGIN,
  numberOf,
  TICK,
  TICK_INTERVAL,
  TOOLTIP_STYLE,
  xLabel,
  yLabel,
} from './rechartsParts';

export interface ImportanceBin {
  /** The bin's centre, as a power of ten ("1e-3.2"). */
  bin: string;
  /** log10 of the bin's lower and upper edge. */
  from: number;
  to: number;
  count: number;
}

/**
 * Histogram of log10 scores in equal-width bins; zero scores (never live) go to the first bin. Scores that are not
 * finite numbers are left out, and no scores give no bins (every coordinate the chart draws is a number).
 */
export function importanceBins(scores: readonly number[], bins = 16): ImportanceBin[] {
  const logs = scores.filter((s) => Number.isFinite(s)).map((s) => Math.log10(Math.max(s, 1e-8)));
  if (logs.length === 0) return [];
  let lo = Infinity,
    hi = -Infinity;
  for (const l of logs) {
    if (l < lo) lo = l;
    if (l > hi) hi = l;
  }
  const w = (hi - lo) / bins || 1;
  const counts = new Array<number>(bins).fill(0);
  for (const l of logs) counts[Math.min(bins - 1, Math.floor((l - lo) / w))]++;
  return counts.map((count, i) => ({
    bin: `1e${(lo + (i + 0.5) * w).toFixed(1)}`,
    from: lo + i * w,
    to: lo + (i + 1) * w,
    count,
  }));
}

const formatValue = (v: unknown): [string, string] => {
  const n = numberOf(v);
  return [n === null ? String(v) : `${int(n)} components`, 'count'];
};
const binLabel = (l: unknown, payload: readonly { payload?: ImportanceBin }[]) => {
  const b = payload[0]?.payload;
  return b ? `importance 1e${b.from.toFixed(1)} to 1e${b.to.toFixed(1)}` : String(l);
};
const selectImportance = (s: AppState) => s.importance;
const OPTS = { intervalMs: CHART_INTERVAL_MS, phaseMs: CHART_PHASE_MS.importance };
// Props recharts compares by identity are made once, so a redraw with new bars changes nothing else.
const X_LABEL = xLabel('importance (EMA of ‖ΔWᵢ‖ / ‖ΔW‖, log₁₀ bins)');
const Y_LABEL = yLabel('components');
const STYLE = chartStyle();

export function ImportanceChart() {
  const method = useStore((s) => s.run?.method);
  const has = useStore((s) => s.importance !== null);
  // Mounted for LoRA runs too (empty): a recharts first mount is the costliest render of a chart, and a dynamic-rank
  // run after a LoRA run would pay it in the task of its Start click.
  return (
    <figure className="card chart" aria-label="Importance distribution" data-testid="importance-chart">
      <figcaption>Importance of components (EMA, log scale){method === 'lora' ? ' (LoRA: none)' : ''}</figcaption>
      <ImportancePlot />
      {!has && (
        <p className="hint chart-note">
          {method === 'lora'
            ? 'LoRA keeps every component: it has no importance scores.'
            : 'Scores of a dynamic-rank run appear after its first logged step.'}
        </p>
      )}
    </figure>
  );
}

/** Redraws at most every CHART_INTERVAL_MS, in a transition render (useStoreTransition). */
const ImportancePlot = memo(function ImportancePlot() {
  const importance = useStoreTransition(selectImportance, OPTS);
  const bars = useMemo(() => (importance ? importanceBins(importance) : []), [importance]);
  const label = importance
    ? `Importance of ${importance.length} components, ${bars.length} log-scale bins`
    : 'Importance: no scores yet';
  return (
    <div className="rechart" role="group" aria-label={label}>
      <BarChart responsive style={STYLE} data={bars} margin={MARGIN} barCategoryGap={1}>
        <CartesianGrid stroke={COLORS.grid} vertical={false} />
        <XAxis dataKey="bin" tick={TICK} interval={3} height={34} label={X_LABEL} />
        <YAxis
          allowDecimals={false}
          tick={TICK}
          interval={TICK_INTERVAL}
          tickFormatter={int}
          width={56}
          label={Y_LABEL}
        />
        <Tooltip
          isAnimationActive={false}
          formatter={formatValue}
          labelFormatter={binLabel}
          contentStyle={TOOLTIP_STYLE}
        />
        <Legend verticalAlign="top" height={22} wrapperStyle={LEGEND_STYLE} />
        <Bar dataKey="count" name="components" fill={COLORS.live} isAnimationActive={false} />
      </BarChart>
    </div>
  );
});
