// safetensors reader and writer (no maintained npm package exists; see FORMATS.md §4).
//
// Layout: u64 LE N | N bytes of UTF-8 JSON header | byte buffer. The header maps each tensor name to
// {"dtype", "shape", "data_offsets": [begin, end)} (offsets relative to the buffer) plus an optional
// "__metadata__": {str: str}. Validation follows the reference reader (huggingface/safetensors tensor.rs):
// sorted by offset the tensors tile the buffer exactly from 0, each holds prod(shape) * sizeof(dtype) bytes,
// and the buffer ends at the end of the file. On top of that, duplicate keys are rejected (JSON.parse would
// silently keep the last one) and nothing is allocated from an untrusted length before it is checked against
// the input: every tensor's data is a view into the input bytes.

import { decodeBf16Bytes, decodeF16Bytes, encodeBf16, encodeF16 } from '../tensor/half';
import { SafetensorsError } from './errors';

export { SafetensorsError } from './errors';

export const MAX_HEADER_SIZE = 100_000_000;
const METADATA_KEY = '__metadata__';

/**
 * Every dtype the reference knows, in the reference's alignment order (the writer sorts by descending rank),
 * with its size in bits. The sub-byte F4/F6 types need the total bit count to be a multiple of 8.
 */
const DTYPES = {
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
type WritableDtype = 'F32' | 'F16' | 'BF16' | 'I32' | 'I64';

const DTYPE_RANK: Record<string, number> = Object.fromEntries(Object.keys(DTYPES).map((d, i) => [d, i]));

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

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const LONE_SURROGATE = /\p{Cs}/u;

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  if (typeof v === 'number') return `the number ${v}`;
  return `a ${typeof v}`;
}

function quote(name: string): string {
  return JSON.stringify(name.length > 200 ? `${name.slice(0, 200)}…` : name);
}

/**
 * Finds the first duplicate key in any object of `text`, which must already be valid JSON (JSON.parse succeeded).
 * A small tokenizer: strings are skipped escape-aware, and a string is a key when it directly follows `{` or a `,`
 * inside an object. Keys are compared decoded, so "a" and "\u0061" are the same key.
 */
function findDuplicateKey(text: string): { key: string; parent: string | null } | null {
  interface Frame {
    keys: Set<string> | null; // null for arrays
    name: string | null; // the key this object sits under, when its parent is an object
    expectKey: boolean;
    lastKey: string | null;
  }
  const stack: Frame[] = [];
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      const start = i++;
      let escaped = false;
      while (i < n) {
        const d = text.charCodeAt(i);
        if (d === 0x22) break;
        if (d === 0x5c /* \ */) {
          escaped = true;
          i += 2;
        } else i++;
      }
      const top = stack[stack.length - 1];
      if (top !== undefined && top.keys !== null && top.expectKey) {
        const raw = text.slice(start, i + 1);
        const key: string = escaped ? JSON.parse(raw) : raw.slice(1, -1);
        if (top.keys.has(key)) return { key, parent: top.name };
        top.keys.add(key);
        top.expectKey = false;
        top.lastKey = key;
      }
    } else if (c === 0x7b /* { */) {
      const top = stack[stack.length - 1];
      const name = top !== undefined && top.keys !== null ? top.lastKey : null;
      stack.push({ keys: new Set(), name, expectKey: true, lastKey: null });
    } else if (c === 0x5b /* [ */) {
      stack.push({ keys: null, name: null, expectKey: false, lastKey: null });
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
    } else if (c === 0x2c /* , */) {
      const top = stack[stack.length - 1];
      if (top !== undefined && top.keys !== null) top.expectKey = true;
    }
  }
  return null;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isIndex(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

interface Pending {
  name: string;
  dtype: Dtype;
  shape: number[];
  begin: number;
  end: number;
}

/** Parses and fully validates a safetensors file. Tensor data are views into `bytes`. Throws SafetensorsError. */
export function parseSafetensors(bytes: Uint8Array, fileName = 'model.safetensors'): SafetensorsFile {
  const fail = (
    code: ConstructorParameters<typeof SafetensorsError>[0],
    field: string,
    problem: string,
    fix: string,
    cause?: unknown,
  ) => new SafetensorsError(code, fileName, field, problem, fix, cause === undefined ? undefined : { cause });
  const notSafetensors = 'Check that this is a complete, uncorrupted .safetensors file (re-download or re-export it).';

  // 1. Length prefix.
  if (bytes.length < 8) {
    throw fail(
      'HeaderTooSmall',
      'header length',
      `the file has ${bytes.length} bytes, fewer than the 8-byte header length prefix`,
      notSafetensors,
    );
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lo = dv.getUint32(0, true);
  const hi = dv.getUint32(4, true);
  if (hi !== 0 || lo > MAX_HEADER_SIZE) {
    const n = hi === 0 ? String(lo) : String((BigInt(hi) << 32n) | BigInt(lo));
    throw fail(
      'HeaderTooLarge',
      'header length',
      `the header length is ${n} bytes, above the limit of ${MAX_HEADER_SIZE}`,
      notSafetensors,
    );
  }
  const headerLen = lo;
  if (headerLen > bytes.length - 8) {
    throw fail(
      'InvalidHeaderLength',
      'header length',
      `the header length is ${headerLen} bytes but only ${bytes.length - 8} bytes follow the prefix`,
      'The file is truncated or not a safetensors file; re-download or re-export it.',
    );
  }

  // 2. Header text.
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes.subarray(8, 8 + headerLen));
  } catch (e) {
    throw fail('InvalidHeaderUtf8', 'header', 'the JSON header is not valid UTF-8', notSafetensors, e);
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    const detail = e instanceof Error ? ` (${e.message.slice(0, 200)})` : '';
    throw fail('InvalidHeaderJson', 'header', `the header is not valid JSON${detail}`, notSafetensors, e);
  }
  if (!isPlainObject(header)) {
    throw fail('InvalidHeaderJson', 'header', `the header is ${describe(header)}, not a JSON object`, notSafetensors);
  }
  const dup = findDuplicateKey(text);
  if (dup !== null) {
    const where =
      dup.parent === null ? `tensor name ${quote(dup.key)}` : `key ${quote(dup.key)} in ${quote(dup.parent)}`;
    throw fail(
      'DuplicateKey',
      dup.parent ?? dup.key,
      `the header repeats the ${where}`,
      'Each name may appear once; re-export the file without duplicate tensors.',
    );
  }

  // 3. __metadata__: an object of strings (null counts as absent, as in the reference).
  const metadata: Record<string, string> = {};
  if (Object.hasOwn(header, METADATA_KEY) && header[METADATA_KEY] !== null) {
    const meta = header[METADATA_KEY];
    const fix = 'The "__metadata__" entry must map strings to strings, e.g. {"format":"pt"}; fix or remove it.';
    if (!isPlainObject(meta))
      throw fail('InvalidMetadata', METADATA_KEY, `it is ${describe(meta)}, not an object`, fix);
    for (const k of Object.keys(meta)) {
      const v = meta[k];
      if (typeof v !== 'string')
        throw fail('InvalidMetadata', `${METADATA_KEY}.${k}`, `the value is ${describe(v)}, not a string`, fix);
      if (LONE_SURROGATE.test(k) || LONE_SURROGATE.test(v)) {
        throw fail(
          'InvalidMetadata',
          `${METADATA_KEY}.${k}`,
          'the key or value contains an unpaired UTF-16 surrogate escape',
          fix,
        );
      }
      metadata[k] = v;
    }
  }

  // 4. Tensor entries.
  const pending: Pending[] = [];
  const reexport = 'The header does not describe this tensor correctly; re-export the file.';
  for (const name of Object.keys(header)) {
    if (name === METADATA_KEY) continue;
    const info = header[name];
    const field = `tensor ${quote(name)}`;
    if (LONE_SURROGATE.test(name))
      throw fail(
        'InvalidTensorInfo',
        name,
        `${field}: the name contains an unpaired UTF-16 surrogate escape`,
        reexport,
      );
    if (!isPlainObject(info))
      throw fail(
        'InvalidTensorInfo',
        name,
        `${field} is ${describe(info)}, not an object {"dtype","shape","data_offsets"}`,
        reexport,
      );
    for (const key of ['dtype', 'shape', 'data_offsets']) {
      if (!Object.hasOwn(info, key)) throw fail('InvalidTensorInfo', name, `${field} has no "${key}"`, reexport);
    }
    const { dtype, shape, data_offsets: offsets } = info as { dtype: unknown; shape: unknown; data_offsets: unknown };
    if (typeof dtype !== 'string')
      throw fail('InvalidTensorInfo', name, `${field}: "dtype" is ${describe(dtype)}, not a string`, reexport);
    if (!isDtype(dtype)) {
      throw fail(
        'UnknownDtype',
        name,
        `${field}: unknown dtype ${quote(dtype)}`,
        `Supported dtypes are ${Object.keys(DTYPES).join(', ')}; convert the tensor to one of them.`,
      );
    }
    if (!Array.isArray(shape))
      throw fail('InvalidTensorInfo', name, `${field}: "shape" is ${describe(shape)}, not an array`, reexport);
    let numel = 1;
    for (let d = 0; d < shape.length; d++) {
      const dim = shape[d];
      if (!isIndex(dim)) {
        throw fail(
          'InvalidShape',
          name,
          `${field}: shape[${d}] is ${describe(dim)}, not a non-negative integer`,
          reexport,
        );
      }
      numel *= dim;
      if (!Number.isSafeInteger(numel)) {
        throw fail(
          'ValidationOverflow',
          name,
          `${field}: the element count of shape [${shape.join(',')}] exceeds 2^53 - 1`,
          reexport,
        );
      }
    }
    if (!Array.isArray(offsets) || offsets.length !== 2) {
      throw fail(
        'InvalidTensorInfo',
        name,
        `${field}: "data_offsets" is ${describe(offsets)}, not an array [begin, end]`,
        reexport,
      );
    }
    const [begin, end] = offsets as unknown[];
    if (!isIndex(begin) || !isIndex(end)) {
      throw fail(
        'InvalidTensorInfo',
        name,
        `${field}: "data_offsets" [${describe(begin)}, ${describe(end)}] are not non-negative integers`,
        reexport,
      );
    }
    if (begin > end)
      throw fail('InvalidOffset', name, `${field}: data_offsets begin ${begin} is after end ${end}`, reexport);
    const nbytes = dtypeByteSize(dtype, numel);
    if (nbytes < 0) {
      const code =
        DTYPES[dtype] % 8 === 0 || !Number.isSafeInteger(numel * DTYPES[dtype])
          ? 'ValidationOverflow'
          : 'TensorSizeMismatch';
      throw fail(
        code,
        name,
        `${field}: ${numel} elements of ${dtype} do not make a whole, representable number of bytes`,
        reexport,
      );
    }
    if (end - begin !== nbytes) {
      throw fail(
        'TensorSizeMismatch',
        name,
        `${field}: data_offsets [${begin}, ${end}] span ${end - begin} bytes but ${dtype} shape [${shape.join(',')}] needs ${nbytes}`,
        reexport,
      );
    }
    pending.push({ name, dtype, shape: shape.map((x: number) => x + 0), begin, end }); // + 0 turns -0 into 0
  }

  // 5. Sorted by offset, the tensors must tile the buffer from 0 with no gap or overlap and end at the end of the file.
  pending.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  for (const p of pending) {
    if (p.begin !== cursor) {
      const what =
        p.begin > cursor
          ? `leaves a gap: bytes ${cursor}..${p.begin} belong to no tensor`
          : `overlaps the previous tensor, which ends at ${cursor}`;
      throw fail(
        'InvalidOffset',
        p.name,
        `tensor ${quote(p.name)}: data_offsets [${p.begin}, ${p.end}] ${what}`,
        reexport,
      );
    }
    cursor = p.end;
  }
  const dataLen = bytes.length - 8 - headerLen;
  if (cursor !== dataLen) {
    throw fail(
      'IncompleteBuffer',
      'data_offsets',
      `the tensors cover ${cursor} bytes of data but the file has ${dataLen} bytes after the header`,
      cursor > dataLen
        ? 'The file is truncated; re-download or re-export it.'
        : 'The file has trailing bytes that belong to no tensor; re-export it.',
    );
  }

  const base = 8 + headerLen;
  const tensors = new Map<string, TensorEntry>();
  for (const p of pending) {
    tensors.set(p.name, {
      name: p.name,
      dtype: p.dtype,
      shape: p.shape,
      data: bytes.subarray(base + p.begin, base + p.end),
    });
  }
  return { tensors, metadata };
}

function numelOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/**
 * The tensor as f32 values. F32 with 4-byte-aligned data is returned as a view of the file bytes (writing to it
 * changes them); everything else, including unaligned F32, is a fresh array. Supports F32, F16, BF16, F64 and the
 * integer and BOOL dtypes; 64-bit integers beyond 2^53 lose precision (f32 does anyway).
 */
export function toFloat32(entry: TensorEntry, fileName = 'model.safetensors'): Float32Array {
  const { data, dtype } = entry;
  const n = numelOf(entry.shape);
  if (!isDtype(dtype) || dtypeByteSize(dtype, n) !== data.byteLength) {
    throw new SafetensorsError(
      'InvalidInput',
      fileName,
      entry.name,
      `the entry's ${data.byteLength} data bytes do not match dtype ${String(dtype)} and shape [${entry.shape.join(',')}]`,
      'Pass an entry returned by parseSafetensors.',
    );
  }
  if (dtype === 'F16') return decodeF16Bytes(data);
  if (dtype === 'BF16') return decodeBf16Bytes(data);
  if (dtype === 'U8' || dtype === 'BOOL') return Float32Array.from(data);
  if (dtype === 'I8') return Float32Array.from(new Int8Array(data.buffer, data.byteOffset, data.byteLength));

  const size = DTYPES[dtype] / 8;
  const read = LITTLE_ENDIAN ? null : new DataView(data.buffer, data.byteOffset, data.byteLength);
  // A view when aligned, otherwise a copy (slice() starts a new buffer at offset 0).
  const aligned = data.byteOffset % size === 0 ? data : data.slice();
  const buf = aligned.buffer;
  const off = aligned.byteOffset;
  switch (dtype) {
    case 'F32':
      if (read) return Float32Array.from({ length: n }, (_, i) => read.getFloat32(i * 4, true));
      return new Float32Array(buf, off, n);
    case 'F64':
      if (read) return Float32Array.from({ length: n }, (_, i) => read.getFloat64(i * 8, true));
      return Float32Array.from(new Float64Array(buf, off, n));
    case 'I16':
      if (read) return Float32Array.from({ length: n }, (_, i) => read.getInt16(i * 2, true));
      return Float32Array.from(new Int16Array(buf, off, n));
    case 'U16':
      if (read) return Float32Array.from({ length: n }, (_, i) => read.getUint16(i * 2, true));
      return Float32Array.from(new Uint16Array(buf, off, n));
    case 'I32':
      if (read) return Float32Array.from({ length: n }, (_, i) => read.getInt32(i * 4, true));
      return Float32Array.from(new Int32Array(buf, off, n));
    case 'U32':
      if (read) return Float32Array.from({ length: n }, (_, i) => read.getUint32(i * 4, true));
      return Float32Array.from(new Uint32Array(buf, off, n));
    case 'I64': {
      const src = read
        ? Array.from({ length: n }, (_, i) => read.getBigInt64(i * 8, true))
        : new BigInt64Array(buf, off, n);
      return Float32Array.from(src, Number);
    }
    case 'U64': {
      const src = read
        ? Array.from({ length: n }, (_, i) => read.getBigUint64(i * 8, true))
        : new BigUint64Array(buf, off, n);
      return Float32Array.from(src, Number);
    }
    default:
      throw new SafetensorsError(
        'UnsupportedDtype',
        fileName,
        entry.name,
        `dtype ${dtype} cannot be converted to f32`,
        'Convert the checkpoint to F32, F16 or BF16 before loading it.',
      );
  }
}

type WritableData = Float32Array | Uint16Array | Int32Array | BigInt64Array | Uint8Array;

export interface WritableTensor {
  name: string;
  dtype: WritableDtype;
  shape: readonly number[];
  /**
   * F32: Float32Array; F16/BF16: Uint16Array of raw bits, or Float32Array (encoded with round to nearest even);
   * I32: Int32Array; I64: BigInt64Array. Any dtype: Uint8Array of little-endian raw bytes.
   */
  data: WritableData;
}

/** A typed-array class, for the instanceof checks of the writer. */
type ArrayClass = abstract new (...args: never[]) => ArrayLike<number | bigint>;

const WRITABLE: Record<WritableDtype, readonly ArrayClass[]> = {
  F32: [Float32Array],
  F16: [Uint16Array, Float32Array],
  BF16: [Uint16Array, Float32Array],
  I32: [Int32Array],
  I64: [BigInt64Array],
};

/** Code-point (= UTF-8 byte) order, as Rust compares the names. */
function compareNames(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; ) {
    const ca = a.codePointAt(i)!;
    const cb = b.codePointAt(i)!;
    if (ca !== cb) return ca - cb;
    i += ca > 0xffff ? 2 : 1;
  }
  return a.length - b.length;
}

function littleEndianBytes(data: Exclude<WritableData, Uint8Array>): Uint8Array {
  const view = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (LITTLE_ENDIAN) return view;
  const out = new Uint8Array(view.length);
  const size = data.BYTES_PER_ELEMENT;
  for (let i = 0; i < view.length; i += size) for (let j = 0; j < size; j++) out[i + j] = view[i + size - 1 - j];
  return out;
}

/**
 * Serialises tensors like the reference writer: header `{"__metadata__":{...},"name":{"dtype","shape","data_offsets"},...}`
 * padded with spaces to a multiple of 8, tensors ordered by descending dtype alignment then by name.
 * `metadata` defaults to {format:"pt"}; a given object gets format "pt" unless it sets its own format;
 * `null` writes no `__metadata__` at all (only for reproducing reference golden files).
 */
export function writeSafetensors(
  tensors: readonly WritableTensor[],
  metadata: Record<string, string> | null = { format: 'pt' },
  fileName = 'model.safetensors',
): Uint8Array {
  const fail = (field: string, problem: string, fix: string) =>
    new SafetensorsError('InvalidInput', fileName, field, problem, fix);
  const meta = metadata === null ? null : { format: 'pt', ...metadata };
  if (meta !== null) {
    for (const [k, v] of Object.entries(meta)) {
      if (typeof v !== 'string')
        throw fail(
          `${METADATA_KEY}.${k}`,
          `the value is ${describe(v)}, not a string`,
          'Metadata values must be strings.',
        );
      if (LONE_SURROGATE.test(k) || LONE_SURROGATE.test(v)) {
        throw fail(
          `${METADATA_KEY}.${k}`,
          'the key or value contains an unpaired UTF-16 surrogate',
          'Use valid Unicode text.',
        );
      }
    }
  }

  const seen = new Set<string>();
  const prepared = tensors.map((t) => {
    const { name, dtype, shape, data } = t;
    if (typeof name !== 'string' || name === METADATA_KEY || LONE_SURROGATE.test(name)) {
      throw fail(String(name), 'invalid tensor name', `Use a unique, valid Unicode name other than "${METADATA_KEY}".`);
    }
    if (seen.has(name)) throw fail(name, 'the tensor name appears twice', 'Give every tensor a unique name.');
    seen.add(name);
    if (!Object.hasOwn(WRITABLE, dtype))
      throw fail(name, `cannot write dtype ${String(dtype)}`, 'Use F32, F16, BF16, I32 or I64.');
    if (!Array.isArray(shape) || !shape.every(isIndex)) {
      throw fail(name, `shape ${JSON.stringify(shape)} is not a list of non-negative integers`, 'Fix the shape.');
    }
    const numel = numelOf(shape);
    const nbytes = dtypeByteSize(dtype, numel);
    if (!Number.isSafeInteger(numel) || nbytes < 0)
      throw fail(name, `shape [${shape.join(',')}] is too large`, 'Fix the shape.');
    let bytes: Uint8Array;
    if (data instanceof Uint8Array) {
      bytes = data;
    } else {
      if (!WRITABLE[dtype].some((C) => data instanceof C)) {
        throw fail(
          name,
          `${data?.constructor?.name ?? typeof data} data cannot be written as ${dtype}`,
          `Pass ${WRITABLE[dtype].map((C) => C.name).join(' or ')} (or raw bytes as Uint8Array).`,
        );
      }
      if (data.length !== numel)
        throw fail(
          name,
          `${data.length} values given for shape [${shape.join(',')}] (${numel} elements)`,
          'Fix the shape or the data.',
        );
      if ((dtype === 'F16' || dtype === 'BF16') && data instanceof Float32Array) {
        bytes = littleEndianBytes(dtype === 'F16' ? encodeF16(data) : encodeBf16(data));
      } else {
        bytes = littleEndianBytes(data as Exclude<WritableData, Uint8Array>);
      }
    }
    if (bytes.byteLength !== nbytes) {
      throw fail(
        name,
        `${bytes.byteLength} data bytes given but ${dtype} shape [${shape.join(',')}] needs ${nbytes}`,
        'Fix the shape or the data.',
      );
    }
    return { name, dtype, shape: [...shape], bytes };
  });

  prepared.sort((a, b) => DTYPE_RANK[b.dtype] - DTYPE_RANK[a.dtype] || compareNames(a.name, b.name));

  const parts: string[] = [];
  if (meta !== null) {
    parts.push(
      `"${METADATA_KEY}":{${Object.entries(meta)
        .map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`)
        .join(',')}}`,
    );
  }
  let offset = 0;
  for (const p of prepared) {
    const end = offset + p.bytes.byteLength;
    parts.push(
      `${JSON.stringify(p.name)}:{"dtype":"${p.dtype}","shape":[${p.shape.join(',')}],"data_offsets":[${offset},${end}]}`,
    );
    offset = end;
  }
  const json = new TextEncoder().encode(`{${parts.join(',')}}`);
  const headerLen = Math.ceil(json.length / 8) * 8;
  if (headerLen > MAX_HEADER_SIZE)
    throw fail(
      'header',
      `the header would be ${headerLen} bytes, above ${MAX_HEADER_SIZE}`,
      'Write fewer tensors per file.',
    );

  const out = new Uint8Array(8 + headerLen + offset);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, headerLen, true);
  dv.setUint32(4, 0, true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLen);
  let pos = 8 + headerLen;
  for (const p of prepared) {
    out.set(p.bytes, pos);
    pos += p.bytes.byteLength;
  }
  return out;
}
