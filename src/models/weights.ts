// Checkpoint tensor names -> the engine's canonical names (FORMATS.md §7). The rules of each family (prefixes such as
// `transformer.`/`bert.`, buffers to ignore, heads a new task must create) live in its descriptor
// (src/models/arch/); this file holds the shared steps: reading a checkpoint, stripping a prefix, old LayerNorm
// `gamma`/`beta`, and initialising missing heads.

import { Rng } from '../tensor/rng';
import { archFor, type ModelConfig } from './arch/index';
import type { Checkpoint } from './arch/types';
import { ModelFormatError } from './errors';
import { parseSafetensors, toFloat32 } from './safetensors';

export class WeightMapError extends ModelFormatError {}

export interface HostTensor {
  shape: number[];
  data: Float32Array;
}

export interface MappedWeights {
  tensors: Map<string, HostTensor>;
  /** Canonical names that the checkpoint lacked and were initialised (e.g. a new classification head). */
  initialized: string[];
  /** Checkpoint names that were dropped (buffers, MLM heads, a tied LM head). */
  ignored: string[];
}

/** The tensors of one safetensors file, converted to f32 when read. */
export function readCheckpoint(bytes: Uint8Array, file = 'model.safetensors', into: Checkpoint = new Map()): Checkpoint {
  const st = parseSafetensors(bytes, file);
  for (const [name, entry] of st.tensors) {
    if (into.has(name)) {
      throw new WeightMapError(file, name, `${file}: tensor "${name}" is also in ${into.get(name)!.file}; ` +
        'a checkpoint holds each tensor once. Re-export the model.');
    }
    into.set(name, { shape: entry.shape, file, read: () => toFloat32(entry, file) });
  }
  return into;
}

/** Strips `prefix`, renames old LayerNorm gamma/beta, drops names matching `ignore` (after stripping). */
export function canonicalWeights(checkpoint: Checkpoint, opts: { prefix: string; ignore: RegExp[] }): MappedWeights {
  const tensors = new Map<string, HostTensor>();
  const ignored: string[] = [];
  for (const [name, t] of checkpoint) {
    let c = name.startsWith(opts.prefix) ? name.slice(opts.prefix.length) : name;
    c = c.replace(/\.gamma$/, '.weight').replace(/\.beta$/, '.bias');
    if (opts.ignore.some((r) => r.test(c))) {
      ignored.push(name);
      continue;
    }
    if (tensors.has(c)) {
      throw new WeightMapError(t.file, name, `${t.file}: tensor "${name}" appears twice after name normalisation (as "${c}").`);
    }
    tensors.set(c, { shape: t.shape, data: t.read() });
  }
  return { tensors, initialized: [], ignored };
}

/** Initialises missing (or misshapen) linear heads as transformers does: normal(0, std) weights, zero biases. */
export function initMissing(w: MappedWeights, heads: [string, number[]][], opts: { std: number; seed: number }): void {
  const rng = new Rng(opts.seed);
  const init = (name: string, shape: number[], isBias: boolean) => {
    const existing = w.tensors.get(name);
    if (existing && existing.shape.join() === shape.join()) return;
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    if (!isBias) for (let i = 0; i < data.length; i++) data[i] = rng.normal() * opts.std;
    w.tensors.set(name, { shape, data });
    w.initialized.push(name);
  };
  for (const [n, shape] of heads) {
    init(`${n}.weight`, shape, false);
    init(`${n}.bias`, [shape[0]], true);
  }
}

/** Maps a checkpoint file by the rules of the config's family. Missing classification heads are initialised from
 * `seed`. */
export function mapWeights(bytes: Uint8Array, cfg: ModelConfig, opts: { seed?: number; file?: string } = {}): MappedWeights {
  return mapCheckpoint(readCheckpoint(bytes, opts.file ?? 'model.safetensors'), cfg, opts);
}

/** Maps an already read checkpoint (one file or all shards). */
export function mapCheckpoint(checkpoint: Checkpoint, cfg: ModelConfig, opts: { seed?: number } = {}): MappedWeights {
  return archFor(cfg).mapWeights(checkpoint as never, cfg as never, { seed: opts.seed });
}
