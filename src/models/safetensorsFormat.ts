// safetensors format facts shared by the reader, the f32 decoder and the writer: dtypes and their sizes, the
// parsed-file types, and small helpers (no maintained npm package exists; see FORMATS.md §4).

export const MAX_HEADER_SIZE = 100_000_000;
export const METADATA_KEY = '__metadata__';

/**
 * Every dtype the reference knows, in the reference's alignment order (the writer sorts by descending rank),
 * with its size in bits. The sub-byte F4/F6 types need the total bit count to be a multiple of 8.
 */
export const DTYPES = {
  BOOL: 8,
  F4: 4,
  F6_E2M3: 6,
  F6_E3M2: 6,
  U8: 8,
  I8: 8,
  F8_E5M2: 8,
  F8_E4M3: 8,
  F8_E8M0: 8,
  I16: 16,
  U16: 16,
  F16: 16,
  BF16: 16,
  I32: 32,
  U32: 32,
  F32: 32,
  C64: 64,
  F64: 64,
  I64: 64,
  U64: 64,
} as const;

export type Dtype = keyof typeof DTYPES;
export type WritableDtype = 'F32' | 'F16' | 'BF16' | 'I32' | 'I64';

export const DTYPE_RANK: Record<string, number> = Object.fromEntries(Object.keys(DTYPES).map((d, i) => [d, i]));

export function isDtype(s: unknown): s is Dtype {
  return typeof s === 'string' && Object.hasOwn(DTYPES, s);
}

/** Bytes for `n` elements, or -1 if `n` elements do not fill whole bytes (F4/F6) or the size is not a safe integer. */
export function dtypeByteSize(dtype: Dtype, n: number): number {
  const bits = DTYPES[dtype];
  if (bits % 8 === 0) {
    const b = n * (bits / 8);
    return Number.isSafeInteger(b) ? b : -1;
  }
  const totalBits = n * bits;
  if (!Number.isSafeInteger(totalBits) || totalBits % 8 !== 0) return -1;
  return totalBits / 8;
}

export interface TensorEntry {
  name: string;
  dtype: Dtype;
  shape: number[];
  /** The tensor's bytes: a view into the parsed input, never a copy. */
  data: Uint8Array;
}

export interface SafetensorsFile {
  /** In file (offset) order. */
  tensors: Map<string, TensorEntry>;
  /** `__metadata__`, or `{}` when the file has none. */
  metadata: Record<string, string>;
}

export const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
export const LONE_SURROGATE = /\p{Cs}/u;

export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  if (typeof v === 'number') return `the number ${v}`;
  return `a ${typeof v}`;
}

export function isIndex(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

export function numelOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}
