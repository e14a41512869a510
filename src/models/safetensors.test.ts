import { describe, expect, it } from 'vitest';
import { f16ToF32, f32ToBf16, f32ToF16 } from '../tensor/half';
import { ModelFormatError, SafetensorsError, type SafetensorsErrorCode } from './errors';
import { toFloat32 } from './safetensorsDecode';
import { MAX_HEADER_SIZE } from './safetensorsFormat';
import { parseSafetensors } from './safetensorsRead';
import { type WritableTensor, writeSafetensors } from './safetensorsWrite';

const FILE = 'test.safetensors';
const enc = new TextEncoder();

function f32Bytes(xs: number[]): Uint8Array {
  return new Uint8Array(new Float32Array(xs).buffer);
}

/** A file from a header (object or raw text) and data bytes; `n` overrides the length prefix, `pad` pads to 8. */
function rawFile(
  header: unknown,
  data: Uint8Array | number = 0,
  opts: { n?: number | bigint; pad?: boolean } = {},
): Uint8Array {
  let json = enc.encode(typeof header === 'string' ? header : JSON.stringify(header));
  if (opts.pad ?? true) {
    const padded = new Uint8Array(Math.ceil(json.length / 8) * 8).fill(0x20);
    padded.set(json);
    json = padded;
  }
  const body = typeof data === 'number' ? new Uint8Array(data) : data;
  const out = new Uint8Array(8 + json.length + body.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(opts.n ?? json.length), true);
  out.set(json, 8);
  out.set(body, 8 + json.length);
  return out;
}

function parseError(bytes: Uint8Array): SafetensorsError {
  try {
    parseSafetensors(bytes, FILE);
  } catch (e) {
    expect(e).toBeInstanceOf(SafetensorsError);
    expect(e).toBeInstanceOf(ModelFormatError);
    return e as SafetensorsError;
  }
  throw new Error('expected parseSafetensors to throw');
}

function expectParseError(
  bytes: Uint8Array,
  code: SafetensorsErrorCode,
  ...fragments: (string | RegExp)[]
): SafetensorsError {
  const e = parseError(bytes);
  expect(e.code, e.message).toBe(code);
  expect(e.file).toBe(FILE);
  expect(e.message.startsWith(`${FILE}: ${e.field}: `)).toBe(true);
  expect(e.field.length).toBeGreaterThan(0);
  for (const f of fragments) expect(e.message).toMatch(f);
  return e;
}

const t = (dtype: string, shape: number[], begin: number, end: number) => ({
  dtype,
  shape,
  data_offsets: [begin, end],
});

// Golden bytes from the reference implementation's tests (safetensors/src/tensor.rs).
const GOLDEN_ATTN_DOT_0 = [
  64, 0, 0, 0, 0, 0, 0, 0, 123, 34, 97, 116, 116, 110, 46, 48, 34, 58, 123, 34, 100, 116, 121, 112, 101, 34, 58, 34, 70,
  51, 50, 34, 44, 34, 115, 104, 97, 112, 101, 34, 58, 91, 49, 44, 50, 44, 51, 93, 44, 34, 100, 97, 116, 97, 95, 111,
  102, 102, 115, 101, 116, 115, 34, 58, 91, 48, 44, 50, 52, 93, 125, 125, 0, 0, 0, 0, 0, 0, 128, 63, 0, 0, 0, 64, 0, 0,
  64, 64, 0, 0, 128, 64, 0, 0, 160, 64,
];
const GOLDEN_ATTN0 = [
  72, 0, 0, 0, 0, 0, 0, 0, 123, 34, 97, 116, 116, 110, 48, 34, 58, 123, 34, 100, 116, 121, 112, 101, 34, 58, 34, 70, 51,
  50, 34, 44, 34, 115, 104, 97, 112, 101, 34, 58, 91, 49, 44, 49, 44, 50, 44, 51, 93, 44, 34, 100, 97, 116, 97, 95, 111,
  102, 102, 115, 101, 116, 115, 34, 58, 91, 48, 44, 50, 52, 93, 125, 125, 32, 32, 32, 32, 32, 32, 32, 0, 0, 0, 0, 0, 0,
  128, 63, 0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64, 0, 0, 160, 64,
];
const GOLDEN_EMPTY = [8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32];
const GOLDEN_EMPTY_FRAMEWORK = [
  40, 0, 0, 0, 0, 0, 0, 0, 123, 34, 95, 95, 109, 101, 116, 97, 100, 97, 116, 97, 95, 95, 34, 58, 123, 34, 102, 114, 97,
  109, 101, 119, 111, 114, 107, 34, 58, 34, 112, 116, 34, 125, 125, 32, 32, 32, 32, 32,
];

describe('golden bytes (reference tests)', () => {
  const values = new Float32Array([0, 1, 2, 3, 4, 5]);

  it('attn.0 F32 [1,2,3]: header length 64, no padding', () => {
    const out = writeSafetensors([{ name: 'attn.0', dtype: 'F32', shape: [1, 2, 3], data: values }], null);
    expect([...out]).toEqual(GOLDEN_ATTN_DOT_0);
    const { tensors, metadata } = parseSafetensors(out, FILE);
    expect(metadata).toEqual({});
    const e = tensors.get('attn.0')!;
    expect(e).toMatchObject({ name: 'attn.0', dtype: 'F32', shape: [1, 2, 3] });
    expect([...toFloat32(e)]).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('attn0 F32 [1,1,2,3]: 7 spaces of padding, header length 72, aligned data', () => {
    const out = writeSafetensors([{ name: 'attn0', dtype: 'F32', shape: [1, 1, 2, 3], data: values }], null);
    expect([...out]).toEqual(GOLDEN_ATTN0);
    const e = parseSafetensors(out, FILE).tensors.get('attn0')!;
    expect(e.data.byteOffset % 4).toBe(0);
    const f = toFloat32(e);
    expect(f.buffer).toBe(out.buffer); // aligned F32 is a view
    expect([...f]).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('empty file: 08 00.. 7B 7D + 6 spaces', () => {
    const out = writeSafetensors([], null);
    expect([...out]).toEqual(GOLDEN_EMPTY);
    const parsed = parseSafetensors(out, FILE);
    expect(parsed.tensors.size).toBe(0);
    expect(parsed.metadata).toEqual({});
  });

  it('reads the reference empty file with metadata {framework: pt}', () => {
    expect(parseSafetensors(new Uint8Array(GOLDEN_EMPTY_FRAMEWORK), FILE).metadata).toEqual({ framework: 'pt' });
  });

  it('writes __metadata__ {format: pt} by default and keeps it for other metadata', () => {
    const out = writeSafetensors([]);
    const text = new TextDecoder().decode(out.subarray(8));
    expect(text).toBe('{"__metadata__":{"format":"pt"}}');
    expect(Number(new DataView(out.buffer).getBigUint64(0, true))).toBe(32);
    expect(parseSafetensors(out).metadata).toEqual({ format: 'pt' });
    expect(parseSafetensors(writeSafetensors([], { step: '10' })).metadata).toEqual({ format: 'pt', step: '10' });
    expect(parseSafetensors(writeSafetensors([], { format: 'np' })).metadata).toEqual({ format: 'np' });
  });
});

describe('writer', () => {
  it('orders tensors by descending dtype alignment, then by name (code-point order), and pads to 8', () => {
    const out = writeSafetensors([
      { name: 'b', dtype: 'F16', shape: [1], data: new Uint16Array([0x3c00]) },
      { name: 'a', dtype: 'F16', shape: [1], data: new Uint16Array([0x4000]) },
      { name: 'z', dtype: 'I32', shape: [1], data: new Int32Array([7]) },
      { name: 'y', dtype: 'BF16', shape: [1], data: new Uint16Array([0x3f80]) },
      { name: 'w', dtype: 'F32', shape: [1], data: new Float32Array([1]) },
      { name: 'x', dtype: 'I64', shape: [1], data: new BigInt64Array([9n]) },
      { name: '\u{1F600}', dtype: 'F32', shape: [], data: new Float32Array([2]) },
      { name: '\uFFFD', dtype: 'F32', shape: [], data: new Float32Array([3]) },
    ]);
    const n = Number(new DataView(out.buffer).getBigUint64(0, true));
    expect(n % 8).toBe(0);
    const names = [...parseSafetensors(out).tensors.keys()];
    // UTF-16 order would put U+1F600 (a surrogate pair) before U+FFFD; UTF-8/code-point order puts it after.
    expect(names).toEqual(['x', 'w', '\uFFFD', '\u{1F600}', 'z', 'y', 'a', 'b']);
    const header = new TextDecoder().decode(out.subarray(8, 8 + n));
    expect(header.indexOf('"x"')).toBeLessThan(header.indexOf('"w"'));
    expect(header.trimEnd().endsWith('}')).toBe(true);
  });

  it('round-trips every writable dtype, scalars, zero-size tensors and odd names', () => {
    const rows = 3;
    const f = new Float32Array([0, -1.5, 3.25, 65504, -0, 1e-3]);
    const tensors: WritableTensor[] = [
      { name: 'f32', dtype: 'F32', shape: [rows, 2], data: f },
      {
        name: 'f16.bits',
        dtype: 'F16',
        shape: [6],
        data: new Uint16Array([0x3c00, 0xc000, 0x7c00, 0x0001, 0x8000, 0x7bff]),
      },
      { name: 'f16.from.f32', dtype: 'F16', shape: [2, 3], data: f },
      { name: 'bf16.bits', dtype: 'BF16', shape: [2], data: new Uint16Array([0x3f80, 0xff80]) },
      { name: 'bf16.from.f32', dtype: 'BF16', shape: [6], data: f },
      { name: 'i32', dtype: 'I32', shape: [3], data: new Int32Array([-2147483648, 0, 2147483647]) },
      { name: 'i64', dtype: 'I64', shape: [3], data: new BigInt64Array([-5n, 0n, 2n ** 40n]) },
      { name: 'raw', dtype: 'F32', shape: [2], data: f32Bytes([7, 8]) },
      { name: 'scalar', dtype: 'F32', shape: [], data: new Float32Array([42]) },
      { name: 'empty', dtype: 'F32', shape: [4, 0], data: new Float32Array(0) },
      { name: 'empty2', dtype: 'I64', shape: [0], data: new BigInt64Array(0) },
      { name: 'quote"back\\slash', dtype: 'F32', shape: [1], data: new Float32Array([1]) },
      { name: 'naïve café 🤗 {"a":[1,2]}', dtype: 'F32', shape: [1], data: new Float32Array([2]) },
      { name: '', dtype: 'F32', shape: [1], data: new Float32Array([3]) },
    ];
    const out = writeSafetensors(tensors, { format: 'pt', note: 'x"y' });
    const { tensors: got, metadata } = parseSafetensors(out, FILE);
    expect(metadata).toEqual({ format: 'pt', note: 'x"y' });
    expect(got.size).toBe(tensors.length);
    for (const e of got.values()) {
      expect(e.data.buffer).toBe(out.buffer);
      expect(e.data.byteOffset % (e.dtype === 'I64' ? 8 : e.dtype === 'F32' || e.dtype === 'I32' ? 4 : 2)).toBe(0);
    }
    const vals = (name: string) => [...toFloat32(got.get(name)!)];
    expect(vals('f32')).toEqual([...f]);
    expect(got.get('f32')!.shape).toEqual([3, 2]);
    expect(vals('f16.bits')).toEqual([1, -2, Infinity, 2 ** -24, -0, 65504]);
    expect(vals('f16.from.f32')).toEqual([...f].map((x) => f16ToF32(f32ToF16(x))));
    expect(vals('bf16.bits')).toEqual([1, -Infinity]);
    expect(vals('bf16.from.f32')).toEqual(
      [...f].map((x) => new Float32Array(new Uint32Array([f32ToBf16(x) << 16]).buffer)[0]),
    );
    expect(vals('i32')).toEqual([-2147483648, 0, Math.fround(2147483647)]); // f32 rounds 2^31 - 1 up
    expect(vals('i64')).toEqual([-5, 0, 2 ** 40]);
    expect(new BigInt64Array(got.get('i64')!.data.slice().buffer)).toEqual(new BigInt64Array([-5n, 0n, 2n ** 40n]));
    expect(vals('raw')).toEqual([7, 8]);
    expect(vals('scalar')).toEqual([42]);
    expect(got.get('scalar')!.shape).toEqual([]);
    expect(vals('empty')).toEqual([]);
    expect(got.get('empty')!.shape).toEqual([4, 0]);
    expect(vals('empty2')).toEqual([]);
    expect(vals('quote"back\\slash')).toEqual([1]);
    expect(vals('naïve café 🤗 {"a":[1,2]}')).toEqual([2]);
    expect(vals('')).toEqual([3]);
    // Writing what was read gives the same bytes.
    const again = writeSafetensors(
      [...got.values()].map((e) => ({
        name: e.name,
        dtype: e.dtype as WritableTensor['dtype'],
        shape: e.shape,
        data: e.data,
      })),
      metadata,
    );
    expect(again).toEqual(out);
  });

  it('rejects inconsistent input with SafetensorsError InvalidInput', () => {
    const bad = (ts: WritableTensor[], frag: RegExp) => {
      let err: unknown;
      try {
        writeSafetensors(ts, undefined, 'out.safetensors');
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(SafetensorsError);
      expect((err as SafetensorsError).code).toBe('InvalidInput');
      expect((err as SafetensorsError).message).toMatch(/^out\.safetensors: /);
      expect((err as SafetensorsError).message).toMatch(frag);
    };
    const one = new Float32Array([1]);
    bad(
      [
        { name: 'a', dtype: 'F32', shape: [1], data: one },
        { name: 'a', dtype: 'F32', shape: [1], data: one },
      ],
      /twice/,
    );
    bad([{ name: '__metadata__', dtype: 'F32', shape: [1], data: one }], /invalid tensor name/);
    bad([{ name: 'a', dtype: 'F32', shape: [2], data: one }], /1 values given/);
    bad([{ name: 'a', dtype: 'F32', shape: [-1], data: one }], /non-negative/);
    bad(
      [{ name: 'a', dtype: 'F32', shape: [1], data: new Int32Array([1]) }],
      /Int32Array data cannot be written as F32/,
    );
    bad([{ name: 'a', dtype: 'U8' as never, shape: [1], data: new Uint8Array(1) }], /cannot write dtype U8/);
    bad([{ name: 'a', dtype: 'F32', shape: [2], data: new Uint8Array(7) }], /7 data bytes given/);
  });
});

describe('reader', () => {
  it('reads dtypes the writer does not write, converting where trivial', () => {
    const parts: [string, number[], Uint8Array, number[] | null][] = [
      ['F64', [2], new Uint8Array(new Float64Array([1.5, -2]).buffer), [1.5, -2]],
      ['U64', [1], new Uint8Array(new BigUint64Array([2n ** 63n]).buffer), [2 ** 63]],
      ['U32', [1], new Uint8Array(new Uint32Array([4294967295]).buffer), [2 ** 32]], // f32 rounds up
      ['I16', [2], new Uint8Array(new Int16Array([-3, 300]).buffer), [-3, 300]],
      ['U16', [1], new Uint8Array(new Uint16Array([65535]).buffer), [65535]],
      ['I8', [2], new Uint8Array([0xff, 0x7f]), [-1, 127]],
      ['U8', [2], new Uint8Array([0xff, 1]), [255, 1]],
      ['BOOL', [2], new Uint8Array([1, 0]), [1, 0]],
      ['F8_E4M3', [3], new Uint8Array(3), null],
      ['F4', [4], new Uint8Array(2), null],
      ['C64', [1], new Uint8Array(8), null],
    ];
    const header: Record<string, unknown> = { __metadata__: null };
    const chunks: Uint8Array[] = [];
    let off = 0;
    for (const [dtype, shape, bytes] of parts) {
      header[dtype] = t(dtype, shape, off, off + bytes.length);
      chunks.push(bytes);
      off += bytes.length;
    }
    const data = new Uint8Array(off);
    let p = 0;
    for (const c of chunks) {
      data.set(c, p);
      p += c.length;
    }
    const { tensors, metadata } = parseSafetensors(rawFile(header, data), FILE);
    expect(metadata).toEqual({});
    expect([...tensors.keys()]).toEqual(parts.map((x) => x[0])); // offset order
    for (const [dtype, , , expected] of parts) {
      const e = tensors.get(dtype)!;
      if (expected) expect([...toFloat32(e)], dtype).toEqual(expected);
      else {
        let err: unknown;
        try {
          toFloat32(e, FILE);
        } catch (x) {
          err = x;
        }
        expect(err).toBeInstanceOf(SafetensorsError);
        expect((err as SafetensorsError).code).toBe('UnsupportedDtype');
        expect((err as SafetensorsError).message).toContain(`${FILE}: ${dtype}: dtype ${dtype} cannot be converted`);
      }
    }
  });

  it('converts unaligned data by copying', () => {
    const file = writeSafetensors([
      { name: 'f', dtype: 'F32', shape: [3], data: new Float32Array([1, 2, 3]) },
      { name: 'h', dtype: 'F16', shape: [2], data: new Uint16Array([0x3c00, 0x4000]) },
      { name: 'b', dtype: 'BF16', shape: [1], data: new Uint16Array([0x3f80]) },
      { name: 'i', dtype: 'I64', shape: [1], data: new BigInt64Array([-7n]) },
    ]);
    for (const shift of [1, 2, 3, 5]) {
      const host = new Uint8Array(file.length + shift);
      host.set(file, shift);
      const bytes = host.subarray(shift);
      const { tensors } = parseSafetensors(bytes, FILE);
      const f = tensors.get('f')!;
      expect(f.data.byteOffset % 4).not.toBe(0);
      expect(f.data.buffer).toBe(host.buffer);
      expect([...toFloat32(f)]).toEqual([1, 2, 3]);
      expect([...toFloat32(tensors.get('h')!)]).toEqual([1, 2]);
      expect([...toFloat32(tensors.get('b')!)]).toEqual([1]);
      expect([...toFloat32(tensors.get('i')!)]).toEqual([-7]);
    }
  });

  it('accepts any entry order in the header and zero-size tensors sharing an offset', () => {
    const header = {
      b: t('F32', [1], 4, 8),
      z1: t('F32', [0], 8, 8),
      a: t('F32', [1], 0, 4),
      z0: t('U8', [2, 0], 0, 0),
    };
    const { tensors } = parseSafetensors(rawFile(header, f32Bytes([1, 2])), FILE);
    expect([...tensors.keys()]).toEqual(['z0', 'a', 'b', 'z1']);
    expect([...toFloat32(tensors.get('b')!)]).toEqual([2]);
  });

  it('accepts leading whitespace, unpadded headers and extra fields in entries', () => {
    const text = ' \n{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"extra":{"k":[1,{"x":2}]}}}';
    const e = parseSafetensors(rawFile(text, f32Bytes([5]), { pad: false }), FILE).tensors.get('a')!;
    expect(e.data.byteOffset % 4).not.toBe(0);
    expect([...toFloat32(e)]).toEqual([5]);
  });
});

describe('reader validation errors', () => {
  const ok = { a: t('F32', [2], 0, 8) };

  it('file shorter than 8 bytes', () => {
    expectParseError(new Uint8Array(0), 'HeaderTooSmall', /0 bytes/, /header length/);
    expectParseError(new Uint8Array(7), 'HeaderTooSmall', /7 bytes/);
  });

  it('header length above 100,000,000 (checked before anything is allocated)', () => {
    expectParseError(rawFile(ok, 8, { n: MAX_HEADER_SIZE + 1 }), 'HeaderTooLarge', /100000001/);
    expectParseError(rawFile(ok, 8, { n: 2n ** 64n - 1n }), 'HeaderTooLarge', /18446744073709551615/);
    expectParseError(rawFile(ok, 8, { n: 2n ** 32n }), 'HeaderTooLarge');
    // Exactly at the limit is fine size-wise but runs past this small file.
    expectParseError(rawFile(ok, 8, { n: MAX_HEADER_SIZE }), 'InvalidHeaderLength');
  });

  it('header length beyond the end of the file', () => {
    const good = rawFile(ok, 8);
    const n = good.length - 8;
    expectParseError(
      rawFile(ok, 8, { n: n + 1 }),
      'InvalidHeaderLength',
      new RegExp(`${n + 1} bytes but only ${n} bytes`),
      /truncated/,
    );
    expectParseError(new Uint8Array([8, 0, 0, 0, 0, 0, 0, 0, 0x7b]), 'InvalidHeaderLength');
  });

  it('header not UTF-8', () => {
    const bad = rawFile('{"a":1}   ');
    bad[10] = 0xff;
    expectParseError(bad, 'InvalidHeaderUtf8', /UTF-8/, /header/);
    // A UTF-8-encoded surrogate (CESU-8) is not valid UTF-8 either.
    const cesu = rawFile('{"xxx":{}}');
    cesu.set([0xed, 0xa0, 0x80], 10);
    expectParseError(cesu, 'InvalidHeaderUtf8');
  });

  it('header not JSON or not an object', () => {
    expectParseError(rawFile('not json'), 'InvalidHeaderJson', /not valid JSON/);
    expectParseError(rawFile('{"a":1'), 'InvalidHeaderJson', /not valid JSON/);
    expectParseError(rawFile('\uFEFF{}'), 'InvalidHeaderJson'); // a BOM is not JSON whitespace
    expectParseError(rawFile(''), 'InvalidHeaderJson');
    expectParseError(rawFile('[]'), 'InvalidHeaderJson', /an array, not a JSON object/);
    expectParseError(rawFile('null'), 'InvalidHeaderJson', /null, not a JSON object/);
    expectParseError(rawFile('"x"'), 'InvalidHeaderJson', /string/);
    expectParseError(rawFile('12'), 'InvalidHeaderJson', /number/);
  });

  it('duplicate tensor names, also when spelled with escapes', () => {
    const e1 = expectParseError(
      rawFile(
        '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}',
        4,
      ),
      'DuplicateKey',
      /tensor name "a"/,
    );
    expect(e1.field).toBe('a');
    expectParseError(
      rawFile(
        '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"\\u0061":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}',
        4,
      ),
      'DuplicateKey',
    );
    // Keys with escaped quotes and JSON punctuation inside.
    const k = 'q\\",\\"x\\":{';
    expectParseError(
      rawFile(
        `{"${k}":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}, "${k}" : {"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`,
        4,
      ),
      'DuplicateKey',
      /q\\",\\"x\\":\{/,
    );
    expectParseError(rawFile('{"__metadata__":{},"__metadata__":{}}'), 'DuplicateKey', /__metadata__/);
  });

  it('no false duplicates: similar keys, keys inside values, escaped backslashes', () => {
    const header =
      '{"a\\\\":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},' + // a\
      '"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8],"note":"\\"a\\":{}, \\\\"},' +
      '"a\\\\\\"":{"dtype":"F32","shape":[1],"data_offsets":[8,12],"x":["a","a",{"a":1},{"a":2}]},' + // a\"
      '"__metadata__":{"a":"a","dtype":"\\\\"}}';
    const { tensors, metadata } = parseSafetensors(rawFile(header, 12), FILE);
    expect([...tensors.keys()]).toEqual(['a\\', 'a', 'a\\"']);
    expect(metadata).toEqual({ a: 'a', dtype: '\\' });
  });

  it('duplicate fields inside an entry (JSON.parse would keep the last)', () => {
    const e = expectParseError(
      rawFile('{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"shape":[2]}}', 4),
      'DuplicateKey',
      /key "shape" in "w"/,
    );
    expect(e.field).toBe('w');
  });

  it('__metadata__ not an object of strings', () => {
    expectParseError(rawFile({ __metadata__: [] }), 'InvalidMetadata', /__metadata__: it is an array/);
    expectParseError(rawFile({ __metadata__: 'pt' }), 'InvalidMetadata', /string "pt", not an object/);
    expectParseError(
      rawFile({ __metadata__: { format: 1 } }),
      'InvalidMetadata',
      /__metadata__\.format: the value is the number 1, not a string/,
    );
    expectParseError(rawFile({ __metadata__: { format: null } }), 'InvalidMetadata', /null/);
    expectParseError(rawFile({ __metadata__: { format: { a: 'b' } } }), 'InvalidMetadata');
    expectParseError(rawFile('{"__metadata__":{"k":"\\ud800"}}'), 'InvalidMetadata', /surrogate/);
    expect(parseSafetensors(rawFile({ __metadata__: null }), FILE).metadata).toEqual({}); // as in the reference: None
  });

  it('entry missing dtype/shape/data_offsets or of the wrong type', () => {
    const cases: [unknown, RegExp][] = [
      [1, /tensor "w" is the number 1, not an object/],
      [[], /an array, not an object/],
      [null, /null, not an object/],
      [{ shape: [1], data_offsets: [0, 4] }, /has no "dtype"/],
      [{ dtype: 'F32', data_offsets: [0, 4] }, /has no "shape"/],
      [{ dtype: 'F32', shape: [1] }, /has no "data_offsets"/],
      [{ dtype: 32, shape: [1], data_offsets: [0, 4] }, /"dtype" is the number 32, not a string/],
      [{ dtype: 'F32', shape: '1', data_offsets: [0, 4] }, /"shape" is the string "1", not an array/],
      [{ dtype: 'F32', shape: [1], data_offsets: [4] }, /"data_offsets" is an array, not an array \[begin, end\]/],
      [{ dtype: 'F32', shape: [1], data_offsets: [0, 4, 8] }, /data_offsets/],
      [{ dtype: 'F32', shape: [1], data_offsets: { begin: 0 } }, /data_offsets/],
      [{ dtype: 'F32', shape: [1], data_offsets: ['0', 4] }, /are not non-negative integers/],
      [{ dtype: 'F32', shape: [1], data_offsets: [-4, 0] }, /are not non-negative integers/],
      [{ dtype: 'F32', shape: [1], data_offsets: [0.5, 4.5] }, /are not non-negative integers/],
      [{ dtype: 'F32', shape: [1], data_offsets: [0, 2 ** 53] }, /are not non-negative integers/],
    ];
    for (const [info, frag] of cases) {
      const e = expectParseError(rawFile({ w: info }, 4), 'InvalidTensorInfo', frag, /re-export/);
      expect(e.field).toBe('w');
    }
    expectParseError(
      rawFile('{"\\udc00":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', 4),
      'InvalidTensorInfo',
      /surrogate/,
    );
  });

  it('unknown dtype', () => {
    expectParseError(
      rawFile({ w: t('F128', [1], 0, 16) }, 16),
      'UnknownDtype',
      /tensor "w": unknown dtype "F128"/,
      /Supported dtypes are BOOL/,
    );
    expectParseError(rawFile({ w: t('f32', [1], 0, 4) }, 4), 'UnknownDtype');
    expectParseError(rawFile({ w: t('__proto__', [1], 0, 4) }, 4), 'UnknownDtype');
    expectParseError(rawFile({ w: t('toString', [1], 0, 4) }, 4), 'UnknownDtype');
  });

  it('negative or non-integer shape dimensions', () => {
    expectParseError(
      rawFile({ w: t('F32', [-1], 0, 4) }, 4),
      'InvalidShape',
      /shape\[0\] is the number -1, not a non-negative integer/,
    );
    expectParseError(rawFile({ w: t('F32', [2, 1.5], 0, 4) }, 4), 'InvalidShape', /shape\[1\]/);
    expectParseError(
      rawFile({ w: { dtype: 'F32', shape: ['2'], data_offsets: [0, 8] } }, 8),
      'InvalidShape',
      /string "2"/,
    );
    expectParseError(rawFile({ w: { dtype: 'F32', shape: [null], data_offsets: [0, 8] } }, 8), 'InvalidShape');
    expectParseError(rawFile('{"w":{"dtype":"F32","shape":[1e400],"data_offsets":[0,8]}}', 8), 'InvalidShape'); // Infinity
  });

  it('shape product or byte size overflowing Number.MAX_SAFE_INTEGER', () => {
    expectParseError(
      rawFile({ w: t('F32', [2 ** 26, 2 ** 26, 4], 0, 4) }, 4),
      'ValidationOverflow',
      /exceeds 2\^53 - 1/,
    );
    // Overflow is detected even when a later dimension is 0 (as the reference's checked_mul fold does).
    expectParseError(rawFile({ w: t('F32', [2 ** 30, 2 ** 30, 0], 0, 0) }, 0), 'ValidationOverflow');
    expectParseError(rawFile({ w: t('F32', [2 ** 51], 0, 4) }, 4), 'ValidationOverflow', /representable/);
  });

  it('begin > end', () => {
    expectParseError(rawFile({ w: t('F32', [1], 8, 4) }, 8), 'InvalidOffset', /begin 8 is after end 4/);
  });

  it('end - begin != prod(shape) * sizeof(dtype)', () => {
    expectParseError(
      rawFile({ w: t('F32', [2], 0, 4) }, 4),
      'TensorSizeMismatch',
      /span 4 bytes but F32 shape \[2\] needs 8/,
    );
    expectParseError(rawFile({ w: t('BF16', [3], 0, 4) }, 4), 'TensorSizeMismatch', /needs 6/);
    expectParseError(rawFile({ w: t('F4', [3], 0, 2) }, 2), 'TensorSizeMismatch', /whole/); // 12 bits
  });

  it('gaps and overlaps between tensors, first not at 0', () => {
    expectParseError(rawFile({ w: t('F32', [1], 4, 8) }, 8), 'InvalidOffset', /gap: bytes 0\.\.4 belong to no tensor/);
    expectParseError(
      rawFile({ a: t('F32', [1], 0, 4), b: t('F32', [1], 8, 12) }, 12),
      'InvalidOffset',
      /"b".*gap: bytes 4\.\.8/,
    );
    expectParseError(
      rawFile({ a: t('F32', [2], 0, 8), b: t('F32', [1], 4, 8) }, 8),
      'InvalidOffset',
      /overlaps the previous tensor, which ends at 8/,
    );
    expectParseError(rawFile({ a: t('F32', [1], 0, 4), b: t('F32', [1], 0, 4) }, 4), 'InvalidOffset', /overlaps/);
  });

  it('last end + 8 + N must equal the file length', () => {
    expectParseError(
      rawFile({ w: t('F32', [2], 0, 8) }, 9),
      'IncompleteBuffer',
      /cover 8 bytes of data but the file has 9/,
      /trailing/,
    );
    expectParseError(rawFile({ w: t('F32', [2], 0, 8) }, 7), 'IncompleteBuffer', /truncated/);
    expectParseError(rawFile({}, 1), 'IncompleteBuffer');
    // A truncated real file.
    const good = writeSafetensors([{ name: 'w', dtype: 'F32', shape: [4], data: new Float32Array(4) }]);
    expectParseError(good.subarray(0, good.length - 1), 'IncompleteBuffer', /truncated/);
  });

  it('errors name the file and the tensor and say what to do', () => {
    const e = expectParseError(rawFile({ 'h.0.attn.c_attn.weight': t('F32', [2], 0, 4) }, 4), 'TensorSizeMismatch');
    expect(e.field).toBe('h.0.attn.c_attn.weight');
    expect(e.name).toBe('SafetensorsError');
    expect(e.message).toMatch(
      /^test\.safetensors: h\.0\.attn\.c_attn\.weight: tensor "h\.0\.attn\.c_attn\.weight": .*re-export/,
    );
    let defaultName = '';
    try {
      parseSafetensors(new Uint8Array(3));
    } catch (x) {
      defaultName = (x as SafetensorsError).file;
    }
    expect(defaultName).toBe('model.safetensors');
  });
});
