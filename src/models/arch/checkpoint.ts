// The shared steps of checkpoint mapping that descriptors use: reading a safetensors file into a Checkpoint,
// stripping a family's prefix (old LayerNorm gamma/beta renamed), and initialising missing heads as transformers does.

import { Rng } from '../../tensor/rng';
import { ModelFormatError } from '../errors';
import { parseSafetensors, toFloat32 } from '../safetensors';
import type { HostTensor, MappedWeights } from '../weights';
import type { Checkpoint } from './types';

export class WeightMapError extends ModelFormatError {}

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

