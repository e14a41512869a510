// Where the CLI writes: every output file goes to a temporary name in its folder and is renamed into place, and a
// training run's --out folder must be empty, hold a dynrank run of the same configuration, or be forced; the model's
// own folder is never written to.

import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readCheckpointMeta } from '../train/checkpoint';
import type { RunConfig } from '../train/run';
import { UsageError } from './args';

export const CHECKPOINT = 'checkpoint.safetensors';

/** Writes `data` to `path` so that a reader sees the old file or the whole new one, never a part. */
export async function writeAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

/** The folder `--model` reads from (as resolveModelArg resolves it), or null for a URL or a hub id. */
export function modelFolder(arg: string): string | null {
  if (existsSync(arg)) return realpathSync(arg);
  const bundled = resolve(fileURLToPath(new URL('../../public/models/', import.meta.url)), arg);
  if (/^[\w.-]+$/.test(arg) && existsSync(join(bundled, 'config.json'))) return realpathSync(bundled);
  return null;
}

/** JSON with undefined values dropped and keys sorted, for comparing configurations. */
function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x && typeof x === 'object' && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : x,
  );
}

export interface OutDirCheck {
  out: string;
  /** The --model argument (a folder, a demo name, a URL or a hub id). */
  model: string;
  data: string;
  config: RunConfig;
  force: boolean;
}

/**
 * Refuses an --out folder that is (or contains) the model's folder, and, unless forced, a non-empty one that does not
 * hold a dynrank run of the same configuration (model, data and every setting).
 */
export function checkOutDir(c: OutDirCheck): void {
  if (!existsSync(c.out)) return;
  if (!statSync(c.out).isDirectory()) {
    throw new UsageError(`--out ${c.out} is a file, not a folder; pick a folder for the run's outputs.`);
  }
  const out = realpathSync(c.out),
    model = modelFolder(c.model);
  if (model && (model === out || model.startsWith(out.endsWith(sep) ? out : out + sep))) {
    const is = model === out ? 'is' : 'contains';
    throw new UsageError(
      `--out ${c.out} ${is} the model's folder (${model}): dynrank never writes there, even with ` +
        "--force, as its outputs would replace the base model's files; pick another --out folder.",
    );
  }
  const entries = readdirSync(out);
  if (entries.length === 0 || c.force) return;
  const fix = `use --force to overwrite its files, or --resume ${c.out} to continue the run saved there`;
  if (!entries.includes(CHECKPOINT)) {
    const listed = entries.slice(0, 4).join(', ') + (entries.length > 4 ? ', …' : '');
    throw new UsageError(`--out ${c.out} is not empty (${listed}) and holds no dynrank run; ${fix}.`);
  }
  let meta: ReturnType<typeof readCheckpointMeta>;
  try {
    meta = readCheckpointMeta(new Uint8Array(readFileSync(join(out, CHECKPOINT))));
  } catch (e) {
    throw new UsageError(`--out ${c.out}: its ${CHECKPOINT} cannot be read (${(e as Error).message}); ${fix}.`);
  }
  const saved: Record<string, unknown> = { ...meta.config, model: meta.run.model, data: meta.run.data };
  const wanted: Record<string, unknown> = { ...c.config, model: c.model, data: c.data };
  const differ = [...new Set([...Object.keys(saved), ...Object.keys(wanted)])]
    .sort()
    .filter((k) => canonical(saved[k]) !== canonical(wanted[k]));
  if (differ.length > 0) {
    throw new UsageError(
      `--out ${c.out} holds a dynrank run of another configuration (it differs in ` + `${differ.join(', ')}); ${fix}.`,
    );
  }
}
