// Checkpoint tensor names -> the engine's canonical names (FORMATS.md §7). The rules of each family (prefixes such as
// `transformer.`/`bert.`, buffers to ignore, heads a new task must create) live in its descriptor
// (src/models/arch/); this file holds the shared steps: reading a checkpoint, stripping a prefix, old LayerNorm
// `gamma`/`beta`, and initialising missing heads.

import { readCheckpoint } from './arch/checkpoint';
import { archFor, type ModelConfig } from './arch/index';
import type { Checkpoint } from './arch/types';

export { canonicalWeights, initMissing, readCheckpoint, WeightMapError } from './arch/checkpoint';

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

/** Maps a checkpoint file by the rules of the config's family. Missing classification heads are initialised from
 * `seed`. */
export function mapWeights(bytes: Uint8Array, cfg: ModelConfig, opts: { seed?: number; file?: string } = {}): MappedWeights {
  return mapCheckpoint(readCheckpoint(bytes, opts.file ?? 'model.safetensors'), cfg, opts);
}

/** Maps an already read checkpoint (one file or all shards). */
export function mapCheckpoint(checkpoint: Checkpoint, cfg: ModelConfig, opts: { seed?: number } = {}): MappedWeights {
  return archFor(cfg).mapWeights(checkpoint as never, cfg as never, { seed: opts.seed });
}
