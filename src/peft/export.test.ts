// exportPeft on tiny synthetic GPT-2 and RoBERTa adapters: tensor names/shapes, exact config keys, rank bookkeeping.

import { describe, expect, it } from 'vitest';
import { toFloat32 } from '../models/safetensorsDecode';
import { parseSafetensors } from '../models/safetensorsRead';
import type { HostTensor } from '../models/weights';
import { Rng } from '../tensor/rng';
import { type AdapterExportInput, type AdapterModuleState, exportPeft, PeftError } from './export';

/** Uniform values in [-0.5, 0.5) from the engine's seeded PRNG. */
function rng(seed: number): () => number {
  const r = new Rng(seed);
  return () => r.next() - 0.5;
}

function mod(
  name: string,
  inF: number,
  outF: number,
  live: boolean[],
  dyn: boolean,
  r: () => number,
): AdapterModuleState {
  const R0 = live.length;
  const fill = (n: number, s: number) => Float32Array.from({ length: n }, () => r() * s);
  return { name, inF, outF, R0, A: fill(R0 * inF, 0.4), B: fill(outF * R0, 2), c: dyn ? fill(R0, 1) : null, live };
}

const ALL = [true, true, true];
const GPT2_SHAPES: [string, number, number][] = [
  ['attn.c_attn', 4, 12],
  ['attn.c_proj', 4, 4],
  ['mlp.c_fc', 4, 16],
  ['mlp.c_proj', 16, 4],
];
const ENC_SHAPES: [string, number, number][] = [
  ['attention.self.query', 4, 4],
  ['attention.self.key', 4, 4],
  ['attention.self.value', 4, 4],
  ['attention.output.dense', 4, 4],
  ['intermediate.dense', 4, 8],
  ['output.dense', 8, 4],
];

/** GPT-2, 2 layers, R0 = 3, dynamic rank; h.1.mlp.c_fc is pruned to zero rank. */
function gpt2Input(): AdapterExportInput {
  const r = rng(1);
  const masks = [
    [true, false, true],
    ALL,
    [false, true, false],
    [true, true, false],
    [true, false, true],
    [false, true, true],
    [false, false, false],
    [true, true, false],
  ];
  const modules: AdapterModuleState[] = [];
  let i = 0;
  for (let l = 0; l < 2; l++)
    for (const [p, inF, outF] of GPT2_SHAPES) modules.push(mod(`h.${l}.${p}`, inF, outF, masks[i++], true, r));
  return {
    modelType: 'gpt2',
    task: 'CAUSAL_LM',
    baseModel: 'gpt2',
    method: 'dora',
    alpha: 8,
    scale: 8 / 3,
    useRslora: false,
    dropout: 0.1,
    targetTypes: ['c_attn', 'c_proj', 'c_fc'],
    numLayers: 2,
    modules,
    head: new Map(),
  };
}

/** RoBERTa, 2 layers, all six module types, with a classifier head. */
function robertaInput(method: 'dora' | 'lora' = 'dora'): AdapterExportInput {
  const r = rng(2);
  const modules: AdapterModuleState[] = [];
  for (let l = 0; l < 2; l++) {
    ENC_SHAPES.forEach(([p, inF, outF], j) => {
      const live = method === 'lora' ? ALL : [j !== 2, true, (j + l) % 2 === 0];
      modules.push(mod(`encoder.layer.${l}.${p}`, inF, outF, live, method === 'dora', r));
    });
  }
  const t = (shape: number[]): HostTensor => ({
    shape,
    data: Float32Array.from({ length: shape.reduce((a, b) => a * b) }, r),
  });
  const head = new Map([
    ['classifier.dense.weight', t([4, 4])],
    ['classifier.dense.bias', t([4])],
    ['classifier.out_proj.weight', t([2, 4])],
    ['classifier.out_proj.bias', t([2])],
  ]);
  return {
    modelType: 'roberta',
    task: 'SEQ_CLS',
    baseModel: 'roberta-base',
    method,
    alpha: 8,
    scale: 8 / 3,
    useRslora: false,
    dropout: 0.1,
    targetTypes: ['query', 'key', 'value', 'attention.output.dense', 'intermediate.dense', 'output.dense'],
    numLayers: 2,
    modules,
    head,
  };
}

const CONFIG_KEYS = [
  'alpha_pattern',
  'base_model_name_or_path',
  'bias',
  'fan_in_fan_out',
  'inference_mode',
  'init_lora_weights',
  'layers_pattern',
  'layers_to_transform',
  'lora_alpha',
  'lora_dropout',
  'modules_to_save',
  'peft_type',
  'r',
  'rank_pattern',
  'revision',
  'target_modules',
  'task_type',
  'use_dora',
  'use_rslora',
];

const liveCount = (m: AdapterModuleState) => m.live.filter(Boolean).length;

describe('exportPeft: GPT-2 dynamic rank', () => {
  const input = gpt2Input();
  const { adapterConfig: cfg, adapterModel, rankMap } = exportPeft(input);
  const st = parseSafetensors(adapterModel, 'adapter_model.safetensors');

  it('writes lora_A (r,in) / lora_B (out,r) for live modules only, F32, metadata format pt', () => {
    expect(st.metadata).toEqual({ format: 'pt' });
    const expected = new Map<string, number[]>();
    for (const m of input.modules) {
      const r = liveCount(m);
      if (r === 0) continue;
      expected.set(`base_model.model.transformer.${m.name}.lora_A.weight`, [r, m.inF]);
      expected.set(`base_model.model.transformer.${m.name}.lora_B.weight`, [m.outF, r]);
    }
    expect(new Set(st.tensors.keys())).toEqual(new Set(expected.keys()));
    for (const [name, e] of st.tensors) {
      expect(e.dtype).toBe('F32');
      expect(e.shape).toEqual(expected.get(name));
    }
    expect([...st.tensors.keys()].some((k) => k.includes('h.1.mlp.c_fc'))).toBe(false);
  });

  it('folds scale and c into B and keeps only live rows of A', () => {
    const m = input.modules[0]; // live [0, 2]
    const A = toFloat32(st.tensors.get('base_model.model.transformer.h.0.attn.c_attn.lora_A.weight')!);
    const B = toFloat32(st.tensors.get('base_model.model.transformer.h.0.attn.c_attn.lora_B.weight')!);
    expect(Array.from(A.subarray(4, 8))).toEqual(Array.from(m.A.subarray(8, 12)));
    for (let o = 0; o < m.outF; o++) expect(B[o * 2 + 1]).toBeCloseTo(input.scale * m.B[o * 3 + 2] * m.c![2], 6);
  });

  it('writes exactly the standard config keys with scaling 1 for every module', () => {
    expect(Object.keys(cfg)).toEqual(CONFIG_KEYS);
    expect(cfg).toMatchObject({
      peft_type: 'LORA',
      task_type: 'CAUSAL_LM',
      base_model_name_or_path: 'gpt2',
      bias: 'none',
      fan_in_fan_out: true,
      use_dora: false,
      use_rslora: false,
      init_lora_weights: true,
      inference_mode: true,
      lora_dropout: 0.1,
      modules_to_save: null,
      layers_to_transform: null,
      layers_pattern: null,
      revision: null,
    });
    const live = input.modules.filter((m) => liveCount(m) > 0);
    expect(cfg.target_modules).toEqual(live.map((m) => `transformer.${m.name}`));
    const rp = cfg.rank_pattern as Record<string, number>;
    expect(cfg.alpha_pattern).toEqual(rp);
    expect(Object.keys(rp)).toEqual(cfg.target_modules);
    const total = input.modules.reduce((a, m) => a + liveCount(m), 0);
    expect(Object.values(rp).reduce((a, b) => a + b, 0)).toBe(total);
    expect(cfg.r).toBe(2); // ranks 2,3,1,2,2,2,2: most common
    expect(cfg.lora_alpha).toBe(cfg.r);
  });

  it('builds the rank map (rows x layers, zero where pruned)', () => {
    expect(rankMap).toEqual({
      method: 'dora',
      moduleTypes: ['attn.c_attn', 'attn.c_proj', 'mlp.c_fc', 'mlp.c_proj'],
      layers: 2,
      R0: 3,
      ranks: [
        [2, 2],
        [3, 2],
        [1, 0],
        [2, 2],
      ],
      total: 14,
      retainedParams: input.modules.reduce((a, m) => a + liveCount(m) * (m.inF + m.outF), 0),
      provisional: false,
    });
  });
});

describe('exportPeft: RoBERTa sequence classification', () => {
  it('prefixes roberta., saves the classifier under base_model.model. and orders rank-map rows Wq..Wf2', () => {
    const input = robertaInput();
    const { adapterConfig: cfg, adapterModel, rankMap } = exportPeft(input);
    const st = parseSafetensors(adapterModel);
    expect(Object.keys(cfg)).toEqual(CONFIG_KEYS);
    expect(cfg).toMatchObject({
      task_type: 'SEQ_CLS',
      modules_to_save: ['classifier'],
      fan_in_fan_out: false,
      base_model_name_or_path: 'roberta-base',
    });
    expect(st.tensors.get('base_model.model.roberta.encoder.layer.1.output.dense.lora_A.weight')!.shape).toEqual([
      3, 8,
    ]);
    expect(st.tensors.get('base_model.model.roberta.encoder.layer.0.intermediate.dense.lora_B.weight')!.shape).toEqual([
      8, 3,
    ]);
    for (const [name, t] of input.head) {
      const e = st.tensors.get(`base_model.model.${name}`)!;
      expect(e.shape).toEqual(t.shape);
      expect(Array.from(toFloat32(e))).toEqual(Array.from(t.data));
    }
    expect(rankMap.moduleTypes).toEqual([
      'query',
      'key',
      'value',
      'attention.output.dense',
      'intermediate.dense',
      'output.dense',
    ]);
    expect(rankMap.ranks.map((row) => row.length)).toEqual([2, 2, 2, 2, 2, 2]);
    expect(rankMap.ranks[2]).toEqual([2, 1]); // value: live [false,true,(j+l)%2==0]
    const rp = cfg.rank_pattern as Record<string, number>;
    expect(Object.values(rp).reduce((a, b) => a + b, 0)).toBe(rankMap.total);
  });
});

describe('exportPeft: LoRA', () => {
  it('keeps A, B and alpha as they are when ranks are equal', () => {
    const input = { ...robertaInput('lora'), scale: 8 / 3 };
    const { adapterConfig: cfg, adapterModel } = exportPeft(input);
    expect(cfg).toMatchObject({ r: 3, lora_alpha: 8, rank_pattern: {}, alpha_pattern: {}, use_rslora: false });
    const st = parseSafetensors(adapterModel);
    const B = toFloat32(st.tensors.get('base_model.model.roberta.encoder.layer.0.attention.self.query.lora_B.weight')!);
    expect(Array.from(B)).toEqual(Array.from(input.modules[0].B));
  });

  it('writes use_rslora and keeps alpha when scale = alpha/sqrt(r)', () => {
    const { adapterConfig: cfg } = exportPeft({ ...robertaInput('lora'), useRslora: true, scale: 8 / Math.sqrt(3) });
    expect(cfg).toMatchObject({ r: 3, lora_alpha: 8, use_rslora: true });
  });

  it('uses rank/alpha patterns giving scaling = scale when ranks differ', () => {
    const input = robertaInput('lora');
    input.modules[0].live = [true, false, false];
    const { adapterConfig: cfg } = exportPeft(input);
    const rp = cfg.rank_pattern as Record<string, number>;
    const ap = cfg.alpha_pattern as Record<string, number>;
    expect(Object.keys(rp)).toHaveLength(12);
    for (const k of Object.keys(rp)) expect(ap[k] / rp[k]).toBeCloseTo(input.scale, 12);
    expect(rp['roberta.encoder.layer.0.attention.self.query']).toBe(1);
  });
});

describe('exportPeft rejections', () => {
  const code = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      expect(e).toBeInstanceOf(PeftError);
      return (e as PeftError).code;
    }
    return 'no error';
  };
  it('rejects unknown modules, bad shapes, empty adapters and head mismatches', () => {
    const a = gpt2Input();
    a.modules[0] = { ...a.modules[0], name: 'h.0.attn.q_proj' };
    expect(code(() => exportPeft(a))).toBe('UnknownModule');
    const b = gpt2Input();
    b.modules[1] = { ...b.modules[1], A: new Float32Array(3) };
    expect(code(() => exportPeft(b))).toBe('InvalidInput');
    const c = gpt2Input();
    for (const m of c.modules) m.live = [false, false, false];
    expect(code(() => exportPeft(c))).toBe('InvalidInput');
    expect(code(() => exportPeft({ ...robertaInput(), head: new Map() }))).toBe('InvalidInput');
    const d = robertaInput();
    d.head.set('pooler.dense.weight', { shape: [1], data: new Float32Array(1) });
    expect(code(() => exportPeft(d))).toBe('InvalidInput');
    const e = gpt2Input();
    e.numLayers = 1;
    expect(code(() => exportPeft(e))).toBe('InvalidInput');
  });
});
