// Synthetic checkpoints for benchmarks: every tensor a config's family needs (its descriptor's weightShapes), named as
// the weight mapper produces them, norm weights at 1 and biases at 0. `draw(n, std, offset)` fills each tensor in a
// fixed order, so a seeded drawer gives the same weights on every run.

import { archFor, type ModelConfig } from '../models/arch/index';
import type { HostTensor } from '../models/weights';

export type Draw = (n: number, std: number, offset: number) => Float32Array;

export function syntheticWeights(cfg: ModelConfig, draw: Draw): Map<string, HostTensor> {
  const m = new Map<string, HostTensor>();
  for (const [name, { shape, init }] of archFor(cfg).weightShapes(cfg)) {
    const n = shape.reduce((a, b) => a * b, 1);
    m.set(name, { shape, data: init === 'normal' ? draw(n, 0.02, 0) : draw(n, 0, init === 'one' ? 1 : 0) });
  }
  return m;
}
