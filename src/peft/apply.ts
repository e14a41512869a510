// Attaches an imported PEFT LoRA adapter (any rank pattern) to a loaded model, to evaluate it or generate with it.
// Modules of different ranks share one packed AdapterSet: R0 is the largest rank, each module computes only its own
// r_m components, and each module's PEFT scaling is folded into its B so the set's scale is 1.

import type { LoadedModel } from '../models/load';
import type { Backend } from '../tensor/backend';
import { AdapterSet } from './adapters';
import { PeftError } from './export';
import type { ImportedAdapter } from './import';

export function applyImportedAdapter(be: Backend, model: LoadedModel, imp: ImportedAdapter): AdapterSet {
  const byName = new Map(model.net.linears().map((l) => [l.name, l]));
  const linears = imp.modules.map((m) => {
    const l = byName.get(m.name);
    if (!l || l.inFeatures !== m.inF || l.outFeatures !== m.outF) {
      throw new PeftError(
        'InvalidInput',
        'adapter_model.safetensors',
        m.name,
        `the adapter's module ${m.name} (${m.inF}->${m.outF}) does not exist in this model`,
        'Use the base model the adapter was trained on.',
      );
    }
    return l;
  });
  const R0 = Math.max(...imp.modules.map((m) => m.r));
  const set = new AdapterSet(be, linears, { method: 'lora', R0, alpha: R0, dropout: 0, seed: 0 });
  const theta = new Float32Array(set.size),
    live = new Float32Array(set.modules.length * R0);
  imp.modules.forEach((m, idx) => {
    const { offA, offB } = set.modules[idx].slot;
    for (let i = 0; i < m.r; i++) {
      theta.set(m.A.subarray(i * m.inF, (i + 1) * m.inF), offA + i * m.inF);
      for (let o = 0; o < m.outF; o++) theta[offB + o * R0 + i] = m.scaling * m.B[o * m.r + i];
      live[idx * R0 + i] = 1;
    }
  });
  be.write(set.theta, theta);
  set.compact(live);
  set.training = false;
  for (const [name, t] of imp.head) {
    const p = model.params.tensors.get(name);
    if (!p || p.size !== t.data.length) {
      throw new PeftError(
        'InvalidInput',
        'adapter_model.safetensors',
        name,
        `the adapter's head tensor ${name} [${t.shape.join(', ')}] does not fit this model`,
        'Load the model with the same number of labels.',
      );
    }
    be.write(p, t.data);
  }
  return set;
}
