// Live components over all modules against the budget schedule's target (the cubic b(t) times the module count).

import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { thinPoints } from '../../store/derived';
import { useStore } from '../../store';
import { COLORS } from './colors';

export function BudgetChart() {
  const schedule = useStore((s) => s.schedule);
  const points = useStore((s) => s.points);
  const steps = useStore((s) => s.steps);
  const method = useStore((s) => s.run?.method);
  const live = thinPoints(points, 400).map((p) => ({ step: p.step, live: p.live }));
  return (
    <figure className="card chart" aria-label="Live components and budget" data-testid="budget-chart">
      <figcaption>Live components vs budget{method === 'lora' ? ' (LoRA: fixed)' : ''}</figcaption>
      {schedule.length === 0 ? <p className="empty">The budget schedule appears here once a run starts.</p> : (
        <ResponsiveContainer width="100%" height={220}>
          <LineChart margin={{ top: 8, right: 8, bottom: 0, left: 0 }}>
            <CartesianGrid stroke={COLORS.grid} vertical={false} />
            <XAxis dataKey="step" type="number" domain={[0, Math.max(steps, 1)]} tick={{ fontSize: 11 }} allowDuplicatedCategory={false} />
            <YAxis tick={{ fontSize: 11 }} width={40} domain={[0, 'auto']} allowDecimals={false} />
            <Tooltip labelFormatter={(l) => `step ${l}`} />
            <Legend wrapperStyle={{ fontSize: 12 }} />
            <Line data={live} type="stepAfter" dataKey="live" name="live" stroke={COLORS.live} strokeWidth={3} strokeOpacity={0.75} dot={false} isAnimationActive={false} />
            <Line data={schedule} type="stepAfter" dataKey="live" name="target b(t)·M" stroke={COLORS.target} strokeWidth={1.5} strokeDasharray="4 4" dot={false} isAnimationActive={false} />
          </LineChart>
        </ResponsiveContainer>
      )}
    </figure>
  );
}
