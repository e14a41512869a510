// RoPE reference: inverse frequencies (default and llama3 scaling) against values from a float64 numpy transcription
// of transformers' _compute_default_rope_parameters / _compute_llama3_parameters, the table layout, a hand-checked
// rotation in the rotate_half layout, the backward against float64 central differences (strided views, position
// offset, in place), and config parsing: supported forms and typed refusals.

import { describe, expect, it } from 'vitest';
import { expectClose, randF64 } from '../../tests/helpers/check';
import { dot, expectGradClose, numericGrad } from '../../tests/helpers/gradcheck';
import { parseRopeConfig, RopeConfigError } from '../models/arch/llamaRope';
import { ModelFormatError } from '../models/errors';
import type { RopeParams } from '../tensor/backend';
import { fillRopeTable, type RopeConfig, ropeBackwardRef, ropeInvFreq, ropeRef, ropeTable } from './rope';

// Llama 3.2's rope (config.json): rope_theta 500000 and llama3 scaling with factor 32, head_dim 64.
const LLAMA32 = {
  rope_theta: 500000,
  rope_scaling: {
    rope_type: 'llama3',
    factor: 32.0,
    low_freq_factor: 1.0,
    high_freq_factor: 4.0,
    original_max_position_embeddings: 8192,
  },
};

describe('rope inverse frequencies', () => {
  it('default: theta^(-2i/D)', () => {
    const inv = ropeInvFreq({ headDim: 8, theta: 10000, scaling: { type: 'default' } });
    expectClose(inv, [1, 0.1, 0.01, 0.001], 1e-15, 1e-14, 'inv_freq');
  });

  it('llama3 scaling matches transformers in all three regimes (keep, blend, divide by factor)', () => {
    const inv = ropeInvFreq(parseRopeConfig(LLAMA32, { headDim: 64 }));
    // i -> value printed by tools/rope_gold.py (a float64 numpy transcription of the transformers code).
    const gold: [number, number][] = [
      [0, 1.0],
      [1, 0.6636012376960885],
      [14, 0.0032114459947525913], // wavelength < 8192/4: unchanged
      [15, 0.001290547928209264],
      [16, 0.00042955679655936815],
      [17, 9.70828780262767e-5], // blended
      [18, 1.9461638184831125e-5],
      [31, 9.418306725434911e-8], // wavelength > 8192: divided by 32
    ];
    for (const [i, v] of gold) expect(Math.abs(inv[i] - v) / v, `inv_freq[${i}]`).toBeLessThan(1e-13);
  });

  it('the table holds [cos | sin] of position * inv_freq per row', () => {
    const cfg = parseRopeConfig(LLAMA32, { headDim: 64 });
    const t = ropeTable(cfg, 4096);
    const row = 4095 * 64;
    // cos/sin of 4095 * inv_freq[i], also from tools/rope_gold.py.
    expectClose(
      [t[row], t[row + 16], t[row + 31]],
      [-0.0659759965580649, -0.1871290530167112, 0.9999999256256007],
      2e-7,
      0,
      'cos',
    );
    expectClose(
      [t[row + 32], t[row + 48], t[row + 63]],
      [-0.9978212103769744, 0.9823353386278378, 0.00038567965084499524],
      2e-7,
      0,
      'sin',
    );
    expect(Array.from(t.subarray(0, 64))).toEqual([...new Array(32).fill(1), ...new Array(32).fill(0)]);
  });
});

describe('rope rotation', () => {
  it('rotates channel i with channel i + D/2 (rotate_half), not adjacent pairs', () => {
    // D = 4, one position 1 with inv_freq [1, theta^-1/2]: angle 1 for pair (0, 2), angle 0.01 for pair (1, 3).
    const cfg: RopeConfig = { headDim: 4, theta: 10000, scaling: { type: 'default' } };
    const table = fillRopeTable(new Float64Array(2 * 4), cfg, 2);
    const p: RopeParams = { B: 1, T: 1, H: 1, D: 4, stride: 4, offset: 0, posOffset: 1 };
    const x = Float64Array.from([1, 2, 3, 4]),
      out = new Float64Array(4);
    ropeRef(out, x, table, p);
    const c1 = Math.cos(1),
      s1 = Math.sin(1),
      c2 = Math.cos(0.01),
      s2 = Math.sin(0.01);
    expectClose(out, [1 * c1 - 3 * s1, 2 * c2 - 4 * s2, 3 * c1 + 1 * s1, 4 * c2 + 2 * s2], 1e-15, 0, 'out');
  });

  it('position 0 is the identity, and the backward undoes the forward (rotation by -angle)', () => {
    const cfg: RopeConfig = { headDim: 6, theta: 100, scaling: { type: 'default' } };
    const table = fillRopeTable(new Float64Array(5 * 6), cfg, 5);
    const p: RopeParams = { B: 2, T: 5, H: 2, D: 6, stride: 12, offset: 0 };
    const x = randF64(2 * 5 * 12, 1),
      y = new Float64Array(x.length),
      back = new Float64Array(x.length);
    ropeRef(y, x, table, p);
    expectClose(y.subarray(0, 12), x.subarray(0, 12), 0, 0, 'position 0');
    ropeBackwardRef(back, y, table, p);
    expectClose(back, x, 1e-15, 0, 'inverse');
  });

  const cases: [string, RopeParams][] = [
    ['contiguous q', { B: 2, T: 3, H: 2, D: 4, stride: 8, offset: 0 }],
    [
      'k view inside a fused qkv (stride, offset) with a position offset',
      { B: 2, T: 3, H: 1, D: 6, stride: 17, offset: 5, posOffset: 4 },
    ],
  ];
  it.each(cases)('dx matches central differences: %s; channels outside the view are untouched', (_name, p) => {
    const cfg: RopeConfig = { headDim: p.D, theta: 50, scaling: { type: 'default' } };
    const table = fillRopeTable(new Float64Array(10 * p.D), cfg, 10);
    const n = p.B * p.T * p.stride;
    const x = randF64(n, 3),
      g = randF64(n, 4),
      out = new Float64Array(n);
    const loss = () => {
      ropeRef(out, x, table, p);
      return dot(out, g);
    };
    const num = numericGrad(loss, x);
    const dx = new Float64Array(n).fill(7);
    ropeBackwardRef(dx, g, table, p);
    const inView = (e: number) => e % p.stride >= p.offset && e % p.stride < p.offset + p.H * p.D;
    expectGradClose(
      dx,
      num.map((v, e) => (inView(e) ? v : 7)),
      'rope x',
    );
    // In place gives the same as out of place.
    const inPlace = g.slice();
    ropeBackwardRef(inPlace, inPlace, table, p);
    expectClose(
      inPlace.filter((_, e) => inView(e)),
      dx.filter((_, e) => inView(e)),
      0,
      0,
      'in place',
    );
  });

  it('refuses a table too short for posOffset + T and an odd D', () => {
    const p: RopeParams = { B: 1, T: 3, H: 1, D: 4, stride: 4, offset: 0, posOffset: 2 };
    const x = new Float64Array(12);
    expect(() => ropeRef(x, x, new Float64Array(4 * 4), p)).toThrow(/table 16 < 20/);
    expect(() => ropeRef(x, x, new Float64Array(100), { ...p, D: 3, stride: 3 })).toThrow(/D must be even/);
  });
});

describe('rope config', () => {
  it('reads rope_theta (default 10000), rope_scaling null / default / llama3, old key "type", rope_parameters', () => {
    expect(parseRopeConfig({}, { headDim: 64 })).toEqual({ headDim: 64, theta: 10000, scaling: { type: 'default' } });
    expect(parseRopeConfig({ rope_theta: 1e6, rope_scaling: null }, { headDim: 128 }).theta).toBe(1e6);
    const dflt = parseRopeConfig({ rope_scaling: { rope_type: 'default' } }, { headDim: 8 });
    expect(dflt.scaling).toEqual({ type: 'default' });
    const llama = parseRopeConfig(LLAMA32, { headDim: 64 });
    expect(llama.scaling).toEqual({
      type: 'llama3',
      factor: 32,
      lowFreqFactor: 1,
      highFreqFactor: 4,
      originalMaxPositionEmbeddings: 8192,
    });
    const { rope_type: _t, ...rest } = LLAMA32.rope_scaling;
    const oldKey = { rope_theta: 500000, rope_scaling: { type: 'llama3', ...rest } };
    expect(parseRopeConfig(oldKey, { headDim: 64 })).toEqual(llama);
    const combined = { rope_parameters: { rope_theta: 500000, ...LLAMA32.rope_scaling } };
    expect(parseRopeConfig(combined, { headDim: 64 })).toEqual(llama);
    const table = ropeTable(parseRopeConfig(LLAMA32, { headDim: 64 }), 3);
    expect(table.length).toBe(3 * 64);
  });

  it.each([
    [{ rope_scaling: { rope_type: 'yarn', factor: 4 } }, 'rope_scaling.rope_type', /"yarn" is not supported/],
    [{ rope_scaling: { type: 'linear', factor: 2 } }, 'rope_scaling.type', /"linear" is not supported/],
    [{ rope_parameters: { rope_type: 'dynamic', rope_theta: 1e4 } }, 'rope_parameters.rope_type', /"dynamic"/],
    [{ rope_scaling: { ...LLAMA32.rope_scaling, factor: undefined } }, 'rope_scaling.factor', /positive number/],
    [{ rope_scaling: { ...LLAMA32.rope_scaling, high_freq_factor: 1 } }, 'rope_scaling.high_freq_factor', /exceed/],
    [{ rope_theta: '1e4' }, 'rope_theta', /number > 1/],
    [{ rope_scaling: 'llama3' }, 'rope_scaling', /object or null/],
    [{ partial_rotary_factor: 0.5 }, 'partial_rotary_factor', /not supported/],
  ] as [Record<string, unknown>, string, RegExp][])('refuses %j naming field %s', (raw, field, msg) => {
    let err: unknown;
    try {
      parseRopeConfig(raw, { headDim: 64, file: 'models/x/config.json' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RopeConfigError);
    expect(err).toBeInstanceOf(ModelFormatError);
    const e = err as RopeConfigError;
    expect(e.field).toBe(field);
    expect(e.file).toBe('models/x/config.json');
    expect(e.message).toMatch(msg);
    expect(e.message).toMatch(/^models\/x\/config\.json: /);
  });

  it('refuses an odd head_dim', () => {
    expect(() => parseRopeConfig({}, { headDim: 63 })).toThrow(RopeConfigError);
  });
});
