// The distribution of component importance (EMA of ||dW_i|| / ||dW||, log scale): live components sit right of the
// pruning threshold, pruned ones left of it. Dynamic rank only.

import { memo, useMemo } from 'react';
import { useStore, type AppState } from '../../store';
import { useStoreTransition } from '../useStoreTransition';
import { SvgBarChart } from './SvgBarChart';

/** Histogram of log10 scores in equal-width bins; zero scores (never live) go to the first bin. */
export function importanceBins(scores: number[], bins = 16): { bin: string; count: number }[] {
  const logs = scores.map((s) => Math.log10(Math.max(s, 1e-8)));
  let lo = Infinity, hi = -Infinity;
  for (const l of logs) { if (l < lo) lo = l; if (l > hi) hi = l; }
  const w = (hi - lo) / bins || 1;
  const counts = new Array<number>(bins).fill(0);
  for (const l of logs) counts[Math.min(bins - 1, Math.floor((l - lo) / w))]++;
  return counts.map((count, i) => ({ bin: `1e${(lo + (i + 0.5) * w).toFixed(1)}`, count }));
}

const selectImportance = (s: AppState) => s.importance;
const selectHas = (s: AppState) => s.importance !== null;

export function ImportanceChart() {
  const has = useStoreTransition(selectHas);
  const method = useStore((s) => s.run?.method);
  if (method !== 'dora') return null;
  return (
    <figure className="card chart" aria-label="Importance distribution" data-testid="importance-chart">
      <figcaption>Importance of components (EMA, log scale)</figcaption>
      {!has ? <p className="empty">Scores appear after the first logged step.</p> : <ImportancePlot />}
    </figure>
  );
}

/** Redraws in a transition render after each training step's store update (see LossChart). */
const ImportancePlot = memo(function ImportancePlot() {
  const importance = useStoreTransition(selectImportance);
  const bars = useMemo(() => (importance ? importanceBins(importance).map((b) => ({ label: b.bin, value: b.count })) : []), [importance]);
  return importance && (
    <SvgBarChart bars={bars} height={180} labelEvery={4} unit="components"
      label={`Importance of ${importance.length} components, ${bars.length} log-scale bins`} />
  );
});
