#!/usr/bin/env node
// tools/check_onnx.mjs — runs tests/fixtures/onnx/<model>.onnx in onnxruntime-web (wasm, Node) and compares its
// logits with the torch golden values in <model>.golden.json (also a second, shorter input: dynamic T).
//   node tools/check_onnx.mjs [gpt2-demo]
import fs from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-web';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const name = process.argv[2] || 'gpt2-demo';
const dir = path.join(ROOT, 'tests/fixtures/onnx');
const g = JSON.parse(fs.readFileSync(path.join(dir, `${name}.golden.json`), 'utf8'));
ort.env.wasm.numThreads = 1;
const sess = await ort.InferenceSession.create(fs.readFileSync(path.join(dir, g.onnx)));
const run = async (ids) => {
  const t = new ort.Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [1, ids.length]);
  return (await sess.run({ input_ids: t })).logits;
};
const out = await run(g.input_ids[0]);
const want = g.logits.flat(2);
let maxd = 0,
  maxa = 0;
for (let i = 0; i < want.length; i++) {
  maxd = Math.max(maxd, Math.abs(out.data[i] - want[i]));
  maxa = Math.max(maxa, Math.abs(want[i]));
}
const out2 = await run(g.input_ids2[0]);
let s2 = 0;
for (const v of out2.data) s2 += v;
console.log(
  `${name}: logits dims ${out.dims} max|ort-torch| ${maxd.toExponential(2)} (max|logit| ${maxa.toFixed(2)}); ` +
    `T=${g.input_ids2[0].length}: sum ${s2.toFixed(3)} vs torch ${g.logits2_sum.toFixed(3)}`,
);
const V = g.logits_shape[2];
const row = Array.from(out2.data.slice((g.input_ids2[0].length - 1) * V, (g.input_ids2[0].length - 1) * V + 8));
const ok =
  out.dims.join() === g.logits_shape.join() &&
  maxd < 1e-3 &&
  Math.abs(s2 - g.logits2_sum) < 1e-2 * Math.max(1, Math.abs(g.logits2_sum) / 1000) &&
  row.every((v, i) => Math.abs(v - g.logits2_last_row_first8[i]) < 1e-3);
if (!ok) {
  console.error('MISMATCH');
  process.exit(1);
}
console.log('OK');
