// Adapted from shared/peers/make_onnx.mjs (the team's peer benchmark): the same hand-encoded ONNX protobufs (no deps),
// C = MatMul(A[M,K], B[K,N]), opset 17, for onnxruntime-web in www/mm_bench.js. The encoding is unchanged; only the
// output folder is a parameter, so scripts/bench.mjs writes them into git-ignored bench/tmp/onnx at every run.
import fs from 'node:fs';
import path from 'node:path';
const varint = (n) => { const o = []; n = BigInt(n); do { let b = Number(n & 0x7fn); n >>= 7n; if (n) b |= 0x80; o.push(b); } while (n); return o; };
const key = (f, wt) => varint((f << 3) | wt);
const vfield = (f, n) => [...key(f, 0), ...varint(n)];
const bfield = (f, bytes) => [...key(f, 2), ...varint(bytes.length), ...bytes];
const sfield = (f, s) => bfield(f, [...Buffer.from(s, 'utf8')]);
const dim = (d) => bfield(1, vfield(1, d));                                   // TensorShapeProto.Dimension.dim_value
const valueInfo = (name, shape) => [...sfield(1, name), ...bfield(2, bfield(1, [...vfield(1, 1), ...bfield(2, shape.flatMap(dim))]))]; // TypeProto.tensor_type{elem_type=FLOAT, shape}
const node = (ins, outs, op) => [...ins.flatMap(i => sfield(1, i)), ...outs.flatMap(o => sfield(2, o)), ...sfield(4, op)];
const model = (graph) => Buffer.from([...vfield(1, 8), ...sfield(2, 'peers-bench'), ...bfield(7, graph), ...bfield(8, [...sfield(1, ''), ...vfield(2, 17)])]);
export function matmulModel(M, K, N) {
  return model([...bfield(1, node(['A', 'B'], ['C'], 'MatMul')), ...sfield(2, 'mm'),
    ...bfield(11, valueInfo('A', [M, K])), ...bfield(11, valueInfo('B', [K, N])), ...bfield(12, valueInfo('C', [M, N]))]);
}
export const SHAPES = [[512, 64, 192], [512, 64, 256], [512, 256, 64], [512, 64, 1024], [512, 512, 512]];
/** Writes <dir>/onnx/matmul_M_K_N.onnx for each shape (mm_bench.js fetches /onnx/... from the server root). */
export function writeOnnxModels(dir, shapes = SHAPES) {
  fs.mkdirSync(path.join(dir, 'onnx'), { recursive: true });
  for (const [M, K, N] of shapes) fs.writeFileSync(path.join(dir, 'onnx', `matmul_${M}_${K}_${N}.onnx`), matmulModel(M, K, N));
  return fs.readdirSync(path.join(dir, 'onnx'));
}
