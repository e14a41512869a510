// Merges an imported PEFT LoRA adapter (any per-module ranks and alphas) into a model's weights, through the same
// mergeWeights the trainer's --merged export uses: each module's PEFT scaling is folded into its B, so scale is 1.

import type { HostTensor } from '../models/weights';
import type { ModelType } from '../peft/export';
import type { ImportedAdapter } from '../peft/import';
import { mergeWeights } from '../peft/merge';

/** Base weights (canonical names) with `adapter` merged in and its modules_to_save head tensors in place. */
export function mergeImportedAdapter(
  base: Map<string, HostTensor>,
  adapter: ImportedAdapter,
  modelType: ModelType,
): Map<string, HostTensor> {
  const modules = adapter.modules.map((m) => ({
    name: m.name,
    inF: m.inF,
    outF: m.outF,
    R0: m.r,
    A: m.A,
    B: m.B.map((b) => b * m.scaling),
    c: null,
    live: Array.from({ length: m.r }, () => true),
  }));
  const layers = modules.map((m) => Number(/\.(\d+)\./.exec(m.name)?.[1] ?? 0));
  return mergeWeights(base, {
    modelType,
    // A classifier's adapter saves its head (modules_to_save); a causal LM's has none.
    task: adapter.head.size > 0 ? 'SEQ_CLS' : 'CAUSAL_LM',
    baseModel: '',
    method: 'lora',
    alpha: 1,
    scale: 1,
    useRslora: false,
    dropout: 0,
    targetTypes: [],
    numLayers: Math.max(0, ...layers) + 1,
    modules,
    head: adapter.head,
  });
}
