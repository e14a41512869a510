// The shared steps of checkpoint mapping that descriptors use: reading a safetensors file into a Checkpoint (headers
// only; data converted on first access), stripping a family's prefix (old LayerNorm gamma/beta renamed), checking
// config.json's sizes against tensor shapes, and initialising missing heads as transformers does.

import { Rng } from '../../tensor/rng';
import { ConfigError, ModelFormatError } from '../errors';
import { toFloat32 } from '../safetensorsDecode';
import { parseSafetensors } from '../safetensorsRead';
import type { HostTensor, MappedWeights } from '../weights';
import type { Checkpoint } from './types';

class WeightMapError extends ModelFormatError {}

/** The tensors of one safetensors file, converted to f32 when read. */
export function readCheckpoint(
  bytes: Uint8Array,
  file = 'model.safetensors',
  into: Checkpoint = new Map(),
): Checkpoint {
  const st = parseSafetensors(bytes, file);
  for (const [name, entry] of st.tensors) {
    if (into.has(name)) {
      throw new WeightMapError(
        file,
        name,
        `${file}: tensor "${name}" is also in ${into.get(name)!.file}; ` +
          'a checkpoint holds each tensor once. Re-export the model.',
      );
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
      throw new WeightMapError(
        t.file,
        name,
        `${t.file}: tensor "${name}" appears twice after name normalisation (as "${c}").`,
      );
    }
    tensors.set(c, lazyTensor(t.shape, t.read));
  }
  return { tensors, initialized: [], ignored };
}

/** A host tensor whose data is converted by `read` on first access and kept. */
export function lazyTensor(shape: number[], read: () => Float32Array): HostTensor {
  let data: Float32Array | null = null;
  return {
    shape,
    get data() {
      return (data ??= read());
    },
  };
}

/** The checks of config.json's sizes against the shapes of the tensors that carry them (canonical names). */
export function shapeChecks(tensors: Map<string, { shape: number[] }>, opts: { kind: string; file: string }) {
  const { file } = opts;
  const fix = `config.json and ${file} belong to different models: use the config.json that came with these weights.`;
  return {
    /** Dimension `dim` of 2-D `tensor` must be config.json's `field` = `want`; `required`: the tensor must exist. */
    expect(tensor: string, dim: number, field: string, want: number, required = false): void {
      const e = tensors.get(tensor);
      if (!e) {
        if (!required) return;
        throw new WeightMapError(
          file,
          tensor,
          `${file}: tensor "${tensor}" is missing; is it a ${opts.kind} checkpoint?`,
        );
      }
      // A tensor of the wrong rank is the checkpoint's fault, reported with the expected shape when the net is built.
      if (e.shape.length !== 2 || e.shape[dim] === want) return;
      const got = `${e.shape[dim]} ${dim === 0 ? 'rows' : 'columns'}`;
      throw new ConfigError(
        'config.json',
        field,
        `config.json: field "${field}" is ${want}, but ${file}: ${tensor} of shape [${e.shape.join(', ')}] has ${got}. ` +
          fix,
      );
    },
    /** The layer count (names matching `re`, group 1 the layer) must be config.json's `field` = `want`. */
    layers(re: RegExp, field: string, want: number): void {
      let n = 0;
      for (const name of tensors.keys()) {
        const m = re.exec(name);
        if (m) n = Math.max(n, Number(m[1]) + 1);
      }
      if (n === want) return;
      throw new ConfigError(
        'config.json',
        field,
        `config.json: field "${field}" is ${want}, but ${file} has ${n} layers. ${fix}`,
      );
    },
  };
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

/** The file names of a checkpoint, for messages: model.safetensors, or its shards. */
export function fileOf(checkpoint: Checkpoint): string {
  return [...new Set([...checkpoint.values()].map((t) => t.file))].join(', ') || 'model.safetensors';
}
