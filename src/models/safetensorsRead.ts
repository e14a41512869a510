// safetensors reader: parses the header and validates it fully; tensor data stay views into the input.
//
// Layout: u64 LE N | N bytes of UTF-8 JSON header | byte buffer. The header maps each tensor name to
// {"dtype", "shape", "data_offsets": [begin, end)} (offsets relative to the buffer) plus an optional
// "__metadata__": {str: str}. Validation follows the reference reader (huggingface/safetensors tensor.rs):
// sorted by offset the tensors tile the buffer exactly from 0, each holds prod(shape) * sizeof(dtype) bytes,
// and the buffer ends at the end of the file. On top of that, duplicate keys are rejected (JSON.parse would
// silently keep the last one) and nothing is allocated from an untrusted length before it is checked against
// the input: every tensor's data is a view into the input bytes.

import { SafetensorsError } from './errors';
import {
  DTYPES,
  type Dtype,
  describe,
  dtypeByteSize,
  isDtype,
  isIndex,
  LONE_SURROGATE,
  MAX_HEADER_SIZE,
  METADATA_KEY,
  type SafetensorsFile,
  type TensorEntry,
} from './safetensorsFormat';

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
