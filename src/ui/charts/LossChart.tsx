// Training loss (left axis) and learning rate (right axis) by step.

import { memo, useMemo } from 'react';
import { useStore, type AppState } from '../../store';
import { thinPoints } from '../../store/derived';
import type { MetricPoint } from '../../store/trainingSlice';
import { sci } from '../format';
import { useStoreTransition } from '../useStoreTransition';
import { COLORS } from './colors';
import { decimalsOf, MAX_POINTS, thinSteps } from './scale';
import { SvgLineChart, type AxisSpec, type Series } from './SvgLineChart';

const LOSS_AXIS: AxisSpec = { format: (v, step) => v.toFixed(decimalsOf(step)) };
const LR_AXIS: AxisSpec = { format: (v) => sci(v), zero: true };
const selectPoints = (s: AppState) => s.points;
const selectHasPoints = (s: AppState) => s.points.length > 0;

function lossSeries(points: MetricPoint[]): Series[] {
  return [
    { key: 'loss', name: 'loss', color: COLORS.loss, width: 1.8, points: thinPoints(points, MAX_POINTS).map((p) => ({ x: p.step, y: p.loss })), format: (v) => v.toFixed(4) },
    { key: 'lr', name: 'learning rate', color: COLORS.lr, width: 1.2, dash: '4 3', step: true, axis: 'right',
      points: thinSteps(points.map((p) => ({ x: p.step, y: p.lr })), MAX_POINTS), format: sci },
  ];
}

export function LossChart() {
  const count = useStore((s) => s.points.length);
  const steps = useStore((s) => s.steps);
  // A chart's first render is its heaviest: it mounts in a transition render, like its redraws, so the task that
  // brings the first point stays short.
  const has = useStoreTransition(selectHasPoints);
  return (
    <figure className="card chart" aria-label="Training loss and learning rate" data-testid="loss-chart" data-points={count}>
      <figcaption>Loss and learning rate</figcaption>
      {!has ? <p className="empty">The training loss appears here once a run starts.</p> : <LossPlot steps={steps} />}
    </figure>
  );
}

/** The chart itself redraws in a transition render after each training step's store update (useStoreTransition). */
const LossPlot = memo(function LossPlot({ steps }: { steps: number }) {
  const points = useStoreTransition(selectPoints);
  const series = useMemo(() => lossSeries(points), [points]);
  const last = points.at(-1);
  return last ? (
    <SvgLineChart series={series} xMax={steps} left={LOSS_AXIS} right={LR_AXIS} height={220}
      label={`Loss by step: ${last.loss.toFixed(3)} at step ${last.step}, learning rate ${sci(last.lr)}`} />
  ) : null;
});
