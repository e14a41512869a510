// The heatmap's grid at the scrubbed step (or the latest one): the last snapshot at or before it. The grid object
// only changes when the shown snapshot does, so the heatmap (memoised) does not redraw on every training step.

import { useMemo } from 'react';
import { type AppState, useStore } from '../../store';
import { type RankGrid, rankGrid } from '../../store/derived';
import { useStoreTransition } from '../useStoreTransition';

type Snapshot = AppState['snapshots'][number];

/** The last snapshot at or before `scrub` (the latest for null). */
function snapshotAt(snapshots: Snapshot[], scrub: number | null): Snapshot | undefined {
  if (scrub === null) return snapshots.at(-1);
  let shown = snapshots[0];
  for (const s of snapshots) if (s.step <= scrub) shown = s;
  return shown;
}

/** Live components in the shown snapshot (a number, so a store selector that changes only when it does). */
export const shownLive = (s: AppState): number =>
  snapshotAt(s.snapshots, s.scrubStep)?.live.reduce((a, b) => a + b, 0) ?? 0;

/** The shown grid read once from the store (for an export), without subscribing to it. */
export function rankViewNow(): { grid: RankGrid; shownStep: number; R0: number } | null {
  const s = useStore.getState();
  const snap = snapshotAt(s.snapshots, s.scrubStep);
  return s.modules.length && snap
    ? { grid: rankGrid(s.modules, snap.live, s.summary?.moduleTypes ?? []), shownStep: s.scrubStep ?? s.step, R0: s.R0 }
    : null;
}

const selectSnapshots = (s: AppState) => s.snapshots;
const selectModules = (s: AppState) => s.modules;

/** The shown grid; a new allocation arrives in a transition render after its training step (useStoreTransition). */
export function useRankGrid(): RankGrid | null {
  const snapshots = useStoreTransition(selectSnapshots);
  const modules = useStoreTransition(selectModules);
  const scrub = useStore((s) => s.scrubStep);
  const order = useStore((s) => s.summary?.moduleTypes);
  const snap = useMemo(() => snapshotAt(snapshots, scrub), [snapshots, scrub]);
  return useMemo(
    () => (modules.length && snap ? rankGrid(modules, snap.live, order ?? []) : null),
    [modules, snap, order],
  );
}
