// safetensors writer: serialises tensors (F32/F16/BF16/I32/I64) byte-for-byte like the reference writer.

import { encodeBf16, encodeF16 } from '../tensor/half';
import { SafetensorsError } from './errors';
import {
  DTYPE_RANK,
  describe,
  dtypeByteSize,
  isIndex,
  LITTLE_ENDIAN,
  LONE_SURROGATE,
  MAX_HEADER_SIZE,
  METADATA_KEY,
  numelOf,
  type WritableDtype,
} from './safetensorsFormat';

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
