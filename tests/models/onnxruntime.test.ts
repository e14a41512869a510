// Parity with an independent runtime: the demo GPT-2 exported to ONNX by tools/export_onnx.py (torch), run in
// onnxruntime-web (wasm, in Node), against our CPU and WebGPU forward on the same ids. Both sides are f32 with
// different summation orders over K <= 512, so 1e-4 absolute on logits of magnitude ~10 is a fair bound.

import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-web';
import { describe, expect, it } from 'vitest';
import { type LoadedModel, loadModel } from '../../src/models/load';
import { dirSource } from '../../src/models/node';
import type { Backend } from '../../src/tensor/backend';
import { CpuBackend } from '../../src/tensor/cpu';
import { expectClose } from '../helpers/check';
import { gpuBackend } from '../helpers/gpu';

const dir = 'tests/fixtures/onnx/';
const golden = JSON.parse(readFileSync(`${dir}gpt2-demo.golden.json`, 'utf8')) as {
  input_ids: number[][];
  input_ids2: number[][];
  logits_shape: number[];
};

async function ortLogits(ids: number[]): Promise<Float32Array> {
  ort.env.wasm.numThreads = 1;
  const session = await ort.InferenceSession.create(readFileSync(`${dir}gpt2-demo.onnx`));
  const out = await session.run({
    input_ids: new ort.Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [1, ids.length]),
  });
  return out.logits.data as Float32Array;
}

async function ourLogits(be: Backend, ids: number[]): Promise<Float32Array> {
  const m = (await loadModel(dirSource('public/models/gpt2-demo'), be)) as Extract<LoadedModel, { kind: 'gpt2' }>;
  return (await be.read(
    m.net.forward(be.fromArray(Int32Array.from(ids), [ids.length]), 1, ids.length),
  )) as Float32Array;
}

describe.each([
  ['cpu', async (): Promise<Backend> => new CpuBackend()],
  ['webgpu', gpuBackend],
] as const)('gpt2-demo vs onnxruntime-web (%s)', (_, mk) => {
  it.each([
    ['10 tokens', golden.input_ids[0]],
    ['3 tokens (dynamic T)', golden.input_ids2[0]],
  ])('%s', async (__, ids) => {
    const [want, got] = [await ortLogits(ids), await ourLogits(await mk(), ids)];
    expect(want.length).toBe(ids.length * golden.logits_shape[2]);
    expectClose(got, want, 1e-4, 1e-4, 'logits vs onnxruntime');
  });
});
