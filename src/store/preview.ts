// The data preview: the first rows of a file as a table, and the rows that could not be read. Parsing errors are
// DataErrors whose message the page shows as is.

import { guessMapping } from '../train/data/dataset';
import { parseTable } from '../train/data/parse';
import type { DataPreview } from './dataSlice';

const ROWS = 5, CELL = 160, BAD = 8;

const cut = (s: string) => (s.length > CELL ? `${s.slice(0, CELL - 1)}…` : s);

/** Reads the file like training will (throws the same DataError) and keeps what the preview shows. */
export function previewOf(text: string, fileName: string): DataPreview {
  const t = parseTable(text, fileName);
  const base = { fileName, format: t.format, characters: text.length, badCount: t.badRows.length, badRows: t.badRows.slice(0, BAD) };
  if (t.format === 'text') {
    const lines = t.rows[0].text.split('\n').filter((l) => l.trim() !== '');
    return { ...base, columns: ['text'], rows: lines.slice(0, ROWS).map((l) => [cut(l)]), rowCount: lines.length, labels: null };
  }
  const mapping = guessMapping(t.columns);
  const labels = mapping ? [...new Set(t.rows.map((r) => r[mapping.label]).filter((v) => v !== ''))].sort() : null;
  return {
    ...base, columns: t.columns, rowCount: t.rows.length, labels: labels && labels.length <= 50 ? labels : null,
    rows: t.rows.slice(0, ROWS).map((r) => t.columns.map((c) => cut(r[c] ?? ''))),
  };
}
