// Reader for the official ONNX node tests shipped by Debian's libonnx-testdata: one-node models, their inputs and
// expected outputs as TensorProto files. Used by operators.test.ts as an outside oracle for the engine's forward ops.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { onnx as OnnxTypes } from 'onnx-proto';
import onnxProto from 'onnx-proto';

// onnx-proto is CommonJS whose `onnx` export Node's ESM loader cannot see as a named export; take it off the default.
const { onnx } = onnxProto;

/** Where libonnx-testdata installs the per-operator test directories. */
export const ONNX_NODE_DIR = '/usr/share/libonnx-testdata/data/node';

/** A decoded tensor: f32 data for FLOAT, i32 for INT32/INT64 (int64 values must fit; they are indices here). */
export interface OnnxTensor {
  dims: number[];
  data: Float32Array | Int32Array;
}

export type AttrValue = number | number[] | string;

/** The single node of a test model, with its default-domain opset and decoded attributes. */
export interface OnnxNode {
  opType: string;
  opset: number;
  attrs: Map<string, AttrValue>;
  /** Input names as the node lists them; '' marks an omitted optional input. */
  inputs: string[];
}

export interface OnnxCase {
  name: string;
  node: OnnxNode;
  inputs: OnnxTensor[];
  outputs: OnnxTensor[];
}

// TensorProto.DataType values this reader understands.
const FLOAT = 1,
  INT32 = 6,
  INT64 = 7;

function int64ToI32(v: number, what: string): number {
  if (!Number.isSafeInteger(v) || v < -(2 ** 31) || v >= 2 ** 31)
    throw new RangeError(`${what}: int64 ${v} does not fit i32`);
  return v;
}

/** Decode one TensorProto (raw_data little-endian, or the typed repeated fields). */
function decodeTensor(t: OnnxTypes.ITensorProto, what = 'tensor'): OnnxTensor {
  const dims = (t.dims ?? []).map((d) => Number(d));
  const size = dims.reduce((a, b) => a * b, 1);
  const raw = t.rawData && t.rawData.length > 0 ? t.rawData : null;
  // rawData may be a view into a larger buffer at any byte offset, so go through a DataView rather than a typed view.
  const view = raw ? new DataView(raw.buffer, raw.byteOffset, raw.byteLength) : null;
  let data: Float32Array | Int32Array;
  switch (t.dataType) {
    case FLOAT:
      data = view
        ? Float32Array.from({ length: size }, (_, i) => view.getFloat32(4 * i, true))
        : Float32Array.from(t.floatData ?? []);
      break;
    case INT32:
      data = view
        ? Int32Array.from({ length: size }, (_, i) => view.getInt32(4 * i, true))
        : Int32Array.from(t.int32Data ?? []);
      break;
    case INT64:
      data = view
        ? Int32Array.from({ length: size }, (_, i) => int64ToI32(Number(view.getBigInt64(8 * i, true)), what))
        : Int32Array.from(t.int64Data ?? [], (v) => int64ToI32(Number(v), what));
      break;
    default:
      throw new Error(`${what}: unsupported TensorProto data type ${t.dataType}`);
  }
  if (data.length !== size) throw new Error(`${what}: ${data.length} values for dims [${dims}]`);
  return { dims, data };
}

function readTensorFile(path: string): OnnxTensor {
  return decodeTensor(onnx.TensorProto.decode(readFileSync(path)), path);
}

function decodeAttr(a: OnnxTypes.IAttributeProto): AttrValue {
  const T = onnx.AttributeProto.AttributeType;
  switch (a.type) {
    case T.FLOAT:
      return a.f ?? 0;
    case T.INT:
      return Number(a.i ?? 0);
    case T.STRING:
      return new TextDecoder().decode(a.s ?? new Uint8Array());
    case T.INTS:
      return (a.ints ?? []).map((v) => Number(v));
    case T.FLOATS:
      return [...(a.floats ?? [])];
    default:
      throw new Error(`attribute ${a.name}: unsupported type ${a.type}`);
  }
}

/** Parse model.onnx; the node tests hold exactly one node, and a second one would mean the mapping is wrong. */
function readNode(dir: string): OnnxNode {
  const model = onnx.ModelProto.decode(readFileSync(join(dir, 'model.onnx')));
  const nodes = model.graph?.node ?? [];
  if (nodes.length !== 1) throw new Error(`${dir}: expected one node, found ${nodes.length}`);
  const n = nodes[0];
  const opsetEntry = (model.opsetImport ?? []).find((o) => !o.domain || o.domain === 'ai.onnx');
  const attrs = new Map<string, AttrValue>();
  for (const a of n.attribute ?? []) attrs.set(a.name ?? '', decodeAttr(a));
  return { opType: n.opType ?? '', opset: Number(opsetEntry?.version ?? 0), attrs, inputs: [...(n.input ?? [])] };
}

/** An attribute's value, or `dflt` when the node omits it (the ONNX default). */
export function attr(node: OnnxNode, name: string, dflt: number): number;
export function attr(node: OnnxNode, name: string, dflt: string): string;
export function attr(node: OnnxNode, name: string, dflt: number[]): number[];
export function attr(node: OnnxNode, name: string, dflt: AttrValue): AttrValue {
  const v = node.attrs.get(name);
  if (v === undefined) return dflt;
  if (typeof v !== typeof dflt || Array.isArray(v) !== Array.isArray(dflt))
    throw new TypeError(`attribute ${name}: got ${v}`);
  return v;
}

function numbered(dir: string, prefix: string): OnnxTensor[] {
  const files = readdirSync(dir).filter((f) => new RegExp(`^${prefix}_\\d+\\.pb$`).test(f));
  files.sort((a, b) => Number(a.slice(prefix.length + 1, -3)) - Number(b.slice(prefix.length + 1, -3)));
  return files.map((f) => readTensorFile(join(dir, f)));
}

/** Load one test case (its model node and test_data_set_0). */
export function loadCase(name: string): OnnxCase {
  const dir = join(ONNX_NODE_DIR, name);
  const data = join(dir, 'test_data_set_0');
  if (!existsSync(data)) throw new Error(`${name}: ${data} missing (is libonnx-testdata installed?)`);
  return { name, node: readNode(dir), inputs: numbered(data, 'input'), outputs: numbered(data, 'output') };
}

/** Test directories whose name matches `pattern`, sorted; `_expanded` variants only when asked for. */
export function discoverCases(pattern: RegExp, includeExpanded = false): string[] {
  if (!existsSync(ONNX_NODE_DIR)) throw new Error(`${ONNX_NODE_DIR} missing: install Debian's libonnx-testdata`);
  return readdirSync(ONNX_NODE_DIR)
    .filter((n) => pattern.test(n) && (includeExpanded || !n.includes('_expanded')))
    .sort();
}
