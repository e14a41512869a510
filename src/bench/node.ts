// The Node + Dawn section of `npm run bench` (scripts/bench.mjs runs it after the browser section): the engine's
// benchmarks on Dawn's adapter, with the same matmul method as the page and a fresh device per item, as the page
// has. Writes JSON to the path given as the first argument (default bench/tmp/node.json) for scripts/bench.mjs.

import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { GpuBackend } from '../gpu/backend';
import type { GpuContext } from '../gpu/context';
import { createNodeContext } from '../gpu/node';
import { benchMatmul, benchStep, type MatmulResult, type StepResult } from './engine';
import { NODE_SHAPES, NODE_STEPS } from './plan';

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
  for (const { shapes, minOps } of NODE_SHAPES) {
    const r = await fresh((be) => benchMatmul(be, shapes, 3, { minOps }));
    adapter = r.info;
    for (const m of r.value) log(`matmul ${m.shape}: ${m.ms.toFixed(1)} ms, ${m.gflops.toFixed(2)} GFLOP/s`);
    matmul.push(...r.value);
  }
  const steps: StepResult[] = [];
  for (const p of NODE_STEPS) {
    const { value: s } = await fresh((be) => benchStep(be, p.variant, p.liveFraction, p.steps, { warmup: p.warmup }));
    log(`step ${s.variant}: ${s.msPerStep.toFixed(0)} ms`);
    steps.push(s);
  }
  log(`adapter ${JSON.stringify(adapter)}`);
  await mkdir(dirname(outPath), { recursive: true });
  await writeFile(outPath, JSON.stringify({ runtime: 'Node + Dawn (npm webgpu 0.6.2)', adapter, matmul, steps }, null, 2));
}

await main();
