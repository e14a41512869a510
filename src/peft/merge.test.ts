// mergeWeights: W0 + scale·B·diag(c)·A on live components (transposed for GPT-2 Conv1D), head replaced, base untouched,
// and agreement with the update a PEFT loader would apply from the exported adapter.

import { describe, expect, it } from 'vitest';
import { parseSafetensors } from '../models/safetensorsRead';
import { writeSafetensors } from '../models/safetensorsWrite';
import type { HostTensor } from '../models/weights';
import { Rng } from '../tensor/rng';
import { type AdapterExportInput, type AdapterModuleState, exportPeft, PeftError } from './export';
import { importPeft } from './import';
import { mergeWeights, moduleDelta } from './merge';

/** Uniform values in [-0.5, 0.5) from the engine's seeded PRNG. */
function rng(seed: number): () => number {
  const r = new Rng(seed);
  return () => r.next() - 0.5;
}

const SHAPES: Record<'gpt2' | 'bert', [string, number, number][]> = {
  gpt2: [
    ['attn.c_attn', 4, 12],
    ['attn.c_proj', 4, 4],
    ['mlp.c_fc', 4, 16],
    ['mlp.c_proj', 16, 4],
  ],
  bert: [
    ['attention.self.query', 4, 4],
    ['attention.self.value', 4, 4],
    ['intermediate.dense', 4, 8],
    ['output.dense', 8, 4],
  ],
};

/** A 2-layer model (adapted weights + an unrelated tensor) and a dynamic-rank adapter with one zero-rank module. */
function fixture(modelType: 'gpt2' | 'bert'): { base: Map<string, HostTensor>; input: AdapterExportInput } {
  const r = rng(modelType === 'gpt2' ? 5 : 6);
  const fill = (n: number, s = 1) => Float32Array.from({ length: n }, () => r() * s);
  const base = new Map<string, HostTensor>([['ln_f.weight', { shape: [4], data: fill(4) }]]);
  const modules: AdapterModuleState[] = [];
  for (let l = 0; l < 2; l++) {
    SHAPES[modelType].forEach(([p, inF, outF], j) => {
      const name = modelType === 'gpt2' ? `h.${l}.${p}` : `encoder.layer.${l}.${p}`;
      base.set(`${name}.weight`, { shape: modelType === 'gpt2' ? [inF, outF] : [outF, inF], data: fill(inF * outF) });
      const live = l === 1 && j === 2 ? [false, false, false] : [0, 1, 2].map((k) => (l + j + k) % 3 !== 0);
      modules.push({ name, inF, outF, R0: 3, A: fill(3 * inF, 0.4), B: fill(outF * 3, 2), c: fill(3), live });
    });
  }
  const head = new Map<string, HostTensor>();
  if (modelType === 'bert') {
    base.set('classifier.weight', { shape: [2, 4], data: new Float32Array(8) });
    head.set('classifier.weight', { shape: [2, 4], data: fill(8) });
  }
  const input: AdapterExportInput = {
    modelType,
    task: modelType === 'gpt2' ? 'CAUSAL_LM' : 'SEQ_CLS',
    baseModel: modelType,
    method: 'dora',
    alpha: 8,
    scale: 8 / 3,
    useRslora: false,
    dropout: 0.1,
    targetTypes: SHAPES[modelType].map(([p]) => p),
    numLayers: 2,
    modules,
    head,
  };
  return { base, input };
}

/** scale·Σ_live c_k·b_k·a_kᵀ at (o, i), written out independently of merge.ts. */
function update(m: AdapterModuleState, scale: number, o: number, i: number): number {
  let s = 0;
  for (let k = 0; k < m.R0; k++) if (m.live[k]) s += scale * m.c![k] * m.B[o * m.R0 + k] * m.A[k * m.inF + i];
  return s;
}

describe('mergeWeights', () => {
  for (const modelType of ['gpt2', 'bert'] as const) {
    it(`${modelType}: W = W0 + update (${modelType === 'gpt2' ? 'transposed for Conv1D' : 'nn.Linear'}), base untouched`, () => {
      const { base, input } = fixture(modelType);
      const snapshot = new Map([...base].map(([k, t]) => [k, Array.from(t.data)]));
      const merged = mergeWeights(base, input);
      expect([...merged.keys()].sort()).toEqual([...base.keys()].sort());
      for (const m of input.modules) {
        const w0 = base.get(`${m.name}.weight`)!;
        const w = merged.get(`${m.name}.weight`)!;
        expect(w.shape).toEqual(w0.shape);
        if (!m.live.some(Boolean)) {
          expect(w).toBe(w0);
          continue;
        }
        let diff = 0;
        for (let o = 0; o < m.outF; o++) {
          for (let i = 0; i < m.inF; i++) {
            const at = modelType === 'gpt2' ? i * m.outF + o : o * m.inF + i;
            diff = Math.max(diff, Math.abs(w.data[at] - (w0.data[at] + update(m, input.scale, o, i))));
          }
        }
        expect(diff).toBeLessThan(1e-6);
      }
      for (const [k, t] of input.head) expect(Array.from(merged.get(k)!.data)).toEqual(Array.from(t.data));
      for (const [k, t] of base) expect(Array.from(t.data)).toEqual(snapshot.get(k));
      expect(merged.get('ln_f.weight')).toBe(base.get('ln_f.weight'));
    });
  }

  it('agrees with W0 + scaling·B·A from the exported PEFT adapter', () => {
    const { base, input } = fixture('gpt2');
    const merged = mergeWeights(base, input);
    const { adapterConfig, adapterModel } = exportPeft(input);
    const imp = importPeft(JSON.stringify(adapterConfig), adapterModel, 'gpt2');
    for (const m of imp.modules) {
      const w0 = base.get(`${m.name}.weight`)!.data;
      const w = merged.get(`${m.name}.weight`)!.data;
      let diff = 0;
      for (let o = 0; o < m.outF; o++) {
        for (let i = 0; i < m.inF; i++) {
          let s = 0;
          for (let k = 0; k < m.r; k++) s += m.B[o * m.r + k] * m.A[k * m.inF + i];
          diff = Math.max(diff, Math.abs(w[i * m.outF + o] - (w0[i * m.outF + o] + m.scaling * s)));
        }
      }
      expect(diff).toBeLessThan(1e-6);
    }
  });

  it('moduleDelta is the (out,in) update and the merged map writes as safetensors', () => {
    const { base, input } = fixture('bert');
    const m = input.modules[0];
    const d = moduleDelta(m, input.scale);
    expect(d[1 * m.inF + 2]).toBeCloseTo(update(m, input.scale, 1, 2), 6);
    const merged = mergeWeights(base, input);
    const bytes = writeSafetensors(
      [...merged].map(([name, t]) => ({ name, dtype: 'F32' as const, shape: t.shape, data: t.data })),
    );
    expect(parseSafetensors(bytes).tensors.size).toBe(merged.size);
  });

  it('rejects a missing base weight and a weight in the wrong layout', () => {
    const { base, input } = fixture('gpt2');
    const noW = new Map(base);
    noW.delete('h.0.attn.c_attn.weight');
    expect(() => mergeWeights(noW, input)).toThrow(PeftError);
    const linear = new Map(base);
    linear.set('h.0.attn.c_attn.weight', { shape: [12, 4], data: new Float32Array(48) });
    let err: unknown;
    try {
      mergeWeights(linear, input);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PeftError);
    expect((err as PeftError).field).toBe('h.0.attn.c_attn.weight');
    expect((err as PeftError).message).toMatch(/Conv1D/);
  });
});
