// The distribution of component importance (EMA of ||dW_i|| / ||dW||, log scale): live components sit right of the
// pruning threshold, pruned ones left of it. Dynamic rank only.

import { Bar, BarChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { useStore } from '../../store';
import { COLORS } from './colors';

/** Histogram of log10 scores in equal-width bins; zero scores (never live) go to the first bin. */
export function importanceBins(scores: number[], bins = 16): { bin: string; count: number }[] {
  const logs = scores.map((s) => Math.log10(Math.max(s, 1e-8)));
  const lo = Math.min(...logs), hi = Math.max(...logs), w = (hi - lo) / bins || 1;
  const counts = new Array<number>(bins).fill(0);
  for (const l of logs) counts[Math.min(bins - 1, Math.floor((l - lo) / w))]++;
  return counts.map((count, i) => ({ bin: `1e${(lo + (i + 0.5) * w).toFixed(1)}`, count }));
}

export function ImportanceChart() {
  const importance = useStore((s) => s.importance);
  const method = useStore((s) => s.run?.method);
  if (method !== 'dora') return null;
  return (
    <figure className="card chart" aria-label="Importance distribution" data-testid="importance-chart">
      <figcaption>Importance of components (EMA, log scale)</figcaption>
      {!importance ? <p className="empty">Scores appear after the first logged step.</p> : (
        <ResponsiveContainer width="100%" height={180}>
          <BarChart data={importanceBins(importance)} margin={{ top: 8, right: 8, bottom: 0, left: 0 }}>
            <CartesianGrid stroke={COLORS.grid} vertical={false} />
            <XAxis dataKey="bin" tick={{ fontSize: 10 }} interval={3} />
            <YAxis tick={{ fontSize: 11 }} width={32} allowDecimals={false} />
            <Tooltip formatter={(v) => [v, 'components']} />
            <Bar dataKey="count" fill={COLORS.live} isAnimationActive={false} />
          </BarChart>
        </ResponsiveContainer>
      )}
    </figure>
  );
}
