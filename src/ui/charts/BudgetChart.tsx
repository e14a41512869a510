// Live components over all modules against the budget schedule's target (the cubic b(t) times the module count).

import { memo, useMemo } from 'react';
import { useStore, type AppState } from '../../store';
import { useStoreTransition } from '../useStoreTransition';
import { COLORS } from './colors';
import { MAX_POINTS, thinSteps } from './scale';
import { SvgLineChart, type AxisSpec, type Series } from './SvgLineChart';

const AXIS: AxisSpec = { format: (v) => String(v), zero: true, integer: true };
const count = (v: number) => String(v);
const selectPoints = (s: AppState) => s.points;
const selectSchedule = (s: AppState) => s.schedule;

export function BudgetChart() {
  // The plot mounts in a transition render, not in the task of the event that starts the run (see LossChart).
  const schedule = useStoreTransition(selectSchedule);
  const steps = useStore((s) => s.steps);
  const method = useStore((s) => s.run?.method);
  return (
    <figure className="card chart" aria-label="Live components and budget" data-testid="budget-chart">
      <figcaption>Live components vs budget{method === 'lora' ? ' (LoRA: fixed)' : ''}</figcaption>
      {schedule.length === 0 ? <p className="empty">The budget schedule appears here once a run starts.</p> : <BudgetPlot schedule={schedule} steps={steps} />}
    </figure>
  );
}

/** Redraws in a transition render after each training step's store update (see LossChart). */
const BudgetPlot = memo(function BudgetPlot({ schedule, steps }: { schedule: AppState['schedule']; steps: number }) {
  const points = useStoreTransition(selectPoints);
  const target = useMemo(() => thinSteps(schedule.map((p) => ({ x: p.step, y: p.live })), MAX_POINTS), [schedule]);
  const series = useMemo((): Series[] => [
    { key: 'live', name: 'live', color: COLORS.live, width: 3, opacity: 0.75, step: true, points: thinSteps(points.map((p) => ({ x: p.step, y: p.live })), MAX_POINTS), format: count },
    { key: 'target', name: 'target b(t)·M', color: COLORS.target, width: 1.5, dash: '4 4', step: true, points: target, format: count },
  ], [points, target]);
  const last = points.at(-1);
  return (
    <SvgLineChart series={series} xMax={steps} left={AXIS} height={220}
      label={last ? `Live components: ${last.live} at step ${last.step}, target ${last.target}` : `Budget schedule over ${steps} steps`} />
  );
});
