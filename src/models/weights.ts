// Checkpoint tensor names -> the engine's canonical names (FORMATS.md §7). The rules of each family (prefixes such as
// `transformer.`/`bert.`, buffers to ignore, config.json sizes checked against tensor shapes, heads a new task must
// create) live in its descriptor (src/models/arch/); the shared steps are in src/models/arch/checkpoint.ts.

import { archFor, type ModelConfig } from './arch/index';
import type { Checkpoint } from './arch/types';

export interface HostTensor {
  shape: number[];
  data: Float32Array;
}

export interface MappedWeights {
  /** Canonical tensors; a checkpoint tensor's data is converted to f32 on first access, after every check passed. */
  tensors: Map<string, HostTensor>;
  /** Canonical names that the checkpoint lacked and were initialised (e.g. a new classification head). */
  initialized: string[];
  /** Checkpoint names that were dropped (buffers, MLM heads, a tied LM head). */
  ignored: string[];
}

/** Maps an already read checkpoint (one file or all shards): names, then config.json's sizes against the shapes. */
export function mapCheckpoint(checkpoint: Checkpoint, cfg: ModelConfig, opts: { seed?: number } = {}): MappedWeights {
  return archFor(cfg).mapWeights(checkpoint as never, cfg as never, { seed: opts.seed });
}
