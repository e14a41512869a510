// The Node + Dawn section of `npm run bench` (scripts/bench.mjs runs it after the browser section): the engine's
// benchmarks on Dawn's adapter, with the same matmul method as the page and a fresh device per item, as the page
// has. Writes JSON to the path given as the first argument (default bench/tmp/node.json) for scripts/bench.mjs.

import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { GpuBackend } from '../gpu/backend';
import type { GpuContext } from '../gpu/context';
import { createNodeContext, nodeGpu } from '../gpu/node';
import { benchStep, type MatmulResult, pairedMatmul, type StepResult } from './engine';
import { jaxWebGpu } from './jaxPeer';
import { type ContenderFactory, engineContender } from './matmul';
import { MM_ROUNDS, NODE_SHAPES, NODE_STEPS } from './plan';
import type { PeerMatmul } from './reportRun';

const log = (s: string) => process.stderr.write(`[bench node] ${s}\n`);

/** Runs `f` on a fresh device, so pooled buffers of one item never hide another's allocations. */
async function fresh<T>(f: (be: GpuBackend) => Promise<T>): Promise<{ info: GpuContext['info']; value: T }> {
  const ctx = await createNodeContext({ label: 'dynrank-bench' });
  try {
    return { info: ctx.info, value: await f(new GpuBackend(ctx)) };
  } finally {
    ctx.destroy();
  }
}

async function main(): Promise<void> {
  const outPath = process.argv[2] ?? 'bench/tmp/node.json';
  let adapter: GpuContext['info'] | undefined;
  const matmul: MatmulResult[] = [];
  const jaxMatmul: PeerMatmul[] = [];
  // As in the page: ours and jax-js in one process, taking turns. Without jax-js, ours still runs.
  const peer = await jaxInNode().catch(
    (e: unknown): ContenderFactory =>
      () =>
        Promise.reject(e),
  );
  for (const { shapes, minOps } of NODE_SHAPES) {
    const r = await fresh((be) => pairedMatmul(engineContender(be), peer, shapes, MM_ROUNDS, () => ({ minOps })));
    adapter = r.info;
    for (const { ours, peer: theirs } of r.value) {
      log(
        `matmul ${ours.shape}: ${ours.gflops.toFixed(2)} GFLOP/s, jax-js ${'error' in theirs ? theirs.error.split('\n')[0] : theirs.gflops.toFixed(2)}`,
      );
      matmul.push(ours);
      jaxMatmul.push(theirs);
    }
  }
  const steps: StepResult[] = [];
  for (const p of NODE_STEPS) {
    const { value: s } = await fresh((be) => benchStep(be, p.variant, p.liveFraction, p.steps, { warmup: p.warmup }));
    log(`step ${s.variant}: ${s.msPerStep.toFixed(0)} ms`);
    steps.push(s);
  }
  log(`adapter ${JSON.stringify(adapter)}`);
  await mkdir(dirname(outPath), { recursive: true });
  await writeFile(
    outPath,
    JSON.stringify({ runtime: 'Node + Dawn (npm webgpu 0.6.2)', adapter, matmul, jaxMatmul, steps }, null, 2),
  );
}

/** jax-js looks for WebGPU where a browser keeps it, navigator.gpu (and reads navigator.userAgent): Node's Dawn there. */
async function jaxInNode(): Promise<ContenderFactory> {
  const gpu = await nodeGpu();
  Object.defineProperty(globalThis, 'navigator', {
    value: { gpu, userAgent: `Node.js/${process.version}` },
    configurable: true,
  });
  return jaxWebGpu();
}

await main();
