// `npm run bench` in Node: the engine benchmarks on Dawn's adapter, written to bench/results/<date>-<adapter>.json
// and a markdown table. The peers' figures are quoted from shared/peers/RESULTS.md (measured in headless Chromium on
// the same machine type) and labelled as such: they are not rerun here.

import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GpuBackend } from '../gpu/backend';
import { createNodeContext } from '../gpu/node';
import { benchMatmul, benchStep, type StepResult } from './engine';

const PEERS_REPORTED = {
  source: 'shared/peers/RESULTS.md, headless Chromium 156, SwiftShader WebGPU, 2-core Debian 12 (median ms per step)',
  step: { 'tfjs-webgpu full': 2476, 'tfjs-webgpu LoRA': 1943, 'jax-js-webgpu full': 452, 'jax-js-webgpu LoRA': 809, 'jax-js-wasm full': 65, 'jax-js-wasm LoRA': 95 },
  matmul512x64x192GFLOPs: { tfjs: 0.44, 'onnxruntime-web': 0.43, 'jax-js': 2.25 },
};

function table(rows: string[][]): string {
  return [rows[0], rows[0].map(() => '---'), ...rows.slice(1)].map((r) => `| ${r.join(' | ')} |`).join('\n');
}

async function main(): Promise<void> {
  const ctx = await createNodeContext({ label: 'dynrank-bench' });
  const be = new GpuBackend(ctx);
  const adapter = `${ctx.info.vendor}-${ctx.info.architecture}`.replace(/[^\w.-]+/g, '_');
  process.stderr.write(`adapter: ${JSON.stringify(ctx.info)}\n`);
  const matmul = await benchMatmul(be, [[512, 64, 192], [512, 64, 64], [512, 64, 256], [512, 256, 64], [512, 64, 1024], [512, 768, 768]]);
  const steps: StepResult[] = [];
  for (const v of ['full', 'lora r=8 (c_attn)', 'dynamic rank b=8 (c_attn)'] as const) steps.push(await benchStep(be, v));
  for (const f of [0.5, 0.25]) steps.push(await benchStep(be, 'dynamic rank b=8 (c_attn)', f));
  const result = { date: new Date().toISOString(), adapter: ctx.info, runtime: 'node + dawn (npm webgpu 0.6.2)', matmul, steps, peersReported: PEERS_REPORTED };
  const md = [
    `### dynrank engine on ${ctx.info.vendor} ${ctx.info.architecture} (${ctx.info.description || 'no description'}), Node + Dawn`,
    '', table([['matmul M×K×N', 'ms', 'GFLOP/s'], ...matmul.map((m) => [m.shape, m.ms.toFixed(1), m.gflops.toFixed(2)])]),
    '', table([['training step (peers\' tiny GPT-2, B=8, T=64)', 'ms/step', 'tokens/s', 'submissions', 'dispatches', 'buffer creations', 'readbacks', 'adapter MFLOP', 'GPU MiB (live / estimate)'],
      ...steps.map((s) => [s.variant, s.msPerStep.toFixed(0), s.tokensPerSecond.toFixed(0), String(s.perStep.submissions), String(s.perStep.dispatches),
        String(s.perStep.bufferCreations), String(s.perStep.readbacks), s.adapterFlops === null ? '-' : (s.adapterFlops / 1e6).toFixed(1),
        `${(s.bytesLive / 2 ** 20).toFixed(1)} / ${(s.estimateBytes / 2 ** 20).toFixed(1)}`])]),
    '', `Peers (reported in ${PEERS_REPORTED.source}, not rerun here): ${Object.entries(PEERS_REPORTED.step).map(([k, v]) => `${k} ${v} ms`).join(', ')}; ` +
      `matmul 512×64×192 GFLOP/s: ${Object.entries(PEERS_REPORTED.matmul512x64x192GFLOPs).map(([k, v]) => `${k} ${v}`).join(', ')}.`,
  ].join('\n');
  const dir = 'bench/results';
  await mkdir(dir, { recursive: true });
  const stem = join(dir, `${result.date.slice(0, 10)}-${adapter}`);
  await writeFile(`${stem}.json`, JSON.stringify(result, null, 2));
  await writeFile(`${stem}.md`, `${md}\n`);
  console.log(md);
  ctx.destroy();
}

await main();
