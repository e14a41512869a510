// The first rows of the data set and the rows that could not be read, with their line numbers.

import { memo } from 'react';
import type { DataPreview } from '../../store/dataSlice';
import type { BadRowReport } from '../../train/data/errors';
import { int } from '../format';

/**
 * Memoised: the set-up panel re-renders when a run starts (its fields lock), the preview only with new data. A
 * classifier also skips rows without a text or a label, so `classifier` shows those among the skipped rows; instruction
 * tuning passes its own (`skipped`: unreadable rows, rows that are not examples of the format, rejected ones).
 */
export const DataPreviewTable = memo(function DataPreviewTable({
  preview,
  classifier,
  skipped: given = null,
}: {
  preview: DataPreview;
  classifier: boolean;
  skipped?: BadRowReport | null;
}) {
  const p = preview;
  const read = { count: p.badCount, first: p.badRows };
  const skipped = given ?? (classifier && p.classificationSkipped ? p.classificationSkipped : read);
  const what =
    p.format === 'text'
      ? `${int(p.characters)} characters, ${int(p.rowCount)} lines`
      : `${int(p.rowCount)} row${p.rowCount === 1 ? '' : 's'} · ${p.columns.length} column${p.columns.length === 1 ? '' : 's'}`;
  return (
    <div className="preview">
      <p className="caption">
        <strong>{p.fileName}</strong> · {p.format.toUpperCase()} · {what}
        {p.labels ? ` · labels ${p.labels.join(', ')}` : ''}
      </p>
      <div className="table-scroll">
        <table aria-label="Data preview">
          <thead>
            <tr>
              {p.columns.map((c) => (
                <th key={c} scope="col">
                  {c}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {p.rows.map((r, i) => (
              <tr key={i}>
                {r.map((cell, j) => (
                  <td key={j}>{cell}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {skipped.count > 0 && (
        <details className="bad-rows" open>
          <summary>
            {int(skipped.count)} row{skipped.count === 1 ? '' : 's'} skipped
          </summary>
          <ul aria-label="Skipped rows">
            {skipped.first.map((b, i) => (
              <li key={i}>
                <span className="mono">line {b.line}</span>: {b.reason}
                {b.excerpt ? (
                  <>
                    {' '}
                    · <q>{b.excerpt}</q>
                  </>
                ) : null}
              </li>
            ))}
            {skipped.count > skipped.first.length && <li>…and {int(skipped.count - skipped.first.length)} more.</li>}
          </ul>
        </details>
      )}
    </div>
  );
});
