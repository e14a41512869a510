// A small typed builder for ONNX graphs on top of onnx-proto's generated classes: named values, float32/int64
// initializers stored as raw_data, nodes with typed attributes, graph inputs/outputs with symbolic dimensions.
// Every value name is unique; the builder numbers intermediate values itself.

import onnxProto from 'onnx-proto';
import type { HostTensor } from '../../models/weights';

// onnx-proto is CommonJS whose `onnx` export Node's ESM loader cannot see as a named export; take it off the default.
const { onnx } = onnxProto;

/** The opset the exporters target: LayerNormalization needs 17; Debian's onnx 1.12 checker knows up to 17. */
const OPSET = 17;
/** IR version 8 goes with opset 17 (onnx 1.12/1.13). */
const IR_VERSION = 8;

export type ElemType = 'float32' | 'int64' | 'bool';
const DTYPE: Record<ElemType, number> = { float32: 1, int64: 7, bool: 9 };

/** A graph value (an input, an initializer or a node output), by name. */
export interface Value {
  readonly name: string;
}

export type AttrValue = number | number[] | string | { float: number } | { floats: number[] };
/** A dimension: a fixed size or a symbolic name (dim_param) such as 'batch_size'. */
export type Dim = number | string;

export class GraphBuilder {
  private readonly nodes: InstanceType<typeof onnx.NodeProto>[] = [];
  private readonly initializers: InstanceType<typeof onnx.TensorProto>[] = [];
  private readonly inputs: InstanceType<typeof onnx.ValueInfoProto>[] = [];
  private readonly outputs: InstanceType<typeof onnx.ValueInfoProto>[] = [];
  private readonly names = new Set<string>();
  private counter = 0;

  constructor(readonly graphName: string) {}

  private claim(name: string): Value {
    if (this.names.has(name)) throw new Error(`ONNX graph ${this.graphName}: the value name ${name} is used twice`);
    this.names.add(name);
    return { name };
  }

  private valueInfo(name: string, type: ElemType, dims: Dim[]) {
    return onnx.ValueInfoProto.create({
      name,
      type: {
        tensorType: {
          elemType: DTYPE[type],
          shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
        },
      },
    });
  }

  input(name: string, type: ElemType, dims: Dim[]): Value {
    const v = this.claim(name);
    this.inputs.push(this.valueInfo(name, type, dims));
    return v;
  }

  /** Declares `v` a graph output under `name` (an Identity node renames it when the names differ). */
  output(v: Value, name: string, type: ElemType, dims: Dim[]): void {
    if (v.name !== name) this.node('Identity', [v], {}, name);
    this.outputs.push(this.valueInfo(name, type, dims));
  }

  /** A float32 initializer; `data` is row-major with dims `dims`. */
  floats(name: string, dims: number[], data: Float32Array): Value {
    const size = dims.reduce((a, b) => a * b, 1);
    if (data.length !== size) throw new Error(`ONNX initializer ${name}: ${data.length} values for dims [${dims}]`);
    const v = this.claim(name);
    // raw_data is little-endian; copy so the bytes are exactly this tensor's (not the rest of a shared buffer).
    const raw = new Uint8Array(size * 4);
    const view = new DataView(raw.buffer);
    for (let i = 0; i < size; i++) view.setFloat32(i * 4, data[i], true);
    this.initializers.push(onnx.TensorProto.create({ name, dims, dataType: DTYPE.float32, rawData: raw }));
    return v;
  }

  /** An int64 initializer (shapes, axes, indices); a scalar when `dims` is []. */
  ints(name: string, dims: number[], data: number[]): Value {
    const v = this.claim(name);
    const raw = new Uint8Array(data.length * 8);
    const view = new DataView(raw.buffer);
    data.forEach((x, i) => view.setBigInt64(i * 8, BigInt(x), true));
    this.initializers.push(onnx.TensorProto.create({ name, dims, dataType: DTYPE.int64, rawData: raw }));
    return v;
  }

  /** A float32 scalar constant (an initializer named after its value). */
  scalar(x: number): Value {
    const name = `const_f32_${x}`;
    return this.names.has(name) ? { name } : this.floats(name, [], Float32Array.of(x));
  }

  /** An int64 constant vector or scalar, shared by value. */
  constInts(data: number[], scalar = false): Value {
    const name = `const_i64_${scalar ? 's' : 'v'}_${data.join('_').replace(/-/g, 'm')}`;
    return this.names.has(name) ? { name } : this.ints(name, scalar ? [] : [data.length], data);
  }

  /** Adds a node with one output and returns it. */
  node(op: string, inputs: Value[], attrs: Record<string, AttrValue> = {}, outName?: string): Value {
    return this.nodeN(op, inputs, 1, attrs, outName ? [outName] : undefined)[0];
  }

  /** Adds a node with `n` outputs. */
  nodeN(op: string, inputs: Value[], n: number, attrs: Record<string, AttrValue> = {}, outNames?: string[]): Value[] {
    const id = this.counter++;
    const outs = Array.from({ length: n }, (_, i) =>
      this.claim(outNames?.[i] ?? `/${op}_${id}${n > 1 ? `_${i}` : ''}`),
    );
    this.nodes.push(
      onnx.NodeProto.create({
        opType: op,
        name: `${op}_${id}`,
        input: inputs.map((v) => v.name),
        output: outs.map((v) => v.name),
        attribute: Object.entries(attrs).map(([name, a]) => attribute(name, a)),
      }),
    );
    return outs;
  }

  /** The serialized ModelProto. */
  encode(meta: { producer: string; docString?: string }): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: IR_VERSION,
      producerName: meta.producer,
      docString: meta.docString ?? '',
      opsetImport: [{ domain: '', version: OPSET }],
      graph: {
        name: this.graphName,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
    });
    return onnx.ModelProto.encode(model).finish();
  }
}

function attribute(name: string, a: AttrValue) {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof a === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(a) };
  if (typeof a === 'number') {
    if (!Number.isInteger(a)) throw new Error(`ONNX attribute ${name}: ${a} is not an integer; pass {float: x}`);
    return { name, type: T.INT, i: a };
  }
  if (Array.isArray(a)) return { name, type: T.INTS, ints: a };
  if ('float' in a) return { name, type: T.FLOAT, f: a.float };
  return { name, type: T.FLOATS, floats: a.floats };
}

/** Row-major transpose of a (rows, cols) matrix: nn.Linear's (out,in) weight into MatMul's (in,out). */
export function transpose2d(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c];
  return out;
}

/** x·W + b with W stored (in,out); the MatMul broadcasts over leading dimensions. */
export function linear(g: GraphBuilder, x: Value, w: Value, b: Value): Value {
  return g.node('Add', [g.node('MatMul', [x, w]), b]);
}

/** LayerNormalization over the last axis (opset 17). */
export function layerNorm(g: GraphBuilder, x: Value, w: Value, b: Value, eps: number): Value {
  return g.node('LayerNormalization', [x, w, b], { axis: -1, epsilon: { float: eps } });
}

/** gelu_new: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))). */
export function geluTanh(g: GraphBuilder, x: Value): Value {
  const x3 = g.node('Mul', [g.node('Mul', [x, x]), x]);
  const inner = g.node('Mul', [
    g.node('Add', [x, g.node('Mul', [x3, g.scalar(0.044715)])]),
    g.scalar(Math.sqrt(2 / Math.PI)),
  ]);
  const t = g.node('Add', [g.node('Tanh', [inner]), g.scalar(1)]);
  return g.node('Mul', [g.node('Mul', [x, t]), g.scalar(0.5)]);
}

/** Exact GELU: 0.5·x·(1 + erf(x/√2)). */
export function geluErf(g: GraphBuilder, x: Value): Value {
  const e = g.node('Add', [g.node('Erf', [g.node('Mul', [x, g.scalar(Math.SQRT1_2)])]), g.scalar(1)]);
  return g.node('Mul', [g.node('Mul', [x, e]), g.scalar(0.5)]);
}

/**
 * Multi-head attention core: q (B,H,T,D), k and v (B,H,S,D), `masked` a bool broadcastable to (B,H,T,S) that is
 * true where a key must be ignored. Returns the context (B,T,H·D).
 */
export function attention(
  g: GraphBuilder,
  q: Value,
  k: Value,
  v: Value,
  masked: Value,
  headDim: number,
  hidden: number,
): Value {
  const scores = g.node('Mul', [
    g.node('MatMul', [q, g.node('Transpose', [k], { perm: [0, 1, 3, 2] })]),
    g.scalar(1 / Math.sqrt(headDim)),
  ]);
  // The lowest float32, as transformers' finfo.min: a masked score becomes exp(-inf) = 0 after the row's max.
  const filled = g.node('Where', [masked, g.scalar(-3.4028234663852886e38), scores]);
  const ctx = g.node('MatMul', [g.node('Softmax', [filled], { axis: -1 }), v]);
  return g.node('Reshape', [g.node('Transpose', [ctx], { perm: [0, 2, 1, 3] }), g.constInts([0, 0, hidden])]);
}

/** (B,T,H·D) -> (B,H,T,D). */
export function splitHeads(g: GraphBuilder, x: Value, heads: number, headDim: number): Value {
  return g.node('Transpose', [g.node('Reshape', [x, g.constInts([0, 0, heads, headDim])])], { perm: [0, 2, 1, 3] });
}

export class OnnxExportError extends Error {
  override name = 'OnnxExportError';
}

/** Looks up a canonical tensor and checks its shape. */
export function tensorOf(weights: Map<string, HostTensor>, name: string, shape: number[]): HostTensor {
  const t = weights.get(name);
  if (!t) throw new OnnxExportError(`model.safetensors: tensor ${name} is missing; export a complete model.`);
  if (t.shape.join() !== shape.join()) {
    throw new OnnxExportError(
      `model.safetensors: tensor ${name} has shape [${t.shape}] but config.json implies [${shape}].`,
    );
  }
  return t;
}

/** A transformers.js decoder's inputs: input_ids, attention_mask (batch, past+seq), position_ids (batch, seq) and
 * past_key_values.N.key/value (batch, kvHeads, past, headDim) for each of the `layers` layers. */
export interface DecoderInputs {
  ids: Value;
  mask: Value;
  posIds: Value;
  past: { key: Value; value: Value }[];
}
export function decoderInputs(g: GraphBuilder, o: { layers: number; kvHeads: number; headDim: number }): DecoderInputs {
  const ids = g.input('input_ids', 'int64', ['batch_size', 'sequence_length']);
  const mask = g.input('attention_mask', 'int64', ['batch_size', 'past_sequence_length + sequence_length']);
  const posIds = g.input('position_ids', 'int64', ['batch_size', 'sequence_length']);
  const past = Array.from({ length: o.layers }, (_, l) => ({
    key: g.input(`past_key_values.${l}.key`, 'float32', ['batch_size', o.kvHeads, 'past_sequence_length', o.headDim]),
    value: g.input(`past_key_values.${l}.value`, 'float32', [
      'batch_size',
      o.kvHeads,
      'past_sequence_length',
      o.headDim,
    ]),
  }));
  return { ids, mask, posIds, past };
}

/** True where key j is hidden from query i (absolute position past+i): j > past+i, or attention_mask[b, j] is 0.
 * (seq, past+seq) causal part; the padding part (batch, past+seq) gets size-1 axes at `paddingAxes` so the two
 * broadcast against the scores. */
export function decoderMask(g: GraphBuilder, inputs: DecoderInputs, paddingAxes: number[]): Value {
  const { ids, mask } = inputs;
  const total = g.node('Gather', [g.node('Shape', [mask]), g.constInts([1], true)], { axis: 0 });
  const seq = g.node('Gather', [g.node('Shape', [ids]), g.constInts([1], true)], { axis: 0 });
  const zero = g.constInts([0], true),
    one = g.constInts([1], true);
  const keyPos = g.node('Range', [zero, total, one]);
  const queryPos = g.node('Range', [g.node('Sub', [total, seq]), total, one]);
  const causal = g.node('Greater', [
    g.node('Unsqueeze', [keyPos, g.constInts([0])]),
    g.node('Unsqueeze', [queryPos, g.constInts([1])]),
  ]);
  const padding = g.node('Unsqueeze', [g.node('Equal', [mask, g.constInts([0], true)]), g.constInts(paddingAxes)]);
  return g.node('Or', [causal, padding]);
}

/** The decoder's outputs: logits (batch, seq, vocab) and present.N.key/value (batch, kvHeads, past+seq, headDim),
 * each already computed under its name. */
export function decoderOutputs(
  g: GraphBuilder,
  o: { vocab: number; layers: number; kvHeads: number; headDim: number },
) {
  g.output({ name: 'logits' }, 'logits', 'float32', ['batch_size', 'sequence_length', o.vocab]);
  for (let l = 0; l < o.layers; l++) {
    for (const kv of ['key', 'value']) {
      const name = `present.${l}.${kv}`;
      g.output({ name }, name, 'float32', [
        'batch_size',
        o.kvHeads,
        'past_sequence_length + sequence_length',
        o.headDim,
      ]);
    }
  }
}
