// The runs of this page side by side: the run list (which curves the loss chart overlays), the paper's comparison
// (LoRA at the dynamic-rank run's parameter count, queued after it), and two runs' final rank maps next to each other.

import { memo, useId, useMemo } from 'react';
import { type AppState, useStore } from '../../store';
import { cancelQueued, compareWithLora } from '../../store/actions';
import { rankGrid } from '../../store/derived';
import type { RunRecord } from '../../store/runs';
import { runColor } from '../charts/colors';
import { int } from '../format';
import { RankHeatmap } from '../rank/RankHeatmap';

const sizeOf = (r: RunRecord) => (r.method === 'dora' ? `b(T) = ${r.budget}` : `r = ${r.budget}`);
const methodOf = (r: RunRecord) => (r.method === 'dora' ? 'dynamic rank' : 'LoRA');

export function RunsPanel() {
  const runs = useStore((s) => s.runs);
  if (!runs.length) return null;
  return (
    <section className="card runs" aria-label="Runs">
      <div className="card-head">
        <h2>Runs side by side</h2>
        <span className="hint">Tick a run to overlay its loss curve on the loss chart.</span>
      </div>
      <RunTable runs={runs} />
      <LoraComparison />
      <CompareMaps runs={runs} />
    </section>
  );
}

const RunTable = memo(function RunTable({ runs }: { runs: RunRecord[] }) {
  const overlay = useStore((s) => s.overlayRunIds);
  const current = useStore((s) => s.currentRunId);
  const toggle = useStore((s) => s.toggleOverlay);
  return (
    <div className="table-scroll">
      <table className="run-table" aria-label="Run list">
        <thead>
          <tr>
            <th scope="col">loss chart</th>
            <th scope="col">run</th>
            <th scope="col">method</th>
            <th scope="col">budget / rank</th>
            <th scope="col" title="Parameters trained during the run (every R0 component for dynamic rank)">
              trainable params
            </th>
            <th scope="col" title="Adapter parameters at the final budget: b(T)·(in+out+1) or r·(in+out) per module">
              params at the final budget
            </th>
            <th scope="col">final loss</th>
            <th scope="col">state</th>
          </tr>
        </thead>
        <tbody>
          {runs.map((r, i) => (
            <tr key={r.id} data-run={r.id} data-method={r.method} data-budget={r.budget}>
              <td>
                {r.id === current ? (
                  <span className="hint" title="The current run is always drawn (as loss)">
                    current
                  </span>
                ) : (
                  <input
                    type="checkbox"
                    aria-label={`Overlay ${r.name}`}
                    checked={overlay.includes(r.id)}
                    onChange={() => toggle(r.id)}
                    style={{ accentColor: runColor(i) }}
                  />
                )}
              </td>
              <td>{r.name}</td>
              <td>{methodOf(r)}</td>
              <td className="mono">{sizeOf(r)}</td>
              <td className="mono">{int(r.trainable)}</td>
              <td className="mono" data-testid="final-params">
                {r.finalParams === null ? '–' : int(r.finalParams)}
              </td>
              <td className="mono">{r.loss.at(-1)?.loss.toFixed(3) ?? '–'}</td>
              <td>{r.phase}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
});

const selectCurrent = (s: AppState) => s.runs.find((r) => r.id === s.currentRunId) ?? null;

/** The one button of the paper's comparison, and the two parameter counts it matched. */
function LoraComparison() {
  const current = useStore(selectCurrent);
  const queued = useStore((s) => s.queuedRun);
  const last = useStore((s) => s.lastMatch);
  const runs = useStore((s) => s.runs);
  const why =
    current === null
      ? 'Train a dynamic-rank run first.'
      : current.method !== 'dora'
        ? 'The current run is LoRA; compare a dynamic-rank run.'
        : current.dims === null
          ? 'The module sizes of this run are unknown.'
          : queued
            ? 'A comparison run is already queued.'
            : null;
  const forRun = last && runs.find((r) => r.id === last.forRunId);
  return (
    <div className="lora-compare">
      <button
        type="button"
        disabled={why !== null}
        title={why ?? undefined}
        onClick={() => compareWithLora()}
        data-testid="compare-lora"
      >
        Compare with LoRA at the same budget
      </button>
      {last && forRun && (
        <p className="hint" data-testid="lora-match" data-rank={last.match.rank}>
          {forRun.name}: <span className="mono">{int(last.match.doraParams)}</span> parameters at b(T) = {forRun.budget}{' '}
          (b(T)·(in+out+1) per module) · LoRA r = {last.match.rank}:{' '}
          <span className="mono">{int(last.match.loraParams)}</span> parameters (r·(in+out) per module).
        </p>
      )}
      {queued && (
        <p className="hint" data-testid="lora-queued">
          Queued: {queued.name}, starts when the current run is done or stopped.{' '}
          <button type="button" className="link" onClick={cancelQueued}>
            Cancel
          </button>
        </p>
      )}
    </div>
  );
}

/** Two runs' final rank maps side by side (stored maps: the heatmap above follows the current run). */
function CompareMaps({ runs }: { runs: RunRecord[] }) {
  const ids = useStore((s) => s.compareIds);
  const setCompare = useStore((s) => s.setCompare);
  const order = useStore((s) => s.summary?.moduleTypes);
  const a = useId(),
    b = useId();
  if (runs.length < 2) return null;
  return (
    <div className="runs-compare" role="group" aria-label="Compare rank maps" data-testid="compare-maps">
      <h3>Compare rank maps</h3>
      <div className="runs-compare-grid">
        {([0, 1] as const).map((slot) => {
          const run = runs.find((r) => r.id === ids[slot]) ?? null;
          const id = slot === 0 ? a : b;
          return (
            <div key={slot} className="runs-compare-side">
              <label htmlFor={id}>{slot === 0 ? 'Left' : 'Right'}</label>{' '}
              <select id={id} value={run?.id ?? ''} onChange={(e) => setCompare(slot, e.target.value || null)}>
                <option value="">Choose a run</option>
                {runs.map((r) => (
                  <option key={r.id} value={r.id}>
                    {r.name}
                  </option>
                ))}
              </select>
              {run && <StoredMap run={run} order={order} slot={slot} />}
            </div>
          );
        })}
      </div>
    </div>
  );
}

const StoredMap = memo(function StoredMap({
  run,
  order,
  slot,
}: {
  run: RunRecord;
  order: string[] | undefined;
  slot: 0 | 1;
}) {
  const grid = useMemo(
    () => (run.rankMap ? rankGrid(run.modules, run.rankMap, order ?? []) : null),
    [run.modules, run.rankMap, order],
  );
  if (!grid) return <p className="empty">No rank map yet.</p>;
  const total = run.rankMap?.reduce((x, y) => x + y, 0) ?? 0;
  return (
    <>
      <p className="hint">
        {methodOf(run)} {sizeOf(run)} · {int(total)} live, the allocation since step {int(run.rankStep)} · R0 = {run.R0}
      </p>
      <RankHeatmap
        grid={grid}
        R0={run.R0}
        modules={run.modules}
        testId={`compare-heatmap-${slot}`}
        label={`Rank allocation of ${run.name}`}
        scores={false}
      />
    </>
  );
});
