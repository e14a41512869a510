// Reading user data files into one table shape: CSV/TSV (papaparse, header row, quoted fields), JSON Lines and plain
// text. Rows that cannot be read are kept as bad rows with their line numbers; an unusable file is a DataError.

import Papa from 'papaparse';
import { type BadRow, DataError, describeBadRows, excerpt } from './errors';

type TableFormat = 'csv' | 'tsv' | 'jsonl' | 'text';

/** A data file read into string columns; every row has every column ('' where a JSONL object lacks it). */
export interface ParsedTable {
  fileName: string;
  format: TableFormat;
  /** The field delimiter used for CSV/TSV (sniffed when the extension does not say). */
  delimiter?: string;
  columns: string[];
  rows: Record<string, string>[];
  /** 1-based line where each row starts, parallel to `rows`, for reporting bad values later. */
  lines: number[];
  badRows: BadRow[];
}

const SPREADSHEET_OR_ARCHIVE = new Set([
  'xlsx',
  'xls',
  'xlsm',
  'ods',
  'numbers',
  'zip',
  'gz',
  'tgz',
  'bz2',
  'xz',
  '7z',
  'parquet',
  'arrow',
  'feather',
  'pdf',
  'doc',
  'docx',
  'rtf',
]);
const DELIMITERS = [',', '\t', ';', '|'];
const NAMES: Record<string, string> = { ',': 'comma', '\t': 'tab', ';': 'semicolon', '|': 'pipe' };
const FORMATS_HINT = 'Use CSV or TSV with a header row, JSON Lines (one JSON object per line) or plain text (.txt).';

/** Most columns a table may have: every row holds every column, so this bounds the work and memory per row. */
export const MAX_COLUMNS = 1024;

/** Reads `text` (the decoded file) according to the extension of `fileName`, sniffing the format when it says nothing. */
export function parseTable(text: string, fileName: string): ParsedTable {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const ext = /\.([A-Za-z0-9]+)$/.exec(fileName)?.[1].toLowerCase() ?? '';
  if (SPREADSHEET_OR_ARCHIVE.has(ext)) {
    throw new DataError({
      code: 'UnsupportedFormat',
      file: fileName,
      message: `${fileName}: .${ext} files cannot be read here. Export or save the data as CSV (comma-separated) first. ${FORMATS_HINT}`,
    });
  }
  if (text.trim() === '')
    throw new DataError({
      code: 'Empty',
      file: fileName,
      message: `${fileName} is empty. Choose a file that contains data. ${FORMATS_HINT}`,
    });
  if (looksBinary(text)) {
    throw new DataError({
      code: 'Binary',
      file: fileName,
      message: `${fileName} looks like a binary file (a spreadsheet, archive or image?), not text. ${FORMATS_HINT}`,
    });
  }
  const firstChar = text.trimStart()[0];
  if (ext === 'json' && firstChar === '[') {
    throw new DataError({
      code: 'UnsupportedFormat',
      file: fileName,
      message: `${fileName} holds one JSON array; save it as JSON Lines instead (one object per line, .jsonl).`,
    });
  }
  if (ext === 'jsonl' || ext === 'ndjson' || ext === 'json') return parseJsonl(text, fileName);
  if (ext === 'txt' || ext === 'text' || ext === 'md') return parseText(text, fileName);
  if (ext === 'csv' || ext === 'tsv' || ext === 'tab') {
    const preferred = ext === 'csv' ? ',' : '\t';
    const header = firstLine(text);
    const delimiter = header.includes(preferred) ? preferred : (sniffDelimiter(text) ?? preferred);
    return parseDelimited(text, fileName, delimiter);
  }
  if (firstChar === '{') return parseJsonl(text, fileName);
  const delimiter = sniffDelimiter(text);
  return delimiter ? parseDelimited(text, fileName, delimiter) : parseText(text, fileName);
}

function looksBinary(text: string): boolean {
  const head = text.slice(0, 4096);
  let odd = 0;
  for (let i = 0; i < head.length; i++) {
    const c = head.charCodeAt(i);
    if (c === 0) return true;
    // Invalid UTF-8 decodes to U+FFFD; a few are typos, a lot means the file is not text at all.
    if (c === 0xfffd || (c < 32 && c !== 9 && c !== 10 && c !== 13)) odd++;
  }
  return odd > 16 && odd > head.length * 0.1;
}

function firstLine(text: string): string {
  const m = /\r\n|\n|\r/.exec(text);
  return m ? text.slice(0, m.index) : text;
}

/** The delimiter that appears on the first line and the same number of times on most of the next lines, if any. */
function sniffDelimiter(text: string): string | null {
  const lines = text
    .slice(0, 65536)
    .split(/\r\n|\n|\r/)
    .filter((l) => l.trim() !== '')
    .slice(0, 20);
  let best: { d: string; share: number; n: number } | null = null;
  for (const d of DELIMITERS) {
    const counts = lines.map((l) => l.split(d).length - 1);
    if (!counts.length || counts[0] === 0) continue;
    const share = counts.filter((c) => c === counts[0]).length / counts.length;
    if (share < 0.5) continue;
    if (!best || share > best.share || (share === best.share && counts[0] > best.n)) best = { d, share, n: counts[0] };
  }
  return best?.d ?? null;
}

/** Header names trimmed, blanks named by position, duplicates numbered ("a", "a (2)", "a (3)"), so every column can
 * be addressed. Linear: each base name remembers the next number to try, and a taken "a (k)" is skipped once. */
export function headerNames(fields: string[]): string[] {
  const seen = new Set<string>();
  const nextK = new Map<string, number>();
  return fields.map((f, i) => {
    const base = f.trim() || `column ${i + 1}`;
    let name = base;
    if (seen.has(name)) {
      let k = nextK.get(base) ?? 2;
      while (seen.has((name = `${base} (${k})`))) k++;
      nextK.set(base, k + 1);
    }
    seen.add(name);
    return name;
  });
}

function tooManyColumns(fileName: string, what: string, fix: string): never {
  const message = `${fileName}: ${what}; at most ${MAX_COLUMNS} columns are supported. ${fix}`;
  throw new DataError({ code: 'TooManyColumns', file: fileName, message });
}

const QUOTE_REASONS: Record<string, string> = {
  MissingQuotes: 'a quoted field is never closed (missing "); everything after it was read into this row',
  InvalidQuotes: 'a quote inside a quoted field is not doubled ("")',
};

function parseDelimited(text: string, fileName: string, delimiter: string): ParsedTable {
  const format: TableFormat = delimiter === '\t' ? 'tsv' : 'csv';
  let columns: string[] | null = null;
  const rows: Record<string, string>[] = [],
    lines: number[] = [],
    badRows: BadRow[] = [];
  let prevEnd = 0,
    scanned = 0,
    line = 1,
    headerWidth = 0;
  Papa.parse<string[]>(text, {
    delimiter,
    skipEmptyLines: 'greedy',
    header: false,
    dynamicTyping: false,
    step(r, parser) {
      if (headerWidth > MAX_COLUMNS) return;
      // Papa gives the end of each row; the row starts after the previous one and any blank lines it skipped.
      const end = typeof r.meta.cursor === 'number' ? r.meta.cursor : prevEnd;
      let start = prevEnd;
      while (start < end && /\s/.test(text[start])) start++;
      for (; scanned < start; scanned++) {
        const c = text.charCodeAt(scanned);
        if (c === 10 || (c === 13 && text.charCodeAt(scanned + 1) !== 10)) line++;
      }
      prevEnd = Math.max(prevEnd, end);
      const fields = r.data;
      const raw = text.slice(start, Math.min(end, start + 200));
      if (!columns) {
        headerWidth = fields.length;
        if (headerWidth > MAX_COLUMNS) {
          parser.abort();
          return;
        }
        columns = headerNames(fields);
        if (r.errors.length)
          badRows.push({
            line,
            reason: `header row: ${QUOTE_REASONS[r.errors[0].code] ?? r.errors[0].message}`,
            excerpt: excerpt(raw),
          });
        return;
      }
      if (r.errors.length) {
        badRows.push({ line, reason: QUOTE_REASONS[r.errors[0].code] ?? r.errors[0].message, excerpt: excerpt(raw) });
        return;
      }
      let n = fields.length;
      // Trailing delimiters (empty extra fields) are common in exported files and carry nothing.
      while (n > columns.length && fields[n - 1].trim() === '') n--;
      if (n !== columns.length) {
        badRows.push({
          line,
          reason: `${n} field${n === 1 ? '' : 's'}, but the header has ${columns.length}`,
          excerpt: excerpt(raw),
        });
        return;
      }
      rows.push(Object.fromEntries(columns.map((c, i) => [c, fields[i]])));
      lines.push(line);
    },
  });
  if (headerWidth > MAX_COLUMNS) {
    tooManyColumns(
      fileName,
      `the header row has ${headerWidth} ${NAMES[delimiter]}-separated columns`,
      'Check that the first line is the header and the delimiter is right, or keep only the columns you need.',
    );
  }
  if (!columns)
    throw new DataError({ code: 'Empty', file: fileName, message: `${fileName} is empty. ${FORMATS_HINT}` });
  const cols: string[] = columns;
  if (!rows.length)
    noRows(
      fileName,
      badRows,
      `${format.toUpperCase()} with ${NAMES[delimiter]}-separated columns ${cols.map((c) => `"${c}"`).join(', ')}`,
      'Check that the first line is a header row, that the delimiter is right, and that quotes are balanced.',
    );
  return { fileName, format, delimiter, columns: cols, rows, lines, badRows };
}

function cell(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

function parseJsonl(text: string, fileName: string): ParsedTable {
  const columns: string[] = [],
    known = new Set<string>();
  const rows: Record<string, string>[] = [],
    lines: number[] = [],
    badRows: BadRow[] = [];
  text.split(/\r\n|\n|\r/).forEach((l, i) => {
    const s = l.trim();
    if (!s) return;
    let v: unknown;
    try {
      v = JSON.parse(s);
    } catch (e) {
      badRows.push({ line: i + 1, reason: `not valid JSON (${(e as Error).message})`, excerpt: excerpt(s) });
      return;
    }
    if (!v || typeof v !== 'object' || Array.isArray(v)) {
      badRows.push({ line: i + 1, reason: 'not a JSON object ({"text": ..., "label": ...})', excerpt: excerpt(s) });
      return;
    }
    const entries = Object.entries(v);
    for (const [k] of entries)
      if (!known.has(k)) {
        known.add(k);
        columns.push(k);
      }
    if (columns.length > MAX_COLUMNS) {
      tooManyColumns(
        fileName,
        `its objects have ${columns.length} different keys by line ${i + 1}`,
        'Each key is a column: give every line the same few keys (e.g. "text" and "label").',
      );
    }
    rows.push(Object.fromEntries(entries.map(([k, x]) => [k, cell(x)])));
    lines.push(i + 1);
  });
  if (!rows.length)
    noRows(
      fileName,
      badRows,
      'JSON Lines',
      'Each line must be one JSON object, e.g. {"text": "great film", "label": "pos"}.',
    );
  // fromEntries, not assignment, so that keys such as "__proto__" stay ordinary columns.
  const full = rows.map((r) => Object.fromEntries(columns.map((c) => [c, Object.hasOwn(r, c) ? r[c] : ''])));
  return { fileName, format: 'jsonl', columns, rows: full, lines, badRows };
}

function parseText(text: string, fileName: string): ParsedTable {
  return {
    fileName,
    format: 'text',
    columns: ['text'],
    rows: [{ text: text.replace(/\r\n?/g, '\n') }],
    lines: [1],
    badRows: [],
  };
}

function noRows(fileName: string, badRows: BadRow[], what: string, fix: string): never {
  const why = badRows.length
    ? `none of its ${badRows.length} row${badRows.length === 1 ? '' : 's'} could be read (${describeBadRows(badRows)})`
    : 'it has a header row but no data rows';
  throw new DataError({
    code: 'NoRows',
    file: fileName,
    message: `${fileName} (read as ${what}): ${why}. ${fix}`,
    examples: badRows.slice(0, 5),
  });
}
