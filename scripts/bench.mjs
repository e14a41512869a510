#!/usr/bin/env node
// `npm run bench`: every contender in one run on one WebGPU adapter. One headless Chromium (e2e/setup/chromium.ts's
// flags) loads our engine's bench page (bench/engine.html, built by Vite) and the peers' pages (tfjs, onnxruntime-web,
// jax-js: bench/peers/www), all from one COOP/COEP static server as in shared/peers; then the page's responsiveness
// (src/bench/responsive.ts: the longest main-thread task of the production page while it trains and while it reads
// a 16 MB upload, beside the machine's load); then the engine runs again in Node through Dawn. Results:
// bench/results/<date>-<adapter>.{json,md}; the markdown is printed at the end.
// Filters: BENCH_ONLY=engine,peers,responsive,node (sections) and BENCH_ITEMS=<substring>,... (item names) for
// quick runs; a filtered run writes bench/tmp/<date>-<adapter>-partial.{json,md} (git-ignored), never over a full
// run's files.
// `node scripts/bench.mjs --render bench/results/<file>.json` rewrites a run's markdown from its JSON.

import { execSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { chromium } from 'playwright-core';
import { tsImport } from 'tsx/esm/api';
import { build } from 'vite';
import { loadavg, runInPage, serve } from '../bench/peers/lib.mjs';
import { writeOnnxModels } from '../bench/peers/make_onnx.mjs';
import { SWIFTSHADER_ICD } from './provision.mjs';

const ALL_SECTIONS = ['engine', 'peers', 'responsive', 'node'];
const SECTIONS = (process.env.BENCH_ONLY || ALL_SECTIONS.join(','))
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);
const ITEMS = process.env.BENCH_ITEMS ? process.env.BENCH_ITEMS.split(',').map((s) => s.trim()) : null;
for (const s of SECTIONS) {
  if (!ALL_SECTIONS.includes(s)) throw new Error(`BENCH_ONLY: unknown section "${s}" (${ALL_SECTIONS.join(', ')})`);
}
const TMP = 'bench/tmp';
const ENGINE_DIST = join(TMP, 'engine-dist');

// The Vulkan set-up of scripts/test.mjs: Dawn (Node section) needs SwiftShader's ICD on a GPU-less box.
if (
  !process.env.VK_ICD_FILENAMES &&
  !process.env.VK_DRIVER_FILES &&
  existsSync(SWIFTSHADER_ICD) &&
  process.env.DYNRANK_VULKAN !== 'system'
) {
  process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
}
const ldconfig = spawnSync('ldconfig', ['-p'], { encoding: 'utf8' });
if (
  !(ldconfig.status === 0 && /libvulkan\.so\.1\b/.test(ldconfig.stdout)) &&
  existsSync('/usr/lib/chromium/libvulkan.so.1')
) {
  process.env.LD_LIBRARY_PATH = ['/usr/lib/chromium', process.env.LD_LIBRARY_PATH].filter(Boolean).join(':');
}

const { PEER_SHAPES, GPT2_SMALL_SHAPES, PAGE_STEPS, MM_ROUNDS, PAIRED_STEP, PAIRED_STEP_VARIANTS, LLAMA_STEPS } =
  await tsImport('../src/bench/plan.ts', import.meta.url);
const JAX_VERSION = JSON.parse(readFileSync('node_modules/@jax-js/jax/package.json', 'utf8')).version;
const { renderReport } = await tsImport('../src/bench/report.ts', import.meta.url);
const { benchMemoryPlans } = await tsImport('../src/bench/memoryPlans.ts', import.meta.url);
const { adapterSlug } = await tsImport('../src/bench/reportRun.ts', import.meta.url);
const { pairedStepRounds } = await tsImport('../src/bench/reportSteps.ts', import.meta.url);
const { CHROMIUM_ARGS, findChromium, launch } = await tsImport('../e2e/setup/chromium.ts', import.meta.url);

// `node scripts/bench.mjs --render <run.json>`: rewrite the run's markdown from its JSON (after a report change).
if (process.argv[2] === '--render') {
  const file = process.argv[3];
  const md = renderReport(JSON.parse(readFileSync(file, 'utf8')));
  writeFileSync(file.replace(/\.json$/, '.md'), md);
  console.log(md);
  process.exit(0);
}

const top = () => {
  try {
    return execSync('ps -eo pcpu,etime,comm --sort=-pcpu | head -6', { encoding: 'utf8' })
      .trim()
      .split('\n')
      .slice(1)
      .map((s) => s.trim());
  } catch {
    return [];
  }
};
const t0 = Date.now();
const run = {
  date: new Date().toISOString(),
  sections: SECTIONS,
  items: ITEMS,
  host: { cores: cpus().length, loadStart: loadavg(), topStart: top() },
  adapters: {},
  engine: { matmul: [], steps: [], pairedSteps: [], llamaSteps: [] },
  peers: { mm: {}, gpt: {} },
  node: null,
  log: [],
};
const say = (s) => process.stderr.write(`[bench ${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${s}\n`);

// The memory plans of the shapes the bench aims at: from config.json shapes alone, nothing allocated.
run.memoryPlans = benchMemoryPlans();
for (const p of run.memoryPlans) {
  const o = p.options;
  say(
    `memory plan ${p.model} ${p.B}x${p.T}, budget ${p.budgetGiB} GiB: ` +
      `${o ? `${o.weightPrecision}, ${o.recompute ? 'recompute' : 'no recompute'}, micro-batch ${o.microBatch}` : 'nothing fits'}; ` +
      `estimate ${(p.total / 2 ** 20).toFixed(0)} MiB (weights ${(p.weights / 2 ** 20).toFixed(0)}, activations ` +
      `${(p.activations / 2 ** 20).toFixed(0)}, adapters + AdamW ${(p.adapterAndOptimizer / 2 ** 20).toFixed(0)})`,
  );
}

// Items in the order they run: each comparable pair (engine vs peers matmul, engine vs peers step) runs close in time.
const mm = (name, kind, cfg, shapes) => ({
  section: 'peers',
  name: `mm-${name}`,
  page: '/mm.html',
  fn: 'runMM',
  args: [kind, cfg, { targetMs: 1000, shapes }],
  put: (r) => {
    run.peers.mm[name] = r;
  },
});
const gptTf = (backend, variant) => ({
  section: 'peers',
  name: `gpt-tfjs-${backend}-${variant}`,
  page: '/gpt_tf.html',
  fn: 'runGpt',
  args: [{ backend, variant, warmup: 3, steps: 10 }],
  put: (r) => {
    (run.peers.gpt[`tfjs-${backend}`] ??= {})[variant] = r;
  },
});
const gptJax = (device, variant) => ({
  section: 'peers',
  name: `gpt-jax-${device}-${variant}`,
  page: '/gpt_jax.html',
  fn: 'runGpt',
  args: [{ device, variant, useJit: true, embed: 'onehot', warmup: 3, steps: 10 }],
  put: (r) => {
    (run.peers.gpt[`jax-${device}`] ??= {})[variant] = r;
  },
});
const eng = (name, job, put) => ({
  section: 'engine',
  name: `engine-${name}`,
  page: '/bench/engine.html',
  fn: 'runEngine',
  args: [job],
  put,
});
// Ours and jax-js (the fastest WebGPU peer) share a page and take turns (src/bench/matmul.ts pairedMatmul, and for
// the training step src/bench/pairedStep.ts): the machine's speed drifts too much between pages minutes apart to
// settle which is faster.
const engPaired = (r) => {
  if (r.adapter) run.adapters.page = r.adapter;
  if (r.error) run.engine.error = r.error;
  const jax = (run.peers.mm['jax-webgpu'] ??= {
    kind: 'jax',
    device: 'webgpu',
    paired: true,
    version: JAX_VERSION,
    results: [],
  });
  for (const p of r.paired ?? []) {
    run.engine.matmul.push(p.ours);
    jax.results.push('error' in p.peer ? p.peer : { ...p.peer, err: { maxAbs: p.peer.maxAbsErr } });
  }
  if (r.error) jax.error = r.error;
};
// The tiny GPT-2 step the same way: ours and jax-js in one page, in turns (src/bench/pairedStep.ts).
const stepPaired = (variant) =>
  eng(`step-paired-jax-${variant}`, { kind: 'stepPaired', variant, ...PAIRED_STEP }, (r) => {
    if (r.adapter) run.adapters.page ??= r.adapter;
    if (r.pairedStep) {
      run.engine.pairedSteps.push(r.pairedStep);
      say(pairedStepRounds(r.pairedStep));
    }
    if (r.error) run.engine.stepError = r.error;
  });
const llama = (p) =>
  eng(`llama-${p.variant.replace(' ', '-')}-${p.layers}l`, { kind: 'llamaStep', ...p }, (r) => {
    if (r.llamaStep) {
      run.engine.llamaSteps.push(r.llamaStep);
      const { peakBytes: peak, estimateBytes: est } = r.llamaStep;
      say(
        `${r.llamaStep.variant}: ${r.llamaStep.msPerStep.toFixed(0)} ms/step, peak ${(peak / 2 ** 20).toFixed(1)} MiB, ` +
          `plan estimate ${(est / 2 ** 20).toFixed(1)} MiB, peak / estimate ${(peak / est).toFixed(3)}`,
      );
    }
    if (r.error) run.engine.llamaError = r.error;
  });
const items = [
  eng('mm-paired-jax', { kind: 'matmulPaired', shapes: PEER_SHAPES, rounds: MM_ROUNDS }, engPaired),
  eng(
    'mm-paired-jax-gpt2',
    { kind: 'matmulPaired', shapes: GPT2_SMALL_SHAPES, rounds: MM_ROUNDS, opts: { minOps: 1 } },
    engPaired,
  ),
  mm('tfjs-webgpu', 'tfjs', { backend: 'webgpu' }, PEER_SHAPES),
  mm('ort-webgpu-gpuio', 'ort', { ep: 'webgpu', gpuio: true }, PEER_SHAPES),
  mm('tfjs-webgl', 'tfjs', { backend: 'webgl' }, PEER_SHAPES),
  mm('jax-wasm', 'jax', { device: 'wasm' }, PEER_SHAPES),
  ...PAGE_STEPS.map((p) =>
    eng(`step-${p.variant.split(' ')[0]}-${Math.round(p.liveFraction * 100)}`, { kind: 'step', ...p }, (r) => {
      if (r.step) run.engine.steps.push(r.step);
      if (r.error) run.engine.stepError = r.error;
    }),
  ),
  ...PAIRED_STEP_VARIANTS.map(stepPaired),
  gptTf('webgpu', 'full'),
  gptTf('webgpu', 'lora'),
  gptTf('webgl', 'full'),
  gptTf('webgl', 'lora'),
  gptJax('wasm', 'full'),
  gptJax('wasm', 'lora'),
  ...LLAMA_STEPS.map(llama),
].filter((it) => SECTIONS.includes(it.section) && (!ITEMS || ITEMS.some((s) => it.name.includes(s))));

async function adapterOf(ctx, url) {
  const page = await ctx.newPage();
  try {
    await page.goto(url);
    return await page.evaluate(async () => {
      const a = await navigator.gpu?.requestAdapter({ powerPreference: 'high-performance' });
      if (!a) return null;
      const i = a.info;
      return {
        vendor: i.vendor,
        architecture: i.architecture,
        description: i.description,
        device: i.device,
        isFallback: Boolean(i.isFallbackAdapter),
      };
    });
  } finally {
    await page.close();
  }
}

if (items.length) {
  mkdirSync(TMP, { recursive: true });
  writeOnnxModels(TMP, [...PEER_SHAPES, ...GPT2_SMALL_SHAPES]);
  if (SECTIONS.includes('engine')) {
    // A production build of the bench page, made once: a dev server would reload the page mid-run whenever someone
    // edits a source file, and the whole run measures one snapshot of the engine.
    const tb = Date.now();
    await build({
      configFile: 'vite.config.ts',
      logLevel: 'warn',
      publicDir: false,
      build: {
        outDir: ENGINE_DIST,
        emptyOutDir: true,
        sourcemap: false,
        rollupOptions: { input: { engine: 'bench/engine.html' } },
      },
    });
    say(`built the engine's bench page in ${((Date.now() - tb) / 1000).toFixed(0)} s`);
  }
  // One COOP/COEP origin for every contender: the peers' pages and modules, the ONNX models, our built page.
  const { srv, url } = await serve(['bench/peers/www', 'node_modules', TMP, ENGINE_DIST]);
  const udd = mkdtempSync(join(tmpdir(), 'dynrank-bench-chromium-'));
  const ctx = await chromium.launchPersistentContext(udd, {
    executablePath: findChromium(),
    headless: true,
    args: CHROMIUM_ARGS,
    timeout: 60_000,
  });
  try {
    run.browser = ctx.browser()?.version();
    if (SECTIONS.includes('engine')) run.adapters.enginePage = await adapterOf(ctx, `${url}/bench/engine.html`);
    if (SECTIONS.includes('peers')) run.adapters.peersPage = await adapterOf(ctx, `${url}/mm.html`);
    say(
      `chromium ${run.browser}; adapter ${JSON.stringify(run.adapters.enginePage ?? run.adapters.peersPage)}; ${items.length} items`,
    );
    for (const it of items) {
      const t = Date.now();
      say(`${it.name} …`);
      const r = await runInPage(ctx, url + it.page, it.fn, it.args);
      const wallS = +((Date.now() - t) / 1000).toFixed(1);
      run.log.push({
        name: it.name,
        wallS,
        load: loadavg(),
        error: r.error ?? r.results?.find((x) => x.error)?.error,
        console: r.console,
      });
      it.put(r);
      say(`${it.name}: ${wallS} s${r.error ? ` ERROR ${String(r.error).slice(0, 300)}` : ''}`);
    }
  } finally {
    await ctx.close();
    rmSync(udd, { recursive: true, force: true });
    srv.close();
  }
}

if (SECTIONS.includes('responsive')) {
  // The page as deployed (`vite build`, served by `vite preview`): the dev server's React development build costs two
  // to three times the CPU per render.
  const t = Date.now();
  say('responsive section: building the page …');
  const { startPreview } = await tsImport('../e2e/setup/preview.ts', import.meta.url);
  const { bigCsv, measureResponsiveness } = await tsImport('../src/bench/responsive.ts', import.meta.url);
  const dir = mkdtempSync(join(tmpdir(), 'dynrank-bench-upload-'));
  const { text, rows } = bigCsv();
  const csv = { path: join(dir, 'big.csv'), mib: text.length / 2 ** 20, rows };
  writeFileSync(csv.path, text);
  const site = await startPreview();
  const ctx = await launch({ width: 1280, height: 800 });
  try {
    run.responsive = await measureResponsiveness(await ctx.newPage(), site.url, csv);
  } finally {
    await ctx.close();
    await site.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const wallS = +((Date.now() - t) / 1000).toFixed(1);
  run.log.push({ name: 'responsive', wallS, load: loadavg(), error: run.responsive.error });
  for (const f of run.responsive.items) {
    say(
      `longest main-thread task while ${f.what}: CPU ${f.longestCpu?.cpuMs.toFixed(0)} ms, ` +
        `wall ${f.longestWall?.wallMs.toFixed(0)} ms; load average ${f.load.map((x) => x.toFixed(2)).join(' ')} ` +
        `on ${cpus().length} cores`,
    );
  }
  if (run.responsive.error) say(`responsive section: ERROR ${run.responsive.error.slice(0, 300)}`);
  say(`responsive section: ${((Date.now() - t) / 1000).toFixed(0)} s`);
}

if (SECTIONS.includes('node')) {
  const t = Date.now();
  const out = join(TMP, 'node.json');
  rmSync(out, { force: true });
  say('node + dawn section …');
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', '--import', './bin/register-raw.mjs', 'src/bench/node.ts', out],
    { stdio: 'inherit', env: process.env },
  );
  run.node = existsSync(out)
    ? JSON.parse(readFileSync(out, 'utf8'))
    : { error: `src/bench/node.ts exited with ${r.status}` };
  run.log.push({ name: 'node', wallS: +((Date.now() - t) / 1000).toFixed(1), load: loadavg(), error: run.node.error });
  if (run.node.adapter) run.adapters.node = run.node.adapter;
}

run.host.loadEnd = loadavg();
run.host.topEnd = top();
run.wallS = +((Date.now() - t0) / 1000).toFixed(0);
const partial = Boolean(process.env.BENCH_ONLY || ITEMS);
const stem = join(
  partial ? TMP : 'bench/results',
  `${run.date.slice(0, 10)}-${adapterSlug(run.adapters.page ?? run.adapters.enginePage ?? run.adapters.node)}${partial ? '-partial' : ''}`,
);
mkdirSync(dirname(stem), { recursive: true });
const md = renderReport(run);
writeFileSync(`${stem}.json`, `${JSON.stringify(run, null, 2)}\n`);
writeFileSync(`${stem}.md`, md);
console.log(md);
say(`wrote ${stem}.json and ${stem}.md`);
