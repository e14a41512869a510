// Runs the CLI's main() in-process and captures what it prints: console.log (out), console.error (err) and
// process.stderr writes (stderr: progress, skipped-row reports, notes).

import { vi } from 'vitest';
import { main } from '../../src/cli/main';

export interface CliResult {
  code: number;
  out: string;
  err: string;
  stderr: string;
}

export async function runCli(args: string[]): Promise<CliResult> {
  const out: string[] = [];
  const err: string[] = [];
  const stderr: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...a) => {
    out.push(a.join(' '));
  });
  const error = vi.spyOn(console, 'error').mockImplementation((...a) => {
    err.push(a.join(' '));
  });
  const write = vi.spyOn(process.stderr, 'write').mockImplementation((s) => {
    stderr.push(String(s));
    return true;
  });
  try {
    const code = await main(args);
    return { code, out: out.join('\n'), err: err.join('\n'), stderr: stderr.join('') };
  } finally {
    log.mockRestore();
    error.mockRestore();
    write.mockRestore();
  }
}
