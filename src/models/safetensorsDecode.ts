// safetensors tensor decoding: any numeric dtype (F16/BF16/F64/integers/BOOL) of a parsed entry to f32 values.

import { decodeBf16Bytes, decodeF16Bytes } from '../tensor/half';
import { SafetensorsError } from './errors';
import { DTYPES, dtypeByteSize, isDtype, LITTLE_ENDIAN, numelOf, type TensorEntry } from './safetensorsFormat';

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
