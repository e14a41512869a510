// The rank allocation as in the paper's Figure 2: rows are module types, columns are layers, each cell the number
// of live components, coloured from 0 (pale) to R0 (deep).

import { memo } from 'react';
import type { RankGrid } from '../../store/derived';
import { heatColor, heatInk } from '../charts/colors';

/** Memoised: it redraws when the shown allocation changes, not on every training step. */
export const RankHeatmap = memo(function RankHeatmap({ grid, R0 }: { grid: RankGrid; R0: number }) {
  const total = grid.cells.flat().reduce<number>((a, v) => a + (v ?? 0), 0);
  return (
    <div className="table-scroll">
      <table className="heatmap" aria-label="Rank allocation" data-testid="heatmap" data-total={total}>
        <thead>
          <tr>
            <th scope="col" className="corner">module \ layer</th>
            {Array.from({ length: grid.layers }, (_, l) => <th key={l} scope="col">{l}</th>)}
          </tr>
        </thead>
        <tbody>
          {grid.rows.map((row, r) => (
            <tr key={row}>
              <th scope="row" className="mono">{row}</th>
              {grid.cells[r].map((v, l) => v === null
                ? <td key={l} className="na" aria-label={`${row} layer ${l}: not adapted`}>·</td>
                : (
                  <td key={l} data-live={v} aria-label={`${row} layer ${l}: ${v} of ${R0} live`} style={{ background: heatColor(v, R0), color: heatInk(v, R0) }}>
                    {v}
                  </td>
                ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
});
