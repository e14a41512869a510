// Training loss (left axis), validation loss when the run evaluated (left axis) and learning rate (right axis) by
// step, with a brush to zoom into a step range. Mounted with empty axes on page load, so a run only updates it.

import { memo, useCallback, useMemo, useState } from 'react';
import { Brush, CartesianGrid, Legend, Line, LineChart, Tooltip, XAxis, YAxis } from 'recharts';
import { type AppState, useStore } from '../../store';
import type { MetricPoint } from '../../store/trainingSlice';
import type { EvalResult } from '../../worker/protocol';
import { sci } from '../format';
import { useStoreTransition } from '../useStoreTransition';
import { COLORS } from './colors';
import { downsampleMinMax, downsampleSteps, holdForward, MAX_POINTS } from './downsample';
import {
  CHART_INTERVAL_MS,
  CHART_PHASE_MS,
  chartStyle,
  LEGEND_STYLE,
  MARGIN,
  numberOf,
  sig3,
  TICK,
  TOOLTIP_STYLE,
  xLabel,
  yLabel,
} from './rechartsParts';

export interface LossRow {
  step: number;
  loss?: number;
  lr?: number;
  valLoss?: number;
}

/**
 * Chart rows by step: the downsampled loss and learning rate (held until it changes, so every row has one), and
 * every evaluation's loss at its step.
 */
export function lossRows(points: readonly MetricPoint[], evals: readonly EvalResult[], max = MAX_POINTS): LossRow[] {
  const rows = new Map<number, LossRow>();
  const row = (step: number) => {
    let r = rows.get(step);
    if (!r) rows.set(step, (r = { step }));
    return r;
  };
  for (const p of downsampleMinMax(points, max, (q) => q.loss)) row(p.step).loss = p.loss;
  for (const p of downsampleSteps(points, max, (q) => q.lr)) row(p.step).lr = p.lr;
  for (const e of evals) row(e.step).valLoss = e.loss;
  return holdForward(
    [...rows.values()].sort((a, b) => a.step - b.step),
    'lr',
  );
}

/** A step range chosen with the brush; `to: null` follows the newest step. */
interface Zoom {
  from: number;
  to: number | null;
}

/** The brush's indices into `rows` for `zoom` (the whole series for null). */
export function brushIndices(rows: readonly LossRow[], zoom: Zoom | null): { startIndex: number; endIndex: number } {
  const last = Math.max(0, rows.length - 1);
  if (!zoom) return { startIndex: 0, endIndex: last };
  let startIndex = rows.findIndex((r) => r.step >= zoom.from);
  if (startIndex < 0) startIndex = last;
  let endIndex = last;
  if (zoom.to !== null) while (endIndex > startIndex && rows[endIndex].step > zoom.to) endIndex--;
  return { startIndex, endIndex };
}

const FORMAT: Record<string, (v: number) => string> = {
  loss: (v) => v.toFixed(4),
  'validation loss': (v) => v.toFixed(4),
  'learning rate': sci,
};
const formatValue = (v: unknown, name: unknown): [string, string] => {
  const n = numberOf(v),
    key = String(name);
  return [n === null ? String(v) : (FORMAT[key] ?? String)(n), key];
};
const stepLabel = (l: unknown) => `step ${l}`;
const selectPoints = (s: AppState) => s.points;
const selectEvals = (s: AppState) => s.evals;
const OPTS = { intervalMs: CHART_INTERVAL_MS, phaseMs: CHART_PHASE_MS.loss };

export function LossChart() {
  const count = useStore((s) => s.points.length);
  const steps = useStore((s) => s.steps);
  return (
    <figure
      className="card chart"
      aria-label="Training loss and learning rate"
      data-testid="loss-chart"
      data-points={count}
    >
      <figcaption>Loss and learning rate</figcaption>
      <LossPlot steps={steps} />
      {count === 0 && <p className="hint chart-note">The training loss appears here once a run starts.</p>}
    </figure>
  );
}

/** Redraws at most every CHART_INTERVAL_MS, in a transition render (useStoreTransition). */
const LossPlot = memo(function LossPlot({ steps }: { steps: number }) {
  const points = useStoreTransition(selectPoints, OPTS);
  const evals = useStoreTransition(selectEvals, OPTS);
  const rows = useMemo(() => lossRows(points, evals), [points, evals]);
  const [zoom, setZoom] = useState<Zoom | null>(null);
  const brush = brushIndices(rows, zoom);
  const onBrush = useCallback(
    (r: { startIndex?: number; endIndex?: number }) => {
      const last = rows.length - 1,
        a = r.startIndex ?? 0,
        b = r.endIndex ?? last;
      setZoom(a <= 0 && b >= last ? null : { from: rows[a].step, to: b >= last ? null : rows[b].step });
    },
    [rows],
  );
  const hasVal = evals.length > 0;
  const last = points.at(-1);
  const label = last
    ? `Loss by step: ${last.loss.toFixed(3)} at step ${last.step}, learning rate ${sci(last.lr)}`
    : 'Loss by step: no steps yet';
  return (
    <div className="rechart" role="group" aria-label={label}>
      <LineChart responsive style={chartStyle()} data={rows} margin={MARGIN}>
        <CartesianGrid stroke={COLORS.grid} vertical={false} />
        <XAxis
          dataKey="step"
          type="number"
          domain={zoom ? ['dataMin', 'dataMax'] : [0, Math.max(steps, 1)]}
          allowDecimals={false}
          tick={TICK}
          height={34}
          label={xLabel('step')}
        />
        <YAxis
          yAxisId="loss"
          domain={['auto', 'auto']}
          tick={TICK}
          tickFormatter={sig3}
          width={56}
          label={yLabel('loss (nats/token)')}
        />
        <YAxis
          yAxisId="lr"
          orientation="right"
          domain={[0, 'auto']}
          tick={TICK}
          tickFormatter={sci}
          width={56}
          label={yLabel('learning rate', 'right')}
        />
        <Tooltip
          isAnimationActive={false}
          formatter={formatValue}
          labelFormatter={stepLabel}
          contentStyle={TOOLTIP_STYLE}
          itemSorter="dataKey"
        />
        <Legend verticalAlign="top" height={22} wrapperStyle={LEGEND_STYLE} itemSorter="dataKey" />
        <Line
          yAxisId="loss"
          className="loss-line"
          dataKey="loss"
          name="loss"
          stroke={COLORS.loss}
          strokeWidth={1.8}
          dot={false}
          isAnimationActive={false}
          connectNulls
          type="linear"
        />
        {hasVal && (
          <Line
            yAxisId="loss"
            dataKey="valLoss"
            name="validation loss"
            stroke={COLORS.val}
            strokeWidth={1.5}
            dot={{ r: 3 }}
            isAnimationActive={false}
            connectNulls
            type="linear"
          />
        )}
        <Line
          yAxisId="lr"
          dataKey="lr"
          name="learning rate"
          stroke={COLORS.lr}
          strokeWidth={1.2}
          strokeDasharray="4 3"
          dot={false}
          isAnimationActive={false}
          connectNulls
          type="stepAfter"
        />
        {rows.length > 1 && (
          <Brush
            dataKey="step"
            height={20}
            stroke={COLORS.loss}
            travellerWidth={8}
            startIndex={brush.startIndex}
            endIndex={brush.endIndex}
            onChange={onBrush}
            tickFormatter={stepLabel}
          />
        )}
      </LineChart>
    </div>
  );
});
