// `dynrank train` and `dynrank eval` on a messy CSV say on stderr how many rows they skipped and show the first few
// with their line numbers and reasons; dynrank.json keeps the same report.

import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { runCli as run } from '../helpers/cli';

afterEach(() => vi.restoreAllMocks());

/** 24 good rows, 6 rows without a label (lines 3, 8, 13, ...) and 2 rows with an extra column (lines 22, 30). */
function messyCsv(): string {
  const lines = ['text,label'];
  for (let i = 0; i < 24; i++) {
    lines.push(i % 2 ? `"Lunch at ${i}?",ham` : `"WIN cash prize ${i} now",spam`);
    if (i % 4 === 0) lines.push('"Your invoice is attached",');
    if (i === 15 || i === 20) lines.push('"URGENT: verify your account",spam,extra');
  }
  return `${lines.join('\n')}\n`;
}

describe('dynrank train / eval on a file with bad rows', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dynrank-badrows-'));
  const data = join(dir, 'messy.csv');
  writeFileSync(data, messyCsv());
  const common = ['--model', 'bert-tiny', '--data', data, '--batch', '4', '--seq', '16', '--backend', 'cpu'];

  it('train prints the count and the first rows with line and reason, and dynrank.json keeps them', async () => {
    const out = join(dir, 'run');
    const r = await run(['train', ...common, '--method', 'lora', '--rank', '2', '--steps', '2', '--out', out]);
    expect(r.code, r.err).toBe(0);
    expect(r.stderr).toContain(
      `${data}: 8 rows were skipped; fix them in the file to use them:\n` +
        '  line 3: empty label ("label") · Your invoice is attached |\n' +
        '  line 8: empty label ("label") · Your invoice is attached |\n',
    );
    expect(r.stderr).toContain('  …and 3 more\n');
    const summary = JSON.parse(readFileSync(join(out, 'dynrank.json'), 'utf8'));
    expect(summary.data.badRows).toBe(8);
    expect(summary.data.firstBadRows.map((b: { line: number }) => b.line)).toEqual([3, 8, 13, 18, 22]);
    expect(summary.data.firstBadRows[4].reason).toBe('3 fields, but the header has 2');
  });

  it('eval prints the same report', async () => {
    const r = await run(['eval', ...common]);
    expect(r.code, r.err).toBe(0);
    expect(r.stderr).toContain(`${data}: 8 rows were skipped`);
    expect(r.stderr).toContain('  line 22: 3 fields, but the header has 2 · "URGENT: verify your account",spam,extra');
  });
});
