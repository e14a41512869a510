// Merges a trained adapter into the base weights (W = W0 + scale·B·diag(c)·A over live components) so the result
// can be saved as a plain model.safetensors; Conv1D weights (the descriptor's layout, GPT-2) are stored (in,out) and get
// the transpose.

import { archFor } from '../models/arch/index';
import type { HostTensor } from '../models/weights';
import { type AdapterExportInput, type AdapterModuleState, checkModule, liveIndices, PeftError } from './export';

const FILE = 'model.safetensors';

/** The module's update scale·B·diag(c)·A over live components, (outF, inF) row-major (nn.Linear layout). */
export function moduleDelta(m: AdapterModuleState, scale: number): Float32Array {
  const { inF, outF, R0 } = m;
  const K = liveIndices(m);
  const coef = K.map((k) => scale * (m.c === null ? 1 : m.c[k]));
  // Accumulate in f64 so the merged weight does not depend on the component order.
  const acc = new Float64Array(inF);
  const out = new Float32Array(outF * inF);
  for (let o = 0; o < outF; o++) {
    acc.fill(0);
    for (let j = 0; j < K.length; j++) {
      const f = coef[j] * m.B[o * R0 + K[j]];
      if (f === 0) continue;
      const a = K[j] * inF;
      for (let i = 0; i < inF; i++) acc[i] += f * m.A[a + i];
    }
    for (let i = 0; i < inF; i++) out[o * inF + i] = acc[i];
  }
  return out;
}

/**
 * The full model with every adapter merged in and the head tensors replaced by the trained ones. Canonical names
 * throughout. Returns a new map; the base map and its arrays are untouched, and tensors the adapter does not
 * change are shared with it (not copied) to keep memory flat for large embeddings.
 */
export function mergeWeights(base: Map<string, HostTensor>, input: AdapterExportInput): Map<string, HostTensor> {
  const out = new Map(base);
  const conv1d = archFor(input.modelType).layout === 'conv1d';
  const seen = new Set<string>();
  for (const m of input.modules) {
    checkModule(m, input.modelType, null, FILE);
    if (seen.has(m.name))
      throw new PeftError('InvalidInput', FILE, m.name, 'the module appears twice', 'Pass each module once.');
    seen.add(m.name);
    if (liveIndices(m).length === 0) continue;
    const wName = `${m.name}.weight`;
    const w = base.get(wName);
    const want = conv1d ? [m.inF, m.outF] : [m.outF, m.inF];
    if (w === undefined) {
      throw new PeftError(
        'MissingTensor',
        FILE,
        wName,
        'the base model has no such weight',
        'Merge into the base model the adapter was trained on.',
      );
    }
    if (w.shape.join() !== want.join() || w.data.length !== m.inF * m.outF) {
      const layout = conv1d ? 'Conv1D (in,out)' : 'nn.Linear (out,in)';
      throw new PeftError(
        'InvalidInput',
        FILE,
        wName,
        `shape [${w.shape}] but the adapter needs ${layout} [${want}]`,
        'Merge into the base model the adapter was trained on.',
      );
    }
    const d = moduleDelta(m, input.scale);
    const W = new Float32Array(w.data);
    if (conv1d) {
      for (let o = 0; o < m.outF; o++) for (let i = 0; i < m.inF; i++) W[i * m.outF + o] += d[o * m.inF + i];
    } else {
      for (let k = 0; k < W.length; k++) W[k] += d[k];
    }
    out.set(wName, { shape: [...w.shape], data: W });
  }
  for (const [name, t] of input.head) out.set(name, { shape: [...t.shape], data: new Float32Array(t.data) });
  return out;
}
