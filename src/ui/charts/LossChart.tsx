// Training loss (left axis), validation loss when the run evaluated (left axis) and learning rate (right axis) by
// step, with a brush to zoom into a step range, and the loss curves of the runs chosen in the run list (one colour
// each, named in the legend). Mounted with empty axes on page load, so a run only updates it.

import { memo, useCallback, useMemo, useState } from 'react';
import { Brush, CartesianGrid, Legend, Line, LineChart, Tooltip, XAxis, YAxis } from 'recharts';
import { type AppState, useStore } from '../../store';
import type { RunRecord } from '../../store/runs';
import type { MetricPoint } from '../../store/trainingSlice';
import type { EvalResult } from '../../worker/protocol';
import { sci } from '../format';
import { useStoreTransition } from '../useStoreTransition';
import { COLORS, runColor } from './colors';
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
  TICK_INTERVAL,
  TOOLTIP_STYLE,
  xLabel,
  yLabel,
} from './rechartsParts';

export interface LossRow {
  step: number;
  loss?: number;
  lr?: number;
  valLoss?: number;
  /** Overlaid runs' losses, by run id. */
  [run: `run-${string}`]: number | undefined;
}

/** A stored run's loss curve drawn beside the current run's. */
export interface Overlay {
  id: string;
  name: string;
  color: string;
  loss: readonly { step: number; loss: number }[];
}

/**
 * Chart rows by step: the downsampled loss and learning rate (held until it changes, so every row has one), every
 * evaluation's loss at its step, and each overlaid run's loss (downsampled) under its run id.
 */
export function lossRows(
  points: readonly MetricPoint[],
  evals: readonly EvalResult[],
  max = MAX_POINTS,
  overlays: readonly Overlay[] = [],
): LossRow[] {
  const rows = new Map<number, LossRow>();
  const row = (step: number) => {
    let r = rows.get(step);
    if (!r) rows.set(step, (r = { step }));
    return r;
  };
  for (const p of downsampleMinMax(points, max, (q) => q.loss)) row(p.step).loss = p.loss;
  for (const p of downsampleSteps(points, max, (q) => q.lr)) row(p.step).lr = p.lr;
  for (const e of evals) row(e.step).valLoss = e.loss;
  for (const o of overlays) {
    const key = o.id as `run-${string}`;
    for (const p of downsampleMinMax(o.loss, max, (q) => q.loss)) row(p.step)[key] = p.loss;
  }
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
// Overlaid runs are named by their run names: losses.
const lossText = (v: number) => v.toFixed(4);
const formatValue = (v: unknown, name: unknown): [string, string] => {
  const n = numberOf(v),
    key = String(name);
  return [n === null ? String(v) : (FORMAT[key] ?? lossText)(n), key];
};
const stepLabel = (l: unknown) => `step ${l}`;
const selectPoints = (s: AppState) => s.points;
const selectSteps = (s: AppState) => s.steps;
const selectEvals = (s: AppState) => s.evals;
const selectRuns = (s: AppState) => s.runs;
const selectOverlayIds = (s: AppState) => s.overlayRunIds;
const selectCurrentRun = (s: AppState) => s.currentRunId;
const OPTS = { intervalMs: CHART_INTERVAL_MS, phaseMs: CHART_PHASE_MS.loss };
// Props recharts compares by identity are made once, so a redraw with new rows changes nothing else.
const X_LABEL = xLabel('step');
const LOSS_LABEL = yLabel('loss (nats/token)');
const LR_LABEL = yLabel('learning rate', 'right');
const LOSS_DOMAIN = ['auto', 'auto'] as const;
const LR_DOMAIN = [0, 'auto'] as const;
const ZOOM_DOMAIN = ['dataMin', 'dataMax'] as const;
const STYLE = chartStyle();

/** The legend's height for `items` entries: a fixed one (recharts need not measure it), a line per three entries. */
const legendHeight = (items: number) => 22 * Math.ceil(items / 3);

/** The overlaid runs' curves (the current run is drawn as "loss"), coloured by their place in the run list. */
export function overlaysOf(runs: readonly RunRecord[], ids: readonly string[], current: string | null): Overlay[] {
  return runs.flatMap((r, i) =>
    ids.includes(r.id) && r.id !== current && r.loss.length
      ? [{ id: r.id, name: r.name, color: runColor(i), loss: r.loss }]
      : [],
  );
}

export function LossChart() {
  const count = useStore((s) => s.points.length);
  return (
    <figure
      className="card chart"
      aria-label="Training loss and learning rate"
      data-testid="loss-chart"
      data-points={count}
    >
      <figcaption>Loss and learning rate</figcaption>
      <LossPlot />
      {count === 0 && <p className="hint chart-note">The training loss appears here once a run starts.</p>}
    </figure>
  );
}

/**
 * Redraws at most every CHART_INTERVAL_MS, in a transition render (useStoreTransition); the run's step count too,
 * so a run's start redraws it in its own task, not in the task of the store update.
 */
const LossPlot = memo(function LossPlot() {
  const steps = useStoreTransition(selectSteps, OPTS);
  const points = useStoreTransition(selectPoints, OPTS);
  const evals = useStoreTransition(selectEvals, OPTS);
  const runs = useStoreTransition(selectRuns, OPTS);
  const overlayIds = useStoreTransition(selectOverlayIds, OPTS);
  const current = useStoreTransition(selectCurrentRun, OPTS);
  const overlays = useMemo(() => overlaysOf(runs, overlayIds, current), [runs, overlayIds, current]);
  const rows = useMemo(() => lossRows(points, evals, MAX_POINTS, overlays), [points, evals, overlays]);
  const lastStep = overlays.reduce((n, o) => Math.max(n, o.loss.at(-1)?.step ?? 0), steps);
  const fullDomain = useMemo(() => [0, Math.max(lastStep, 1)], [lastStep]);
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
      <LineChart responsive style={STYLE} data={rows} margin={MARGIN}>
        <CartesianGrid stroke={COLORS.grid} vertical={false} />
        <XAxis
          dataKey="step"
          type="number"
          domain={zoom ? ZOOM_DOMAIN : fullDomain}
          allowDecimals={false}
          tick={TICK}
          interval={TICK_INTERVAL}
          height={34}
          label={X_LABEL}
        />
        <YAxis
          yAxisId="loss"
          domain={LOSS_DOMAIN}
          tick={TICK}
          interval={TICK_INTERVAL}
          tickFormatter={sig3}
          width={56}
          label={LOSS_LABEL}
        />
        <YAxis
          yAxisId="lr"
          orientation="right"
          domain={LR_DOMAIN}
          tick={TICK}
          interval={TICK_INTERVAL}
          tickFormatter={sci}
          width={56}
          label={LR_LABEL}
        />
        <Tooltip
          isAnimationActive={false}
          formatter={formatValue}
          labelFormatter={stepLabel}
          contentStyle={TOOLTIP_STYLE}
          itemSorter="dataKey"
        />
        <Legend
          verticalAlign="top"
          height={legendHeight(3 + overlays.length)}
          wrapperStyle={LEGEND_STYLE}
          itemSorter="dataKey"
        />
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
        {overlays.map((o) => (
          <Line
            key={o.id}
            yAxisId="loss"
            className="run-line"
            dataKey={o.id}
            name={o.name}
            stroke={o.color}
            strokeWidth={1.5}
            dot={false}
            isAnimationActive={false}
            connectNulls
            type="linear"
          />
        ))}
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
