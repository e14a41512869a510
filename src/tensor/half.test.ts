import { describe, expect, it } from 'vitest';
import {
  bf16ToF32,
  decodeBf16,
  decodeBf16Bytes,
  decodeF16,
  decodeF16Bytes,
  encodeBf16,
  encodeF16,
  f16ToF32,
  f32Bits,
  f32FromBits,
  f32ToBf16,
  f32ToF16,
} from './half';
import { Rng } from './rng';

const isF16NaN = (h: number) => (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;
const isBf16NaN = (b: number) => (b & 0x7f80) === 0x7f80 && (b & 0x7f) !== 0;

describe('f16 decode', () => {
  it('decodes normals, subnormals, zeros, infinities and NaN', () => {
    expect(f16ToF32(0x3c00)).toBe(1);
    expect(f16ToF32(0xc000)).toBe(-2);
    expect(f16ToF32(0x3555)).toBe(0.333251953125);
    expect(f16ToF32(0x7bff)).toBe(65504);
    expect(f16ToF32(0x0400)).toBe(2 ** -14); // smallest normal
    expect(f16ToF32(0x0001)).toBe(2 ** -24); // smallest subnormal
    expect(f16ToF32(0x03ff)).toBe(1023 * 2 ** -24); // largest subnormal
    expect(f16ToF32(0x8001)).toBe(-(2 ** -24));
    expect(Object.is(f16ToF32(0x0000), 0)).toBe(true);
    expect(Object.is(f16ToF32(0x8000), -0)).toBe(true);
    expect(f16ToF32(0x7c00)).toBe(Infinity);
    expect(f16ToF32(0xfc00)).toBe(-Infinity);
    expect(f16ToF32(0x7e00)).toBeNaN();
    expect(f16ToF32(0x7c01)).toBeNaN(); // signalling
    expect(f16ToF32(0xffff)).toBeNaN();
  });

  it('table decode matches scalar decode for all 65,536 patterns, aligned and unaligned bytes', () => {
    const bits = new Uint16Array(65536).map((_, i) => i);
    const viaTable = decodeF16(bits);
    const raw = new Uint8Array(1 + 2 * 65536);
    raw.set(new Uint8Array(bits.buffer), 1);
    const viaBytes = decodeF16Bytes(raw.subarray(1));
    const bad: number[] = [];
    for (let h = 0; h < 65536; h++) {
      const v = f16ToF32(h);
      const ok = Number.isNaN(v)
        ? Number.isNaN(viaTable[h]) && Number.isNaN(viaBytes[h])
        : Object.is(viaTable[h], v) && Object.is(viaBytes[h], v);
      if (!ok) bad.push(h);
    }
    expect(bad).toEqual([]);
  });
});

describe('f16 encode (round to nearest even)', () => {
  it('handles exact values, overflow and the ±0/±Inf/NaN specials', () => {
    expect(f32ToF16(1)).toBe(0x3c00);
    expect(f32ToF16(-2)).toBe(0xc000);
    expect(f32ToF16(65504)).toBe(0x7bff);
    expect(f32ToF16(65519)).toBe(0x7bff); // just below the midpoint to 65536
    expect(f32ToF16(65520)).toBe(0x7c00); // midpoint ties to even = Inf
    expect(f32ToF16(1e10)).toBe(0x7c00);
    expect(f32ToF16(-1e10)).toBe(0xfc00);
    expect(f32ToF16(Infinity)).toBe(0x7c00);
    expect(f32ToF16(-Infinity)).toBe(0xfc00);
    expect(f32ToF16(0)).toBe(0x0000);
    expect(f32ToF16(-0)).toBe(0x8000);
    expect(isF16NaN(f32ToF16(NaN))).toBe(true);
    expect(isF16NaN(f16BitsOfF32Bits(0x7f800001))).toBe(true); // lowest-payload signalling NaN must not become Inf
    expect(isF16NaN(f16BitsOfF32Bits(0xff800001))).toBe(true);
    expect(f16BitsOfF32Bits(0xff800001) & 0x8000).toBe(0x8000);
  });

  it('rounds subnormals, including ties to even', () => {
    const s = 2 ** -24;
    expect(f32ToF16(s)).toBe(0x0001);
    expect(f32ToF16(s / 2)).toBe(0x0000); // tie between 0 and 1 → 0 (even)
    expect(f32ToF16(-s / 2)).toBe(0x8000);
    expect(f32ToF16(s * 0.5000001)).toBe(0x0001);
    expect(f32ToF16(s * 1.5)).toBe(0x0002); // tie between 1 and 2 → 2
    expect(f32ToF16(s * 2.5)).toBe(0x0002); // tie between 2 and 3 → 2
    expect(f32ToF16(s * 0.49)).toBe(0x0000);
    expect(f32ToF16(1023 * s)).toBe(0x03ff);
    expect(f32ToF16(1023.5 * s)).toBe(0x0400); // tie carries into the smallest normal
    expect(f32ToF16(2 ** -14)).toBe(0x0400);
    expect(f32ToF16(f32FromBits(0x00000001))).toBe(0x0000); // f32 subnormal
    expect(f32ToF16(2 ** -26)).toBe(0x0000);
  });

  it('rounds normals, including ties to even and carries into the exponent', () => {
    const ulp = 2 ** -10;
    expect(f32ToF16(1 + ulp / 2)).toBe(0x3c00); // tie → even (mantissa 0)
    expect(f32ToF16(1 + (3 * ulp) / 2)).toBe(0x3c02); // tie → even (mantissa 2)
    expect(f32ToF16(1 + ulp / 2 + 2 ** -20)).toBe(0x3c01);
    expect(f32ToF16(2 - ulp / 4)).toBe(0x4000); // carries into the exponent
    expect(f32ToF16(0.1)).toBe(0x2e66);
  });

  it('matches a brute-force nearest-even oracle on random f32 values', () => {
    // All non-negative finite f16 values in increasing order (patterns 0..0x7bff are monotone).
    const values = Array.from({ length: 0x7c00 }, (_, h) => f16ToF32(h));
    const oracle = (x: number): number => {
      const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
      const a = Math.abs(x);
      if (a >= 65520) return sign | 0x7c00;
      let lo = 0;
      let hi = values.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (values[mid] <= a) lo = mid;
        else hi = mid - 1;
      }
      if (lo === values.length - 1) return sign | lo;
      const dLo = a - values[lo];
      const dHi = values[lo + 1] - a;
      const pick = dLo < dHi ? lo : dHi < dLo ? lo + 1 : lo % 2 === 0 ? lo : lo + 1;
      return sign | pick;
    };
    const rng = new Rng(7);
    const xs = new Float32Array(20000);
    for (let i = 0; i < xs.length; i++) {
      const kind = rng.int(3);
      if (kind === 0)
        xs[i] = rng.uniform(-1, 1) * 2 ** (rng.int(46) - 30); // spans subnormals to overflow
      else if (kind === 1)
        xs[i] = f32FromBits((rng.int(0x10000) << 16) | 0x1000 | (rng.int(2) << 13)); // many exact ties
      else xs[i] = f16ToF32(rng.int(0x7c00)) * (1 + (rng.int(3) - 1) * 2 ** -11); // near and on midpoints
    }
    const enc = encodeF16(xs);
    const bad: string[] = [];
    for (let i = 0; i < xs.length; i++) {
      const x = xs[i];
      const ok = Number.isNaN(x) ? isF16NaN(enc[i]) : enc[i] === oracle(x);
      if (!ok) bad.push(`x=${x} bits=0x${f32Bits(x).toString(16)} got 0x${enc[i].toString(16)}`);
    }
    expect(bad).toEqual([]);
  });

  it('round-trips every f16 pattern (NaN stays NaN)', () => {
    const bits = new Uint16Array(65536).map((_, i) => i);
    const back = encodeF16(decodeF16(bits));
    const bad: number[] = [];
    for (let h = 0; h < 65536; h++) if (isF16NaN(h) ? !isF16NaN(back[h]) : back[h] !== h) bad.push(h);
    expect(bad).toEqual([]);
  });

  it('accepts plain arrays and unaligned Float32Arrays', () => {
    expect([...encodeF16([1, -2, 0.5])]).toEqual([0x3c00, 0xc000, 0x3800]);
    const buf = new ArrayBuffer(20);
    new Float32Array(buf, 4, 2).set([1, 2]);
    const f = new Float32Array(buf, 4, 2);
    expect([...encodeF16(f)]).toEqual([0x3c00, 0x4000]);
  });
});

describe('bf16', () => {
  it('decodes as u16 << 16', () => {
    expect(bf16ToF32(0x3f80)).toBe(1);
    expect(bf16ToF32(0xc000)).toBe(-2);
    expect(bf16ToF32(0x7f80)).toBe(Infinity);
    expect(bf16ToF32(0xff80)).toBe(-Infinity);
    expect(bf16ToF32(0x7fc0)).toBeNaN();
    expect(bf16ToF32(0x0001)).toBe(f32FromBits(0x00010000)); // subnormal
    expect(Object.is(bf16ToF32(0x8000), -0)).toBe(true);
    const raw = new Uint8Array([0xff, 0x80, 0x3f, 0x00, 0xc0]);
    expect([...decodeBf16Bytes(raw.subarray(1))]).toEqual([1, -2]);
  });

  it('encodes with round to nearest even, NaN stays NaN, overflow to Inf', () => {
    const enc = (u: number) => f32ToBf16(f32FromBits(u));
    expect(enc(0x3f800000)).toBe(0x3f80);
    expect(enc(0x3f808000)).toBe(0x3f80); // tie → even
    expect(enc(0x3f818000)).toBe(0x3f82); // tie → even (up)
    expect(enc(0x3f808001)).toBe(0x3f81);
    expect(enc(0x3f807fff)).toBe(0x3f80);
    expect(enc(0xbf808001)).toBe(0xbf81);
    expect(enc(0x7f7fffff)).toBe(0x7f80); // largest finite f32 rounds to Inf
    expect(enc(0x7f800000)).toBe(0x7f80);
    expect(enc(0xff800000)).toBe(0xff80);
    expect(enc(0x00008000)).toBe(0x0000); // subnormal tie → even
    expect(enc(0x00018000)).toBe(0x0002);
    expect(isBf16NaN(enc(0x7fc00000))).toBe(true);
    expect(isBf16NaN(enc(0x7f800001))).toBe(true); // truncation would give Inf
    expect(isBf16NaN(enc(0xffffffff))).toBe(true);
    expect(enc(0xffffffff) & 0x8000).toBe(0x8000);
    expect(f32ToBf16(-0)).toBe(0x8000);
  });

  it('round-trips every bf16 pattern and matches the FORMATS.md formula on random inputs', () => {
    const bits = new Uint16Array(65536).map((_, i) => i);
    const back = encodeBf16(decodeBf16(bits));
    const bad: number[] = [];
    for (let b = 0; b < 65536; b++) if (isBf16NaN(b) ? !isBf16NaN(back[b]) : back[b] !== b) bad.push(b);
    expect(bad).toEqual([]);
    const rng = new Rng(11);
    const u = new Uint32Array(20000).map(
      () => (rng.int(0x10000) * 0x10000 + (rng.int(2) ? 0x8000 : rng.int(0x10000))) >>> 0,
    );
    const out = encodeBf16(new Float32Array(u.buffer));
    const badRandom: number[] = [];
    for (let i = 0; i < u.length; i++) {
      const x = u[i];
      const ok =
        (x & 0x7fffffff) > 0x7f800000
          ? isBf16NaN(out[i])
          : out[i] === (Number((BigInt(x) + 0x7fffn + ((BigInt(x) >> 16n) & 1n)) >> 16n) & 0xffff);
      if (!ok) badRandom.push(x);
    }
    expect(badRandom).toEqual([]);
  });
});

function f16BitsOfF32Bits(u: number): number {
  return f32ToF16(f32FromBits(u));
}
