// The data preview: the first rows of a file as a table, and the rows that could not be read. Parsing errors are
// DataErrors whose message the page shows as is. The worker computes it, so a large upload is parsed off the page's
// main thread.

import { classificationBadRows, guessMapping } from './dataset';
import { type BadRowReport, badRowReport } from './errors';
import { parseTable } from './parse';
import { detectSftFormat, type SftFormat } from './sft';

/** One row that was skipped while reading the file. */
interface BadRowInfo {
  line: number;
  reason: string;
  excerpt: string;
}

export interface DataPreview {
  fileName: string;
  format: 'csv' | 'tsv' | 'jsonl' | 'text';
  columns: string[];
  /** The first rows, cells cut to a readable length. */
  rows: string[][];
  rowCount: number;
  characters: number;
  /** Rows that could not be read (every model skips them): the first few, and how many. */
  badRows: BadRowInfo[];
  badCount: number;
  /**
   * The rows a classification model leaves out: the unreadable ones and those with an empty text or label under the
   * guessed column mapping, the first few and how many. Null for plain text or a table without a mapping.
   */
  classificationSkipped: BadRowReport | null;
  /** Distinct values of the label column (tables only, at most 50), for the head size; null otherwise. */
  labels: string[] | null;
  /**
   * The instruction format the columns say (a table with messages, prompt and completion, or instruction and
   * output), which a causal LM can be instruction-tuned on; null for plain text and other tables.
   */
  instructionFormat: Exclude<SftFormat, 'text'> | null;
}

const ROWS = 5,
  CELL = 160,
  BAD = 8;

const cut = (s: string) => (s.length > CELL ? `${s.slice(0, CELL - 1)}…` : s);

/** Reads the file like training will (throws the same DataError) and keeps what the preview shows. */
export function previewOf(text: string, fileName: string): DataPreview {
  const t = parseTable(text, fileName);
  const base = {
    fileName,
    format: t.format,
    characters: text.length,
    badCount: t.badRows.length,
    badRows: t.badRows.slice(0, BAD),
  };
  if (t.format === 'text') {
    const lines = t.rows[0].text.split('\n').filter((l) => l.trim() !== '');
    return {
      ...base,
      columns: ['text'],
      rows: lines.slice(0, ROWS).map((l) => [cut(l)]),
      rowCount: lines.length,
      labels: null,
      classificationSkipped: null,
      instructionFormat: null,
    };
  }
  const mapping = guessMapping(t.columns);
  const labels = mapping ? [...new Set(t.rows.map((r) => r[mapping.label]).filter((v) => v !== ''))].sort() : null;
  const sft = detectSftFormat(t);
  return {
    ...base,
    columns: t.columns,
    rowCount: t.rows.length,
    labels: labels && labels.length <= 50 ? labels : null,
    classificationSkipped: mapping ? badRowReport(classificationBadRows(t, mapping), BAD) : null,
    rows: t.rows.slice(0, ROWS).map((r) => t.columns.map((c) => cut(r[c] ?? ''))),
    instructionFormat: sft === 'text' ? null : sft,
  };
}
