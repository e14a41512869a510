// f16 (IEEE 754 binary16) and bf16 (bfloat16) conversion to and from f32.
// Node 20 has no Float16Array, so this is done by hand on the raw bit patterns.
//
// Decoding is exact (every f16/bf16 value is an f32). Encoding rounds to nearest, ties to even; NaN stays NaN
// (sign kept, quiet bit set), overflow gives ±Inf, and f16 underflow goes through the subnormals to ±0.

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** The raw bits of `x` rounded to f32. */
export function f32Bits(x: number): number {
  f32Scratch[0] = x;
  return u32Scratch[0];
}

/** The f32 whose raw bits are `u` (taken mod 2^32). */
export function f32FromBits(u: number): number {
  u32Scratch[0] = u >>> 0;
  return f32Scratch[0];
}

/** f32 bits → bf16 bits, round to nearest even. */
function bf16BitsFromF32Bits(u: number): number {
  u = u >>> 0;
  if ((u & 0x7fffffff) > 0x7f800000) return ((u >>> 16) | 0x0040) & 0xffff; // NaN: keep sign, force quiet
  // No overflow is possible in JS numbers; the largest non-NaN input is 0xFF800000.
  return ((u + 0x7fff + ((u >>> 16) & 1)) / 65536) & 0xffff;
}

/** f32 bits → f16 bits, round to nearest even. */
function f16BitsFromF32Bits(u: number): number {
  u = u >>> 0;
  const sign = (u >>> 16) & 0x8000;
  const e = (u >>> 23) & 0xff;
  let m = u & 0x7fffff;
  if (e === 0xff) {
    // Inf stays Inf; NaN keeps the top payload bits and is forced quiet so it cannot collapse to Inf.
    return m === 0 ? sign | 0x7c00 : sign | 0x7e00 | (m >>> 13);
  }
  const exp = e - 127 + 15;
  if (exp >= 31) return sign | 0x7c00; // overflow → Inf
  if (exp <= 0) {
    // Subnormal (or zero) in f16. f32 subnormals (e === 0) are far below 2^-25 and round to ±0.
    if (e === 0) return sign;
    const shift = 14 - exp; // ≥ 14
    if (shift > 24) return sign; // below 2^-25: rounds to ±0
    m |= 0x800000;
    let mant = m >>> shift;
    const rem = m & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && (mant & 1) === 1)) mant++; // may carry into the smallest normal: correct
    return sign | mant;
  }
  let h = sign | (exp << 10) | (m >>> 13);
  const rem = m & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1) === 1)) h++; // carry may reach the exponent, up to Inf: correct
  return h;
}

/** bf16 bits → f32 value. */
export function bf16ToF32(b: number): number {
  return f32FromBits((b & 0xffff) << 16);
}

/** f16 bits → f32 value (subnormals, ±Inf, NaN). */
export function f16ToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >>> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 31) return m === 0 ? sign * Infinity : NaN;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
}

/** Round one number to f16 bits. */
export function f32ToF16(x: number): number {
  return f16BitsFromF32Bits(f32Bits(x));
}

/** Round one number to bf16 bits. */
export function f32ToBf16(x: number): number {
  return bf16BitsFromF32Bits(f32Bits(x));
}

let f16Table: Float32Array | null = null;

/** All 65,536 f16 values as f32 (256 KB, built on first use). */
function f16Lut(): Float32Array {
  if (f16Table === null) {
    f16Table = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) f16Table[h] = f16ToF32(h);
  }
  return f16Table;
}

type F32Source = Float32Array | ArrayLike<number>;

function asF32Bits(src: F32Source): Uint32Array {
  const f = src instanceof Float32Array ? src : Float32Array.from(src);
  if (f.byteOffset % 4 === 0) return new Uint32Array(f.buffer, f.byteOffset, f.length);
  return new Uint32Array(Float32Array.from(f).buffer);
}

/** f32 values → bf16 bits (round to nearest even, NaN stays NaN). */
export function encodeBf16(f32: F32Source): Uint16Array {
  const u = asF32Bits(f32);
  const out = new Uint16Array(u.length);
  for (let i = 0; i < u.length; i++) out[i] = bf16BitsFromF32Bits(u[i]);
  return out;
}

/** f32 values → f16 bits (round to nearest even, NaN stays NaN, overflow → Inf). */
export function encodeF16(f32: F32Source): Uint16Array {
  const u = asF32Bits(f32);
  const out = new Uint16Array(u.length);
  for (let i = 0; i < u.length; i++) out[i] = f16BitsFromF32Bits(u[i]);
  return out;
}

/** bf16 bits → f32 values. */
export function decodeBf16(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  const o = new Uint32Array(out.buffer);
  for (let i = 0; i < bits.length; i++) o[i] = bits[i] << 16;
  return out;
}

/** f16 bits → f32 values. */
export function decodeF16(bits: Uint16Array): Float32Array {
  const lut = f16Lut();
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = lut[bits[i]];
  return out;
}

/** Little-endian f16 bytes (any alignment) → f32 values. `bytes.length` must be even. */
export function decodeF16Bytes(bytes: Uint8Array): Float32Array {
  const lut = f16Lut();
  const n = bytes.length >>> 1;
  const out = new Float32Array(n);
  for (let i = 0, j = 0; i < n; i++, j += 2) out[i] = lut[bytes[j] | (bytes[j + 1] << 8)];
  return out;
}

/** Little-endian bf16 bytes (any alignment) → f32 values. `bytes.length` must be even. */
export function decodeBf16Bytes(bytes: Uint8Array): Float32Array {
  const n = bytes.length >>> 1;
  const out = new Float32Array(n);
  const o = new Uint32Array(out.buffer);
  for (let i = 0, j = 0; i < n; i++, j += 2) o[i] = ((bytes[j] | (bytes[j + 1] << 8)) << 16) >>> 0;
  return out;
}
