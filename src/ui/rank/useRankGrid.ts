// The heatmap's grid at the scrubbed step (or the latest one): the last snapshot at or before it.

import { useMemo } from 'react';
import { rankGrid, type RankGrid } from '../../store/derived';
import { useStore } from '../../store';

export function useRankGrid(): { grid: RankGrid; shownStep: number; R0: number } | null {
  const modules = useStore((s) => s.modules);
  const snapshots = useStore((s) => s.snapshots);
  const scrub = useStore((s) => s.scrubStep);
  const R0 = useStore((s) => s.R0);
  const step = useStore((s) => s.step);
  const order = useStore((s) => s.summary?.moduleTypes);
  return useMemo(() => {
    if (!modules.length || !snapshots.length) return null;
    let snap = snapshots[0];
    for (const s of snapshots) if (scrub === null || s.step <= scrub) snap = s;
    return { grid: rankGrid(modules, snap.live, order ?? []), shownStep: scrub ?? step, R0 };
  }, [modules, snapshots, scrub, R0, order, step]);
}
