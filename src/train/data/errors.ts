// Typed errors for user data sets (CSV/TSV/JSONL/text). Each message says what is wrong and what to do, so the UI can
// show it as is; `code` is stable for tests and for the UI to branch on.

/** What went wrong with a data set. */
export type DataErrorCode =
  | 'Empty' // nothing but whitespace (or nothing at all) in the file
  | 'Binary' // looks like a binary file (spreadsheet, archive, ...)
  | 'UnsupportedFormat' // an extension we cannot read (e.g. .xlsx)
  | 'NoRows' // no usable data rows (only a header, or every row bad)
  | 'BadMapping' // a mapped column does not exist, or text and label are the same column
  | 'TooFewLabels' // fewer than two distinct labels
  | 'TooManyLabels' // the label column looks like free text
  | 'TooShort' // not enough tokens for one causal-LM window
  | 'BadOptions' // seq, batch size, validation fraction out of range
  | 'StateMismatch' // a saved BatchStream state does not fit the data it is restored on
  | 'NotStored' // the data a saved run trained on is no longer available
  | 'TooManyColumns'; // more columns than MAX_COLUMNS (a header or JSONL keys)

/** One row that was not used, with enough context for the user to find and fix it. */
export interface BadRow {
  /** 1-based line of the file where the row starts (0 when not known). */
  line: number;
  reason: string;
  /** The start of the raw row, at most ~80 characters. */
  excerpt: string;
}

export interface DataErrorOptions {
  code: DataErrorCode;
  /** The file (or data set) at fault; '' when none. */
  file: string;
  /** What is wrong and what to do, shown to the user as is. */
  message: string;
  /** 1-based line the error is about, when it is about one line. */
  line?: number;
  /** A few bad rows behind the error. */
  examples?: BadRow[];
}

export class DataError extends Error {
  readonly code: DataErrorCode;
  /** The file (or data set) at fault. */
  readonly file: string;
  /** 1-based line the error is about, or null. */
  readonly line: number | null;
  /** A few bad rows behind the error, when there are any. */
  readonly examples: BadRow[];

  constructor(o: DataErrorOptions) {
    super(o.message);
    this.name = 'DataError';
    this.code = o.code;
    this.file = o.file;
    this.line = o.line ?? null;
    this.examples = o.examples ?? [];
  }
}

/** The start of `s` on one line, for bad-row reports. */
export function excerpt(s: string, max = 80): string {
  const flat = s.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** "line 3: reason; line 7: reason" for the first few bad rows, to put into an error message. */
export function describeBadRows(rows: BadRow[], max = 3): string {
  const shown = rows
    .slice(0, max)
    .map((r) => `${r.line ? `line ${r.line}` : 'row'}: ${r.reason}${r.excerpt ? ` ("${r.excerpt}")` : ''}`);
  return shown.join('; ') + (rows.length > max ? `; and ${rows.length - max} more` : '');
}

/** Bad rows a data report keeps for display; its count covers all of them. */
const BAD_ROWS_KEPT = 5;

/** The rows of a file that were not used: how many, and the first few in file order. */
export interface BadRowReport {
  count: number;
  first: BadRow[];
}

export function badRowReport(rows: BadRow[], keep = BAD_ROWS_KEPT): BadRowReport {
  return { count: rows.length, first: rows.slice(0, keep) };
}

/**
 * The report as terminal lines: a headline with the count, one line per kept row (line number, reason, excerpt) and
 * how many more there are; '' when no row was skipped.
 */
export function formatBadRowReport(file: string, report: BadRowReport): string {
  if (!report.count) return '';
  const n = report.count,
    them = n === 1 ? 'it' : 'them';
  const lines = [`${file}: ${n} row${n === 1 ? ' was' : 's were'} skipped; fix ${them} in the file to use ${them}:`];
  for (const r of report.first) {
    lines.push(`  ${r.line ? `line ${r.line}` : 'row'}: ${r.reason}${r.excerpt ? ` · ${r.excerpt}` : ''}`);
  }
  if (n > report.first.length) lines.push(`  …and ${n - report.first.length} more`);
  return `${lines.join('\n')}\n`;
}
