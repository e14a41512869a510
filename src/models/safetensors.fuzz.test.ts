// Seeded mutation fuzzing of the safetensors reader: every input must either parse into a valid result whose tensor
// data are views of the input, or throw SafetensorsError; never another exception, never a hang.

import { describe, expect, it } from 'vitest';
import { Rng } from '../tensor/rng';
import { SafetensorsError, type SafetensorsErrorCode } from './errors';
import { toFloat32 } from './safetensorsDecode';
import { dtypeByteSize, isDtype } from './safetensorsFormat';
import { parseSafetensors } from './safetensorsRead';
import { type WritableTensor, writeSafetensors } from './safetensorsWrite';

const FILE = 'fuzz.safetensors';
const enc = new TextEncoder();
const ALL_DTYPES = [
  'BOOL',
  'U8',
  'I8',
  'F8_E5M2',
  'F8_E4M3',
  'I16',
  'U16',
  'F16',
  'BF16',
  'I32',
  'U32',
  'F32',
  'F64',
  'I64',
  'U64',
  'F4',
  'C64',
];
const SIZES: Record<string, number> = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E5M2: 1,
  F8_E4M3: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  F64: 8,
  I64: 8,
  U64: 8,
  C64: 8,
};

const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[rng.int(xs.length)];

function randomShape(rng: Rng): number[] {
  const rank = rng.int(4);
  return Array.from({ length: rank }, () => (rng.int(10) === 0 ? 0 : 1 + rng.int(4)));
}

function randomName(rng: Rng, i: number): string {
  return pick(rng, [`t.${i}`, `h.${i}.attn.c_attn.weight`, `q"${i}\\`, `ünï ${i} 🤗`, `${i}`, `{"${i}":[]}`]);
}

/** A valid file from the writer (5 dtypes, sorted like the reference). */
function writerFile(rng: Rng): Uint8Array {
  const n = rng.int(5);
  const ts: WritableTensor[] = [];
  for (let i = 0; i < n; i++) {
    const shape = randomShape(rng);
    const numel = shape.reduce((a, b) => a * b, 1);
    const dtype = pick(rng, ['F32', 'F16', 'BF16', 'I32', 'I64'] as const);
    const data =
      dtype === 'F32'
        ? (rng.fillUniform(new Float32Array(numel)) as Float32Array)
        : dtype === 'I32'
          ? new Int32Array(numel).map(() => rng.int(1000) - 500)
          : dtype === 'I64'
            ? new BigInt64Array(numel).map(() => BigInt(rng.int(1000)))
            : rng.int(2)
              ? (rng.fillUniform(new Float32Array(numel)) as Float32Array)
              : new Uint16Array(numel).map(() => rng.int(65536));
    ts.push({ name: randomName(rng, i), dtype, shape, data });
  }
  return writeSafetensors(ts, rng.int(4) === 0 ? null : { format: 'pt', step: String(rng.int(100)) });
}

/** A valid file built by hand: any dtype, header entries in random order, optionally unpadded. */
function rawValidFile(rng: Rng): Uint8Array {
  const n = 1 + rng.int(4);
  const entries: [string, { dtype: string; shape: number[]; data_offsets: number[] }][] = [];
  let off = 0;
  for (let i = 0; i < n; i++) {
    const dtype = pick(rng, ALL_DTYPES);
    let shape = randomShape(rng);
    if (dtype === 'F4') shape = [2 * (1 + rng.int(3))];
    const numel = shape.reduce((a, b) => a * b, 1);
    const bytes = dtype === 'F4' ? numel / 2 : numel * SIZES[dtype];
    entries.push([`r${i}`, { dtype, shape, data_offsets: [off, off + bytes] }]);
    off += bytes;
  }
  rng.shuffle(entries);
  const header: Record<string, unknown> = Object.fromEntries(entries);
  if (rng.int(2)) header.__metadata__ = { format: 'pt' };
  const data = new Uint8Array(off).map(() => rng.int(256));
  return assemble(JSON.stringify(header), data, rng.int(2) === 0);
}

function assemble(headerText: string, data: Uint8Array, pad: boolean, n?: number): Uint8Array {
  let json = enc.encode(headerText);
  if (pad) {
    const p = new Uint8Array(Math.ceil(json.length / 8) * 8).fill(0x20);
    p.set(json);
    json = p;
  }
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(n ?? json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

function split(file: Uint8Array): { n: number; header: string; data: Uint8Array } {
  const n = Number(new DataView(file.buffer, file.byteOffset).getBigUint64(0, true));
  return { n, header: new TextDecoder().decode(file.subarray(8, 8 + n)), data: file.subarray(8 + n) };
}

const WEIRD_NUMBERS: unknown[] = [
  -1,
  -0,
  0,
  1,
  3,
  7,
  0.5,
  1e300,
  2 ** 32,
  2 ** 53,
  2 ** 53 + 2,
  Number.MAX_SAFE_INTEGER,
  -(2 ** 31),
  '4',
  null,
  true,
  [],
  {},
];

function weirdNumber(rng: Rng, near: number): unknown {
  return rng.int(2) ? near + rng.int(9) - 4 : pick(rng, WEIRD_NUMBERS);
}

/** Rewrites one field of the JSON header (offsets, shapes, dtypes, entries, metadata) and reassembles the file. */
function rewriteJson(rng: Rng, file: Uint8Array): Uint8Array {
  if (file.length < 8) return file.slice();
  const { header, data } = split(file);
  // biome-ignore lint/suspicious/noExplicitAny: the fuzzer rewrites arbitrary JSON of any shape
  let obj: Record<string, any>;
  try {
    obj = JSON.parse(header);
  } catch {
    return file.slice(); // an earlier stacked mutation broke the header
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) return file.slice();
  const names = Object.keys(obj).filter((k) => k !== '__metadata__');
  const name = names.length ? pick(rng, names) : null;
  const e = name === null ? null : obj[name];
  let text: string | null = null;
  switch (rng.int(12)) {
    case 0:
      if (e) e.data_offsets[rng.int(2)] = weirdNumber(rng, e.data_offsets[0]);
      break;
    case 1:
      if (e)
        e.data_offsets = pick(rng, [
          [e.data_offsets[1], e.data_offsets[0]],
          [e.data_offsets[0]],
          [0, 0, 0],
          'x',
          null,
          { a: 1 },
        ]);
      break;
    case 2:
      if (e) {
        if (e.shape.length && rng.int(2)) e.shape[rng.int(e.shape.length)] = weirdNumber(rng, e.shape[0]);
        else
          pick(rng, [
            () => e.shape.push(rng.int(3)),
            () => e.shape.pop(),
            () => (e.shape = pick(rng, [null, 'x', 5, [[1]]])),
          ])();
      }
      break;
    case 3:
      if (e) e.dtype = pick(rng, [...ALL_DTYPES, 'F128', 'f32', '', 5, null, ['F32'], '__proto__', 'constructor']);
      break;
    case 4:
      if (e) delete e[pick(rng, ['dtype', 'shape', 'data_offsets'])];
      break;
    case 5:
      if (name !== null) obj[name] = pick(rng, [1, null, [], 'F32', true]);
      break;
    case 6:
      obj.__metadata__ = pick(rng, [null, 1, [], 'pt', { format: 1 }, { format: null }, { a: 'b' }, { '': '' }]);
      break;
    case 7:
      obj[`new${rng.int(3)}`] = {
        dtype: pick(rng, ALL_DTYPES),
        shape: [rng.int(3)],
        data_offsets: [rng.int(64), rng.int(64)],
      };
      break;
    case 8: {
      // Duplicate an existing key verbatim (JSON.parse would silently keep the last one).
      const t = header.trimEnd();
      const m = /"((?:[^"\\]|\\.)*)":\{"dtype"/.exec(t);
      if (m) text = `${t.slice(0, -1)},"${m[1]}":{"dtype":"U8","shape":[0],"data_offsets":[0,0]}}`;
      break;
    }
    case 9:
      if (e) e.shape = e.shape.map((d: number) => d * (1 + rng.int(3)));
      break;
    case 10:
      if (e) e.extra = { shape: [1], data_offsets: [9, 9] };
      break;
    default: {
      // Shift one tensor's offsets by a little, or swap two tensors' offsets.
      if (names.length >= 2) {
        const b = obj[pick(rng, names)];
        if (e) [e.data_offsets, b.data_offsets] = [b.data_offsets, e.data_offsets];
      } else if (e) {
        const d = rng.int(9) - 4;
        e.data_offsets = [e.data_offsets[0] + d, e.data_offsets[1] + d];
      }
    }
  }
  text ??= JSON.stringify(obj);
  const dataDelta = rng.int(6) === 0 ? rng.int(17) - 8 : 0;
  const newData =
    dataDelta >= 0
      ? new Uint8Array([...data, ...new Uint8Array(dataDelta)])
      : data.subarray(0, Math.max(0, data.length + dataDelta));
  return assemble(text, newData, rng.int(2) === 0);
}

function mutate(rng: Rng, file: Uint8Array): Uint8Array {
  const out = file.slice();
  const len = out.length;
  const dv = new DataView(out.buffer);
  const n = len >= 8 ? Math.min(len, Number(dv.getBigUint64(0, true))) : 0;
  switch (rng.int(7)) {
    case 0: // truncation
      return out.subarray(0, rng.int(len));
    case 1: {
      // byte flips, mostly in the header
      const k = 1 + rng.int(4);
      for (let i = 0; i < k; i++) {
        const at = rng.int(3) ? 8 + rng.int(Math.max(1, n)) : rng.int(len);
        if (at < len) out[at] = rng.int(2) ? out[at] ^ (1 << rng.int(8)) : rng.int(256);
      }
      return out;
    }
    case 2: {
      // header-length rewrites
      if (len < 8) return out;
      const choices = [
        0n,
        1n,
        2n,
        7n,
        8n,
        BigInt(n - 1),
        BigInt(n + 1),
        BigInt(len - 8),
        BigInt(len - 7),
        100_000_000n,
        100_000_001n,
        2n ** 32n,
        2n ** 53n,
        2n ** 63n,
        2n ** 64n - 1n,
        BigInt(rng.int(len + 16)),
      ];
      dv.setBigUint64(0, BigInt.asUintN(64, pick(rng, choices)), true);
      return out;
    }
    case 3: {
      // insert or delete a byte inside the header, keeping N
      const at = 8 + rng.int(Math.max(1, n));
      if (rng.int(2))
        return new Uint8Array([
          ...out.subarray(0, at),
          pick(rng, [0x22, 0x5c, 0x2c, 0x7b, 0x7d, 0x5b, 0x5d, 0x3a, 0x20, 0x30]),
          ...out.subarray(at),
        ]);
      return new Uint8Array([...out.subarray(0, at), ...out.subarray(at + 1)]);
    }
    case 4: // append garbage
      return new Uint8Array([...out, ...Array.from({ length: 1 + rng.int(8) }, () => rng.int(256))]);
    default:
      try {
        return rewriteJson(rng, file);
      } catch {
        return out; // a stacked mutation left a header shape this rewriter does not handle
      }
  }
}

/** Parses one input and checks every invariant; returns the error code, or 'ok'. */
function check(bytes: Uint8Array): SafetensorsErrorCode | 'ok' {
  let parsed: ReturnType<typeof parseSafetensors>;
  try {
    parsed = parseSafetensors(bytes, FILE);
  } catch (e) {
    if (!(e instanceof SafetensorsError)) throw new Error(`non-SafetensorsError thrown: ${String(e)}`, { cause: e });
    if (e.file !== FILE || !e.message.startsWith(`${FILE}: `)) throw new Error(`bad error: ${e.message}`);
    return e.code;
  }
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  const start = bytes.byteOffset + 8 + n;
  let cursor = start;
  for (const [name, t] of parsed.tensors) {
    if (t.name !== name || !isDtype(t.dtype)) throw new Error(`bad entry ${name}`);
    // No allocation beyond the input: the data is a view of the input's buffer, inside the data section.
    if (t.data.buffer !== bytes.buffer) throw new Error(`tensor ${name} is not a view of the input`);
    const numel = t.shape.reduce((a, b) => a * b, 1);
    if (t.data.byteLength !== dtypeByteSize(t.dtype, numel)) throw new Error(`tensor ${name} has the wrong size`);
    if (t.data.byteOffset !== cursor) throw new Error(`tensor ${name} does not tile the buffer`);
    cursor += t.data.byteLength;
    try {
      const f = toFloat32(t, FILE);
      if (f.length !== numel) throw new Error(`toFloat32(${name}) has ${f.length} values, expected ${numel}`);
    } catch (e) {
      if (!(e instanceof SafetensorsError) || e.code !== 'UnsupportedDtype') throw e;
    }
  }
  if (cursor !== bytes.byteOffset + bytes.length) throw new Error('tensors do not end at the end of the file');
  for (const v of Object.values(parsed.metadata))
    if (typeof v !== 'string') throw new Error('metadata value not a string');
  return 'ok';
}

describe('safetensors fuzz', () => {
  it('mutated valid files either parse validly or throw SafetensorsError', () => {
    const rng = new Rng(20240821);
    const seeds: Uint8Array[] = [];
    for (let i = 0; i < 40; i++) seeds.push(i % 2 ? writerFile(rng) : rawValidFile(rng));
    for (const s of seeds) expect(check(s)).toBe('ok');

    const counts = new Map<string, number>();
    // A fixed count, so the verdict never depends on the machine's speed; a hang fails by the test timeout.
    let iterations = 0;
    for (; iterations < 3000; iterations++) {
      let bytes = mutate(rng, pick(rng, seeds));
      if (rng.int(4) === 0) bytes = mutate(rng, bytes); // stacked mutations
      if (rng.int(8) === 0) {
        // Same bytes at an odd offset in a larger buffer.
        const host = new Uint8Array(bytes.length + 3);
        host.set(bytes, 1);
        bytes = host.subarray(1, 1 + bytes.length);
      }
      let code: string;
      try {
        code = check(bytes);
      } catch (e) {
        throw new Error(
          `iteration ${iterations}: ${(e as Error).message}\ninput: ${Buffer.from(bytes).toString('hex').slice(0, 2000)}`,
          { cause: e },
        );
      }
      counts.set(code, (counts.get(code) ?? 0) + 1);
    }
    if (process.env.FUZZ_VERBOSE) console.log(iterations, JSON.stringify([...counts]));
    // The mutations reached most validation paths.
    for (const code of [
      'ok',
      'HeaderTooSmall',
      'HeaderTooLarge',
      'InvalidHeaderLength',
      'InvalidHeaderJson',
      'DuplicateKey',
      'InvalidMetadata',
      'InvalidTensorInfo',
      'UnknownDtype',
      'InvalidShape',
      'InvalidOffset',
      'TensorSizeMismatch',
      'IncompleteBuffer',
    ]) {
      expect(counts.get(code) ?? 0, `${code} never reached; counts ${JSON.stringify([...counts])}`).toBeGreaterThan(0);
    }
  });

  it('duplicate-key detection agrees with a ground truth on keys full of quotes, backslashes and escapes', () => {
    const rng = new Rng(99);
    const alphabet = ['a', 'b', '"', '\\', '{', '}', ',', ':', '[', ']', ' ', 'é', '🤗', '\u0000', '\n'];
    // Encode a key either plainly (JSON.stringify) or with some characters as \uXXXX escapes.
    const encodeKey = (k: string): string =>
      rng.int(2)
        ? JSON.stringify(k)
        : `"${[...k].map((c) => (c === '"' || c === '\\' || c < ' ' || rng.int(3) === 0 ? Array.from({ length: c.length }, (_, i) => `\\u${c.charCodeAt(i).toString(16).padStart(4, '0')}`).join('') : c)).join('')}"`;
    let dupCases = 0;
    for (let iter = 0; iter < 1500; iter++) {
      const nKeys = 1 + rng.int(5);
      const keys = Array.from({ length: nKeys }, () =>
        Array.from({ length: rng.int(4) }, () => pick(rng, alphabet)).join(''),
      );
      const value = () =>
        JSON.stringify(
          pick(rng, [1, 'x"y', { [pick(rng, keys)]: [pick(rng, keys), { k: '\\"' }] }, [pick(rng, keys)], null]),
        );
      const text = `{${keys.map((k) => `${encodeKey(k)} : ${value()}`).join(' , ')}}`;
      const hasDup = new Set(keys).size !== keys.length;
      dupCases += hasDup ? 1 : 0;
      const code = check(assemble(text, new Uint8Array(0), true));
      if (hasDup !== (code === 'DuplicateKey')) throw new Error(`dup=${hasDup} but got ${code} for ${text}`);
    }
    expect(dupCases).toBeGreaterThan(100);
  });

  it('rejects a huge claimed header length in a tiny file without allocating', () => {
    for (const n of [100_000_000n, 99_999_999n, 2n ** 64n - 1n, 2n ** 53n + 1n]) {
      const bytes = new Uint8Array(16);
      new DataView(bytes.buffer).setBigUint64(0, n, true);
      const code = check(bytes);
      expect(['HeaderTooLarge', 'InvalidHeaderLength']).toContain(code);
    }
  });
});
