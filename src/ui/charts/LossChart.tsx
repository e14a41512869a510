// Training loss (left axis) and learning rate (right axis) by step.

import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { thinPoints } from '../../store/derived';
import { useStore } from '../../store';
import { sci } from '../format';
import { COLORS } from './colors';

export function LossChart() {
  const points = useStore((s) => s.points);
  const steps = useStore((s) => s.steps);
  const data = thinPoints(points, 400);
  const losses = data.map((p) => p.loss);
  const spread = losses.length ? Math.max(...losses) - Math.min(...losses) : 1;
  const digits = spread < 0.02 ? 4 : spread < 0.2 ? 3 : 2;
  return (
    <figure className="card chart" aria-label="Training loss and learning rate" data-testid="loss-chart" data-points={points.length}>
      <figcaption>Loss and learning rate</figcaption>
      {points.length === 0 ? <p className="empty">The training loss appears here once a run starts.</p> : (
        <ResponsiveContainer width="100%" height={220}>
          <LineChart data={data} margin={{ top: 8, right: 8, bottom: 0, left: 0 }}>
            <CartesianGrid stroke={COLORS.grid} vertical={false} />
            <XAxis dataKey="step" type="number" domain={[0, Math.max(steps, 1)]} tick={{ fontSize: 11 }} />
            <YAxis yAxisId="loss" tick={{ fontSize: 11 }} width={30 + 7 * digits} domain={['auto', 'auto']} tickFormatter={(v: number) => v.toFixed(digits)} />
            <YAxis yAxisId="lr" orientation="right" tick={{ fontSize: 11 }} width={48} tickFormatter={(v: number) => sci(v)} />
            <Tooltip formatter={(v, name) => (name === 'learning rate' ? sci(Number(v)) : Number(v).toFixed(4))} labelFormatter={(l) => `step ${l}`} />
            <Legend wrapperStyle={{ fontSize: 12 }} />
            <Line yAxisId="loss" type="linear" dataKey="loss" name="loss" stroke={COLORS.loss} dot={false} strokeWidth={1.8} isAnimationActive={false} />
            <Line yAxisId="lr" type="stepAfter" dataKey="lr" name="learning rate" stroke={COLORS.lr} dot={false} strokeWidth={1.2} strokeDasharray="4 3" isAnimationActive={false} />
          </LineChart>
        </ResponsiveContainer>
      )}
    </figure>
  );
}
