// importPeft: the export->import round trip preserves every module's update, tolerant reading of foreign adapters,
// and each rejection.

import { describe, expect, it } from 'vitest';
import { ModelFormatError } from '../models/errors';
import { type WritableTensor, writeSafetensors } from '../models/safetensorsWrite';
import { Rng } from '../tensor/rng';
import { type AdapterExportInput, type AdapterModuleState, exportPeft, PeftError } from './export';
import { importPeft } from './import';

/** Uniform values in [-0.5, 0.5) from the engine's seeded PRNG. */
function rng(seed: number): () => number {
  const r = new Rng(seed);
  return () => r.next() - 0.5;
}

const SHAPES: Record<'gpt2' | 'roberta', [string, number, number][]> = {
  gpt2: [
    ['attn.c_attn', 4, 12],
    ['attn.c_proj', 4, 4],
    ['mlp.c_fc', 4, 16],
    ['mlp.c_proj', 16, 4],
  ],
  roberta: [
    ['attention.self.query', 4, 4],
    ['attention.self.key', 4, 4],
    ['attention.self.value', 4, 4],
    ['attention.output.dense', 4, 4],
    ['intermediate.dense', 4, 8],
    ['output.dense', 8, 4],
  ],
};

/** 2-layer adapter with R0 = 3; dynamic rank gets pseudo-random masks including one zero-rank module. */
function input(
  modelType: 'gpt2' | 'roberta',
  method: 'dora' | 'lora',
  useRslora = false,
  seed = 3,
): AdapterExportInput {
  const r = rng(seed);
  const fill = (n: number, s: number) => Float32Array.from({ length: n }, () => r() * s);
  const modules: AdapterModuleState[] = [];
  for (let l = 0; l < 2; l++) {
    SHAPES[modelType].forEach(([p, inF, outF], j) => {
      const live = method === 'lora' ? [true, true, true] : [0, 1, 2].map((k) => (l * 7 + j * 3 + k) % 4 !== 0);
      if (method === 'dora' && l === 1 && j === 1) live.fill(false);
      const name = modelType === 'gpt2' ? `h.${l}.${p}` : `encoder.layer.${l}.${p}`;
      modules.push({
        name,
        inF,
        outF,
        R0: 3,
        A: fill(3 * inF, 0.4),
        B: fill(outF * 3, 2),
        c: method === 'dora' ? fill(3, 1) : null,
        live,
      });
    });
  }
  const seq = modelType !== 'gpt2';
  const head = new Map(seq ? [['classifier.out_proj.weight', { shape: [2, 4], data: fill(8, 1) }]] : []);
  const scale = method === 'dora' ? 8 / 3 : useRslora ? 8 / Math.sqrt(3) : 8 / 3;
  return {
    modelType,
    task: seq ? 'SEQ_CLS' : 'CAUSAL_LM',
    baseModel: modelType,
    method,
    alpha: 8,
    scale,
    useRslora,
    dropout: 0.1,
    targetTypes: SHAPES[modelType].map(([p]) => p),
    numLayers: 2,
    modules,
    head,
  };
}

/** scale·B·diag(c)·A over live components, written out independently of merge.ts. */
function memoryUpdate(m: AdapterModuleState, scale: number): Float64Array {
  const d = new Float64Array(m.outF * m.inF);
  for (let k = 0; k < m.R0; k++) {
    if (!m.live[k]) continue;
    const c = m.c === null ? 1 : m.c[k];
    for (let o = 0; o < m.outF; o++)
      for (let i = 0; i < m.inF; i++) d[o * m.inF + i] += scale * m.B[o * m.R0 + k] * c * m.A[k * m.inF + i];
  }
  return d;
}

function loraUpdate(
  B: Float32Array,
  A: Float32Array,
  r: number,
  outF: number,
  inF: number,
  scaling: number,
): Float64Array {
  const d = new Float64Array(outF * inF);
  for (let o = 0; o < outF; o++)
    for (let k = 0; k < r; k++) for (let i = 0; i < inF; i++) d[o * inF + i] += scaling * B[o * r + k] * A[k * inF + i];
  return d;
}

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

describe('export -> import round trip', () => {
  const cases: [string, AdapterExportInput][] = [
    ['GPT-2 dynamic rank', input('gpt2', 'dora')],
    ['RoBERTa dynamic rank', input('roberta', 'dora')],
    ['GPT-2 LoRA', input('gpt2', 'lora')],
    ['RoBERTa LoRA rsLoRA', input('roberta', 'lora', true)],
    [
      'GPT-2 LoRA, mixed ranks',
      (() => {
        const x = input('gpt2', 'lora');
        x.modules[2].live = [false, true, false];
        return x;
      })(),
    ],
  ];
  for (const [label, inp] of cases) {
    it(`${label}: scaling·B·A equals scale·B·diag(c)·A on live components (< 1e-6)`, () => {
      const { adapterConfig, adapterModel } = exportPeft(inp);
      const imp = importPeft(JSON.stringify(adapterConfig, null, 2), adapterModel, inp.modelType);
      expect(imp.warnings).toEqual([]);
      const live = inp.modules.filter((m) => m.live.some(Boolean));
      expect(imp.modules.map((m) => m.name)).toEqual(live.map((m) => m.name));
      for (const m of live) {
        const got = imp.modules.find((x) => x.name === m.name)!;
        expect([got.inF, got.outF, got.r]).toEqual([m.inF, m.outF, m.live.filter(Boolean).length]);
        const diff = maxDiff(
          loraUpdate(got.B, got.A, got.r, got.outF, got.inF, got.scaling),
          memoryUpdate(m, inp.scale),
        );
        expect(diff).toBeLessThan(1e-6);
      }
      expect([...imp.head.keys()]).toEqual([...inp.head.keys()]);
      for (const [k, t] of inp.head) expect(Array.from(imp.head.get(k)!.data)).toEqual(Array.from(t.data));
    });
  }
});

/** A hand-written foreign adapter: GPT-2 modules by (path as stored, rank). */
function foreign(mods: [string, number][], extra: WritableTensor[] = []): Uint8Array {
  const r = rng(9);
  const t: WritableTensor[] = [...extra];
  for (const [key, rank] of mods) {
    const [aKey, bKey] = key.includes('{AB}')
      ? [key.replace('{AB}', 'lora_A'), key.replace('{AB}', 'lora_B')]
      : [`${key}.lora_A.weight`, `${key}.lora_B.weight`];
    t.push({ name: aKey, dtype: 'F32', shape: [rank, 4], data: Float32Array.from({ length: rank * 4 }, r) });
    t.push({ name: bKey, dtype: 'F32', shape: [12, rank], data: Float32Array.from({ length: 12 * rank }, r) });
  }
  return writeSafetensors(t);
}

const cfg = (o: Record<string, unknown>) => JSON.stringify({ peft_type: 'LORA', r: 4, lora_alpha: 16, ...o });

describe('importPeft tolerance', () => {
  it('accepts .default adapter names, missing prefixes, unknown keys and fan_in_fan_out false for GPT-2', () => {
    const bytes = foreign(
      [
        ['base_model.model.transformer.h.0.attn.c_attn.{AB}.default.weight', 4],
        ['base_model.model.h.1.attn.c_attn', 2],
        ['transformer.h.2.attn.c_attn', 4],
      ],
      [
        {
          name: 'base_model.model.classifier.modules_to_save.default.weight',
          dtype: 'F32',
          shape: [1],
          data: new Float32Array([5]),
        },
        {
          name: 'base_model.model.classifier.original_module.weight',
          dtype: 'F32',
          shape: [1],
          data: new Float32Array([0]),
        },
      ],
    );
    const json = cfg({
      fan_in_fan_out: false,
      lora_bias: false,
      exclude_modules: null,
      target_parameters: null,
      megatron_config: null,
      foo: { bar: 1 },
    });
    const imp = importPeft(json, bytes, 'gpt2');
    expect(imp.modules.map((m) => [m.name, m.r, m.inF, m.outF, m.scaling])).toEqual([
      ['h.0.attn.c_attn', 4, 4, 12, 4],
      ['h.1.attn.c_attn', 2, 4, 12, 8],
      ['h.2.attn.c_attn', 4, 4, 12, 4],
    ]);
    expect(imp.warnings).toHaveLength(1); // h.1: config r = 4, tensors rank 2
    expect([...imp.head.keys()]).toEqual(['classifier.weight']);
    expect((imp.config as { foo: unknown }).foo).toEqual({ bar: 1 });
  });

  it('uses alpha/sqrt(r) with use_rslora', () => {
    const imp = importPeft(
      cfg({ use_rslora: true }),
      foreign([['base_model.model.transformer.h.0.mlp.c_proj', 4]]),
      'gpt2',
    );
    expect(imp.modules[0].scaling).toBeCloseTo(16 / 2, 12);
  });

  it('matches patterns like PEFT: h.1 does not hit h.11, and the first matching key wins', () => {
    const bytes = foreign([
      ['base_model.model.transformer.h.1.attn.c_attn', 4],
      ['base_model.model.transformer.h.11.attn.c_attn', 4],
      ['base_model.model.transformer.h.3.attn.c_attn', 4],
    ]);
    const imp = importPeft(cfg({ alpha_pattern: { 'h.1.attn.c_attn': 32 } }), bytes, 'gpt2');
    expect(imp.modules.map((m) => [m.name, m.scaling])).toEqual([
      ['h.1.attn.c_attn', 8],
      ['h.3.attn.c_attn', 4],
      ['h.11.attn.c_attn', 4],
    ]);
    const first = importPeft(
      cfg({ alpha_pattern: { c_attn: 8, 'transformer.h.1.attn.c_attn': 32 }, rank_pattern: { 'h.1.attn.c_attn': 4 } }),
      bytes,
      'gpt2',
    );
    expect(first.modules.map((m) => m.scaling)).toEqual([2, 2, 2]);
    expect(first.warnings).toEqual([]);
  });

  it('a pathological rank_pattern key returns the right answer (Python and JS regexes take minutes on it)', () => {
    const P = 'base_model.model.transformer';
    const bytes = foreign([
      [`${P}.h.1.attn.c_attn`, 4],
      [`${P}.h.2.mlp.c_fc`, 4],
    ]);
    const pattern = { '(.*.*)*z': 2, 'h\\.\\d+\\.mlp\\.c_fc': 4, c_attn: 4 };
    const alpha = { '(.*.*)*z': 64, '(c_attn|c_fc)': 32 };
    const imp = importPeft(cfg({ r: 8, rank_pattern: pattern, alpha_pattern: alpha }), bytes, 'gpt2');
    expect(imp.modules.map((m) => [m.name, m.scaling])).toEqual([
      ['h.1.attn.c_attn', 8],
      ['h.2.mlp.c_fc', 8],
    ]);
    expect(imp.warnings).toEqual([]); // both ranks come from the patterns (4), not r = 8
  });

  it('reads BERT adapters with and without the bert. prefix', () => {
    const t = (name: string, shape: number[]): WritableTensor => ({
      name,
      dtype: 'F32',
      shape,
      data: new Float32Array(shape[0] * shape[1]),
    });
    const bytes = writeSafetensors([
      t('base_model.model.bert.encoder.layer.0.attention.self.query.lora_A.weight', [2, 4]),
      t('base_model.model.bert.encoder.layer.0.attention.self.query.lora_B.weight', [4, 2]),
      t('base_model.model.encoder.layer.0.output.dense.lora_A.weight', [2, 8]),
      t('base_model.model.encoder.layer.0.output.dense.lora_B.weight', [4, 2]),
    ]);
    const imp = importPeft(cfg({ r: 2 }), bytes, 'bert');
    expect(imp.modules.map((m) => [m.name, m.inF, m.outF])).toEqual([
      ['encoder.layer.0.attention.self.query', 4, 4],
      ['encoder.layer.0.output.dense', 8, 4],
    ]);
  });
});

describe('importPeft rejections', () => {
  const ok = foreign([['base_model.model.transformer.h.0.attn.c_attn', 4]]);
  const fails = (f: () => unknown, code: string, file: string, field: string | RegExp) => {
    let err: unknown;
    try {
      f();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PeftError);
    expect(err).toBeInstanceOf(ModelFormatError);
    const e = err as PeftError;
    expect([e.code, e.file]).toEqual([code, file]);
    expect(e.field).toMatch(field);
    expect(e.message).toContain(file);
  };
  it('rejects non-LoRA peft types and use_dora', () => {
    fails(() => importPeft(cfg({ peft_type: 'ADALORA' }), ok, 'gpt2'), 'NotLora', 'adapter_config.json', 'peft_type');
    fails(() => importPeft(cfg({ use_dora: true }), ok, 'gpt2'), 'UseDora', 'adapter_config.json', 'use_dora');
  });
  it('rejects HTML and invalid JSON configs, and an HTML adapter file', () => {
    fails(
      () => importPeft('<!DOCTYPE html><html>login</html>', ok, 'gpt2'),
      'InvalidConfig',
      'adapter_config.json',
      'file',
    );
    fails(() => importPeft('{"r": 4,', ok, 'gpt2'), 'InvalidConfig', 'adapter_config.json', 'file');
    fails(
      () => importPeft(cfg({}), new TextEncoder().encode('\n<html><body>404</body></html>'), 'gpt2'),
      'InvalidConfig',
      'adapter_model.safetensors',
      'file',
    );
  });
  it('rejects pattern keys outside the supported subset, naming the key', () => {
    const bad = [
      ['rank_pattern', '(?=h)c_attn'],
      ['alpha_pattern', '(a)\\1'],
      ['rank_pattern', 'c_attn['],
    ];
    for (const [field, key] of bad) {
      const f = () => importPeft(cfg({ [field]: { [key]: 4 } }), ok, 'gpt2');
      fails(f, 'BadPattern', 'adapter_config.json', `${field}.${key}`);
    }
  });
  it('rejects a lora_B whose rank differs from lora_A', () => {
    const bytes = writeSafetensors([
      {
        name: 'base_model.model.transformer.h.0.attn.c_attn.lora_A.weight',
        dtype: 'F32',
        shape: [4, 4],
        data: new Float32Array(16),
      },
      {
        name: 'base_model.model.transformer.h.0.attn.c_attn.lora_B.weight',
        dtype: 'F32',
        shape: [12, 3],
        data: new Float32Array(36),
      },
    ]);
    fails(() => importPeft(cfg({}), bytes, 'gpt2'), 'RankMismatch', 'adapter_model.safetensors', /lora_B/);
  });
  it('rejects modules that are not adaptable linears of the model type', () => {
    fails(
      () => importPeft(cfg({}), foreign([['base_model.model.model.layers.0.self_attn.q_proj', 4]]), 'gpt2'),
      'UnknownModule',
      'adapter_model.safetensors',
      /q_proj/,
    );
    fails(() => importPeft(cfg({}), ok, 'roberta'), 'UnknownModule', 'adapter_model.safetensors', /c_attn/);
  });
  it('rejects lora_bias tensors and missing halves', () => {
    const bias: WritableTensor = {
      name: 'base_model.model.transformer.h.0.attn.c_attn.lora_B.bias',
      dtype: 'F32',
      shape: [12],
      data: new Float32Array(12),
    };
    fails(
      () =>
        importPeft(
          cfg({ lora_bias: true }),
          foreign([['base_model.model.transformer.h.0.attn.c_attn', 4]], [bias]),
          'gpt2',
        ),
      'LoraBias',
      'adapter_model.safetensors',
      /lora_B\.bias/,
    );
    const half = writeSafetensors([
      {
        name: 'base_model.model.transformer.h.0.attn.c_attn.lora_A.weight',
        dtype: 'F32',
        shape: [4, 4],
        data: new Float32Array(16),
      },
    ]);
    fails(() => importPeft(cfg({}), half, 'gpt2'), 'MissingTensor', 'adapter_model.safetensors', /lora_B/);
  });
});
