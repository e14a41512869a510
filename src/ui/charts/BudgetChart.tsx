// Live components over all modules against the budget schedule's target (the cubic b(t) times the module count).
// Mounted with empty axes on page load, so a run only updates it.

import { memo, useMemo } from 'react';
import { CartesianGrid, Legend, Line, LineChart, Tooltip, XAxis, YAxis } from 'recharts';
import { type AppState, useStore } from '../../store';
import type { MetricPoint } from '../../store/trainingSlice';
import { int } from '../format';
import { useStoreTransition } from '../useStoreTransition';
import { COLORS } from './colors';
import { downsampleSteps, holdForward, MAX_POINTS } from './downsample';
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

export interface BudgetRow {
  step: number;
  live?: number;
  target?: number;
}

/**
 * Chart rows by step: the schedule's target and the live count, each reduced to its changes, downsampled, and held
 * until it changes (every row from a series' first point on has its value).
 */
export function budgetRows(
  schedule: readonly { step: number; live: number }[],
  points: readonly MetricPoint[],
  max = MAX_POINTS,
): BudgetRow[] {
  const rows = new Map<number, BudgetRow>();
  const row = (step: number) => {
    let r = rows.get(step);
    if (!r) rows.set(step, (r = { step }));
    return r;
  };
  for (const p of downsampleSteps(schedule, max, (q) => q.live)) row(p.step).target = p.live;
  for (const p of downsampleSteps(points, max, (q) => q.live)) row(p.step).live = p.live;
  return holdForward(
    holdForward(
      [...rows.values()].sort((a, b) => a.step - b.step),
      'target',
    ),
    'live',
  );
}

const formatValue = (v: unknown, name: unknown): [string, string] => {
  const n = numberOf(v);
  return [n === null ? String(v) : `${int(n)} components`, String(name)];
};
const stepLabel = (l: unknown) => `step ${l}`;
const selectPoints = (s: AppState) => s.points;
const selectSteps = (s: AppState) => s.steps;
const selectSchedule = (s: AppState) => s.schedule;
const OPTS = { intervalMs: CHART_INTERVAL_MS, phaseMs: CHART_PHASE_MS.budget };
// Props recharts compares by identity are made once, so a redraw with new rows changes nothing else.
const X_LABEL = xLabel('step');
const Y_LABEL = yLabel('live components');
const Y_DOMAIN = [0, 'auto'] as const;
const STYLE = chartStyle();

export function BudgetChart() {
  const method = useStore((s) => s.run?.method);
  const started = useStore((s) => s.schedule.length > 0);
  return (
    <figure className="card chart" aria-label="Live components and budget" data-testid="budget-chart">
      <figcaption>Live components vs budget{method === 'lora' ? ' (LoRA: fixed)' : ''}</figcaption>
      <BudgetPlot />
      {!started && <p className="hint chart-note">The budget schedule appears here once a run starts.</p>}
    </figure>
  );
}

/**
 * Redraws at most every CHART_INTERVAL_MS, in a transition render (useStoreTransition); the run's step count too,
 * so a run's start redraws it in its own task, not in the task of the store update.
 */
const BudgetPlot = memo(function BudgetPlot() {
  const steps = useStoreTransition(selectSteps, OPTS);
  const schedule = useStoreTransition(selectSchedule, OPTS);
  const points = useStoreTransition(selectPoints, OPTS);
  const rows = useMemo(() => budgetRows(schedule, points), [schedule, points]);
  const xDomain = useMemo(() => [0, Math.max(steps, 1)], [steps]);
  const last = points.at(-1);
  const label = last
    ? `Live components: ${last.live} at step ${last.step}, target ${last.target}`
    : `Budget schedule over ${steps} steps`;
  return (
    <div className="rechart" role="group" aria-label={label}>
      <LineChart responsive style={STYLE} data={rows} margin={MARGIN}>
        <CartesianGrid stroke={COLORS.grid} vertical={false} />
        <XAxis
          dataKey="step"
          type="number"
          domain={xDomain}
          allowDecimals={false}
          tick={TICK}
          interval={TICK_INTERVAL}
          height={34}
          label={X_LABEL}
        />
        <YAxis
          domain={Y_DOMAIN}
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
          labelFormatter={stepLabel}
          contentStyle={TOOLTIP_STYLE}
        />
        <Legend verticalAlign="top" height={22} wrapperStyle={LEGEND_STYLE} />
        <Line
          dataKey="live"
          name="live"
          stroke={COLORS.live}
          strokeWidth={3}
          strokeOpacity={0.75}
          dot={false}
          isAnimationActive={false}
          connectNulls
          type="stepAfter"
        />
        <Line
          dataKey="target"
          name="target b(t)·M"
          stroke={COLORS.target}
          strokeWidth={1.5}
          strokeDasharray="4 4"
          dot={false}
          isAnimationActive={false}
          connectNulls
          type="stepAfter"
        />
      </LineChart>
    </div>
  );
});
