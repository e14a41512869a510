// The rank allocation heatmap with a step scrubber to replay its history, and the prune log beside it.

import { useId } from 'react';
import { useStore } from '../../store';
import { int } from '../format';
import { PruneLog } from './PruneLog';
import { RankHeatmap } from './RankHeatmap';
import { useRankGrid } from './useRankGrid';

export function RankPanel() {
  const id = useId();
  const view = useRankGrid();
  const step = useStore((s) => s.step);
  const scrub = useStore((s) => s.scrubStep);
  const setScrub = useStore((s) => s.setScrubStep);
  const budgetTotal = useStore((s) => s.budgetTotal);
  const lora = useStore((s) => s.run?.method === 'lora');
  const live = view ? view.grid.cells.flat().reduce<number>((a, v) => a + (v ?? 0), 0) : 0;
  return (
    <section className="card rank" aria-label="Rank allocation">
      <div className="card-head">
        <h2>Rank allocation</h2>
        {view && <span className="hint">{int(live)} live · {lora ? `r = ${view.R0}` : `target at the end ${int(budgetTotal)} · R0 = ${view.R0}`}</span>}
      </div>
      {!view ? <p className="empty">Live components per module and layer appear here once a run starts.</p> : (
        <div className="rank-body">
          <div>
            <RankHeatmap grid={view.grid} R0={view.R0} />
            <div className="scrubber">
              <label htmlFor={id}>Replay step</label>
              <input id={id} type="range" min={0} max={Math.max(step, 1)} value={scrub ?? step} onChange={(e) => setScrub(Number(e.target.value) >= step ? null : Number(e.target.value))} />
              <span className="mono">{scrub === null ? `live (step ${int(step)})` : `step ${int(scrub)}`}</span>
              {scrub !== null && <button type="button" className="link" onClick={() => setScrub(null)}>Follow live</button>}
            </div>
          </div>
          <PruneLog />
        </div>
      )}
    </section>
  );
}
