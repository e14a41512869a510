// The rank allocation as in the paper's Figure 2: rows are module types, columns are layers, each cell the number
// of live components, coloured from 0 (pale) to R0 (deep). Hovering a cell shows its module path, live / R0 and
// (dynamic rank) its components' importance.

import { memo, type PointerEvent, useMemo, useRef, useState } from 'react';
import type { AppState } from '../../store';
import type { RankGrid } from '../../store/derived';
import { heatColor, heatInk } from '../charts/colors';
import { CHART_INTERVAL_MS } from '../charts/rechartsParts';
import { useStoreTransition } from '../useStoreTransition';
import { cellModuleIndex, cellTip } from './cellTip';

interface Hover {
  r: number;
  l: number;
  /** The tooltip's position in the heatmap box, in px. */
  left: number;
  top: number;
}

/**
 * Memoised: it redraws when the shown allocation changes, not on every training step. `scores: false` for a stored
 * run's map (the compare view): its cell tips leave out the importance, which belongs to the current run.
 */
export const RankHeatmap = memo(function RankHeatmap({
  grid,
  R0,
  modules,
  testId = 'heatmap',
  label = 'Rank allocation',
  scores = true,
}: {
  grid: RankGrid;
  R0: number;
  modules: string[];
  testId?: string;
  label?: string;
  scores?: boolean;
}) {
  const total = grid.cells.flat().reduce<number>((a, v) => a + (v ?? 0), 0);
  const index = useMemo(() => cellModuleIndex(modules, grid), [modules, grid]);
  const box = useRef<HTMLDivElement>(null);
  const [hover, setHover] = useState<Hover | null>(null);
  // One listener for the whole table: the cell under the pointer carries its row and layer.
  const onOver = (e: PointerEvent<HTMLTableElement>) => {
    const td = (e.target as Element).closest<HTMLTableCellElement>('td[data-r]');
    const outer = box.current;
    if (!td || !outer) {
      setHover(null);
      return;
    }
    const r = Number(td.dataset.r),
      l = Number(td.dataset.l);
    if (hover?.r === r && hover.l === l) return;
    const a = td.getBoundingClientRect(),
      b = outer.getBoundingClientRect();
    setHover({ r, l, left: a.left - b.left + outer.scrollLeft, top: a.bottom - b.top + 4 });
  };
  const i = hover ? (index[hover.r]?.[hover.l] ?? -1) : -1;
  const live = hover ? grid.cells[hover.r]?.[hover.l] : null;
  return (
    <div className="heatmap-box" ref={box}>
      <div className="table-scroll">
        <table
          className="heatmap"
          aria-label={label}
          data-testid={testId}
          data-total={total}
          onPointerOver={onOver}
          onPointerLeave={() => setHover(null)}
        >
          <thead>
            <tr>
              <th scope="col" className="corner">
                module \ layer
              </th>
              {Array.from({ length: grid.layers }, (_, l) => (
                <th key={l} scope="col">
                  {l}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {grid.rows.map((row, r) => (
              <tr key={row}>
                <th scope="row" className="mono">
                  {row}
                </th>
                {grid.cells[r].map((v, l) =>
                  v === null ? (
                    <td key={l} className="na" aria-label={`${row} layer ${l}: not adapted`}>
                      ·
                    </td>
                  ) : (
                    <td
                      key={l}
                      data-live={v}
                      data-r={r}
                      data-l={l}
                      aria-label={`${modules[index[r][l]] ?? row} (layer ${l}): ${v} of ${R0} live`}
                      style={{ background: heatColor(v, R0), color: heatInk(v, R0) }}
                    >
                      {v}
                    </td>
                  ),
                )}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {hover && i >= 0 && live !== null && live !== undefined && (
        <CellTooltip
          module={modules[i]}
          index={i}
          live={live}
          R0={R0}
          left={hover.left}
          top={hover.top}
          scores={scores}
          testId={`${testId}-tip`}
        />
      )}
    </div>
  );
});

const selectImportance = (s: AppState) => s.importance;
const OPTS = { intervalMs: CHART_INTERVAL_MS };

/** Mounted only while a cell is hovered, so the scores it follows cost nothing otherwise. */
function CellTooltip(o: {
  module: string;
  index: number;
  live: number;
  R0: number;
  left: number;
  top: number;
  scores: boolean;
  testId: string;
}) {
  const importance = useStoreTransition(selectImportance, OPTS);
  const tip = cellTip({ ...o, importance: o.scores ? importance : null });
  return (
    <div className="chart-tip cell-tip" role="tooltip" data-testid={o.testId} style={{ left: o.left, top: o.top }}>
      <div className="mono">
        <strong>{tip.path}</strong>
      </div>
      <div>{tip.live}</div>
      {tip.importance && (
        <div className="cell-importance">
          importance (EMA, latest step): <span className="mono">{tip.importance.join(' · ')}</span>
        </div>
      )}
    </div>
  );
}
