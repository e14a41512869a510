// The rank allocation heatmap with a step scrubber to replay its history, and the prune log beside it.

import { memo, useId } from 'react';
import { type AppState, useStore } from '../../store';
import { int } from '../format';
import { useStoreTransition } from '../useStoreTransition';
import { PruneLog } from './PruneLog';
import { RankHeatmap } from './RankHeatmap';
import { shownLive, useRankGrid } from './useRankGrid';

const selectModules = (s: AppState) => s.modules;
const selectHasRun = (s: AppState) => s.modules.length > 0 && s.snapshots.length > 0;

export function RankPanel() {
  const id = useId();
  // Mounting the heatmap and the prune log is the heaviest render of a run: a transition, not the 'started' event's task.
  const hasRun = useStoreTransition(selectHasRun);
  const R0 = useStore((s) => s.R0);
  const step = useStore((s) => s.step);
  const scrub = useStore((s) => s.scrubStep);
  const setScrub = useStore((s) => s.setScrubStep);
  const budgetTotal = useStore((s) => s.budgetTotal);
  const lora = useStore((s) => s.run?.method === 'lora');
  const live = useStore(shownLive);
  return (
    <section className="card rank" aria-label="Rank allocation">
      <div className="card-head">
        <h2>Rank allocation</h2>
        {hasRun && (
          <span className="hint">
            {int(live)} live · {lora ? `r = ${R0}` : `target at the end ${int(budgetTotal)} · R0 = ${R0}`}
          </span>
        )}
      </div>
      {!hasRun ? (
        <p className="empty">Live components per module and layer appear here once a run starts.</p>
      ) : (
        <div className="rank-body">
          <div>
            <ShownHeatmap R0={R0} />
            <div className="scrubber">
              <label htmlFor={id}>Replay step</label>
              <input
                id={id}
                type="range"
                min={0}
                max={Math.max(step, 1)}
                value={scrub ?? step}
                onChange={(e) => setScrub(Number(e.target.value) >= step ? null : Number(e.target.value))}
              />
              <span className="mono">{scrub === null ? `live (step ${int(step)})` : `step ${int(scrub)}`}</span>
              {scrub !== null && (
                <button type="button" className="link" onClick={() => setScrub(null)}>
                  Follow live
                </button>
              )}
            </div>
          </div>
          <PruneLog />
        </div>
      )}
    </section>
  );
}

/** The heatmap apart from the panel: the panel re-renders every step (step counter), the heatmap in a transition. */
const ShownHeatmap = memo(function ShownHeatmap({ R0 }: { R0: number }) {
  const grid = useRankGrid();
  const modules = useStoreTransition(selectModules);
  return grid && <RankHeatmap grid={grid} R0={R0} modules={modules} />;
});
