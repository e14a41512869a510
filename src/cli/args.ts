// A small argv parser: `--key value`, `--flag`, and positionals. Unknown options are errors with the valid list.

import { RECOMPUTE_MODES, type Recompute } from '../nn/recompute';

export class UsageError extends Error {
  override name = 'UsageError';
}

export interface ParsedArgs {
  positionals: string[];
  options: Map<string, string | true>;
}

export function parseArgs(argv: string[], known: Record<string, 'value' | 'flag'>): ParsedArgs {
  const options = new Map<string, string | true>();
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) {
      positionals.push(a);
      continue;
    }
    const [k, inline] = a.slice(2).split(/=(.*)/s, 2);
    const kind = known[k];
    if (!kind)
      throw new UsageError(
        `unknown option --${k}; valid: ${Object.keys(known)
          .map((o) => `--${o}`)
          .join(' ')}`,
      );
    if (kind === 'flag') {
      options.set(k, true);
      continue;
    }
    const v = inline ?? argv[++i];
    if (v === undefined) throw new UsageError(`--${k} needs a value`);
    options.set(k, v);
  }
  return { positionals, options };
}

export function str(a: ParsedArgs, key: string, dflt?: string): string {
  const v = a.options.get(key);
  if (typeof v === 'string') return v;
  if (dflt !== undefined) return dflt;
  throw new UsageError(`--${key} is required`);
}

export function num(a: ParsedArgs, key: string, dflt?: number): number {
  const v = a.options.get(key);
  if (v === undefined) {
    if (dflt === undefined) throw new UsageError(`--${key} is required`);
    return dflt;
  }
  const n = Number(v);
  if (typeof v !== 'string' || !Number.isFinite(n)) throw new UsageError(`--${key} must be a number, got ${String(v)}`);
  return n;
}

/** --recompute none|selective|blocks: what the backward recomputes (src/nn/recompute.ts); undefined when absent (the
 * memory plan chooses). */
export function recomputeOpt(a: ParsedArgs): Recompute | undefined {
  const v = a.options.get('recompute');
  if (v === undefined) return undefined;
  if (!RECOMPUTE_MODES.includes(v as Recompute))
    throw new UsageError(`--recompute must be ${RECOMPUTE_MODES.join(', ')}, got ${String(v)}`);
  return v as Recompute;
}

/** --weight-precision f16|f32: storage of the frozen base weights (f16 halves their memory); undefined when absent. */
export function weightPrecisionOpt(a: ParsedArgs): 'f32' | 'f16' | undefined {
  const v = a.options.get('weight-precision');
  if (v === undefined) return undefined;
  if (v !== 'f32' && v !== 'f16') throw new UsageError(`--weight-precision must be f16 or f32, got ${String(v)}`);
  return v;
}
