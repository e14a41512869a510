// Vendored from shared/peers/www/mm_bench.js (the team's peer benchmark, measured in shared/peers/RESULTS.md); unchanged
// below this line. Served as-is by scripts/bench.mjs (bench/peers/lib.mjs), see bench/peers/README.md.
// Matmul throughput at the tiny-GPT-2 shapes for tfjs / onnxruntime-web / jax-js.
// Method: inputs resident on the device; ops issued back to back in groups of G (<=16) with one sync per
// group (tfjs: await data() of the group's last output; ORT: await run() each call, getData() of the last
// gpu-buffer output; jax-js: blockUntilReady on the group's outputs, since jax-js is lazy). N ops are
// chosen (and grown by trial timings) so that one timing lasts >= targetMs; 3 timings per shape; per-op ms = wall / N.
import { randu, matmulRef, maxAbsErr, stats, r1 } from './common.js';
export const SHAPES = [[512, 64, 192], [512, 64, 256], [512, 256, 64], [512, 64, 1024], [512, 512, 512]];

async function bench(impl, M, K, N, { targetMs = 1000, reps = 3, ref }) {
  const res = { shape: `${M}x${K}x${N}` };
  let t = performance.now();
  const c0 = await impl.check();                          // first call: compile + run + readback
  res.firstMs = r1(performance.now() - t, 1);
  res.err = maxAbsErr(c0, ref);
  const tw = performance.now(); do { await impl.runGroup(2); } while (performance.now() - tw < 300); // warm >= 0.3 s (thread pools, caches)
  t = performance.now(); await impl.runGroup(4); const est = Math.max((performance.now() - t) / 4, 0.01);
  let nOps = Math.max(4, Math.ceil(targetMs * 1.05 / est)); let G = Math.min(16, nOps);
  let groups = Math.ceil(nOps / G);
  // make sure one timing really lasts >= targetMs: grow the op count until a trial timing does
  for (let tries = 0; tries < 4; tries++) {
    t = performance.now(); for (let g = 0; g < groups; g++) await impl.runGroup(G);
    const el = performance.now() - t;
    // size the real timings from this trial with a 30% margin (ops often get faster after the first timings)
    nOps = Math.max(4, Math.ceil(groups * G * targetMs * 1.3 / el)); G = Math.min(16, nOps); groups = Math.ceil(nOps / G);
    if (el >= targetMs) break;
  }
  res.opsPerTiming = groups * G; res.group = G;
  const ms = [];
  for (let r = 0; r < reps; r++) {
    t = performance.now();
    for (let g = 0; g < groups; g++) await impl.runGroup(G);
    ms.push((performance.now() - t) / (groups * G));
  }
  const s = stats(ms); res.ms = r1(s.median, 3); res.msMin = r1(s.min, 3); res.msMax = r1(s.max, 3);
  res.timingS = r1((s.median * groups * G) / 1000, 2); res.timingMinS = r1((s.min * groups * G) / 1000, 2);
  res.gflops = r1(2 * M * K * N / s.median / 1e6, 2);
  return res;
}

function makeTf(tf) {
  return (A, B, M, K, N) => {
    const a = tf.tensor2d(A, [M, K]), b = tf.tensor2d(B, [K, N]);
    return {
      check: async () => { const c = tf.matMul(a, b); const d = await c.data(); c.dispose(); return d; },
      runGroup: async (n) => { let last; for (let i = 0; i < n; i++) { const c = tf.matMul(a, b); if (last) last.dispose(); last = c; } await last.data(); last.dispose(); },
      dispose: () => { a.dispose(); b.dispose(); },
    };
  };
}
function makeOrt(ort, ep, gpuio) {
  return async (A, B, M, K, N) => {
    const bytes = await (await fetch(`/onnx/matmul_${M}_${K}_${N}.onnx`)).arrayBuffer();
    const sess = await ort.InferenceSession.create(bytes, { executionProviders: [ep], ...(gpuio ? { preferredOutputLocation: 'gpu-buffer' } : {}) });
    let feeds, bufs = [];
    if (gpuio) {
      const dev = await ort.env.webgpu.device;
      const mk = (data, dims) => { const buf = dev.createBuffer({ size: data.byteLength, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST }); dev.queue.writeBuffer(buf, 0, data); bufs.push(buf); return ort.Tensor.fromGpuBuffer(buf, { dataType: 'float32', dims }); };
      feeds = { A: mk(A, [M, K]), B: mk(B, [K, N]) };
    } else feeds = { A: new ort.Tensor('float32', A, [M, K]), B: new ort.Tensor('float32', B, [K, N]) };
    const get = async (o) => gpuio ? await o.getData(true) : o.data;
    return {
      check: async () => { const r = await sess.run(feeds); const d = await get(r.C); return d; },
      runGroup: async (n) => { let last; for (let i = 0; i < n; i++) { const r = await sess.run(feeds); if (last && gpuio) last.dispose(); last = r.C; } await get(last); },
      dispose: async () => { await sess.release(); bufs.forEach(b => b.destroy()); },
    };
  };
}
function makeJax(jax) {
  const np = jax.numpy;
  return async (A, B, M, K, N) => {
    const a = np.array(A).reshape([M, K]), b = np.array(B).reshape([K, N]);
    await jax.blockUntilReady([a, b]);
    return {
      check: async () => await np.matmul(a.ref, b.ref).data(),
      runGroup: async (n) => { const cs = []; for (let i = 0; i < n; i++) cs.push(np.matmul(a.ref, b.ref)); await jax.blockUntilReady(cs); cs.forEach(c => c.dispose()); },
      dispose: () => { a.dispose(); b.dispose(); },
    };
  };
}

// kind: 'tfjs' | 'ort' | 'jax'; cfg: { backend } | { ep, gpuio, threads } | { device }
export async function runMM(libs, kind, cfg, { shapes = SHAPES, targetMs = 1000, reps = 3 } = {}) {
  const out = { kind, ...cfg, results: [] };
  let make;
  try {
    if (kind === 'tfjs') { const tf = libs.tf; await tf.setBackend(cfg.backend); await tf.ready(); out.active = tf.getBackend(); out.version = tf.version.tfjs; make = makeTf(tf); }
    else if (kind === 'ort') { const ort = libs.ort; ort.env.logLevel = 'error'; if (cfg.threads) ort.env.wasm.numThreads = cfg.threads; out.version = ort.env.versions; make = makeOrt(ort, cfg.ep, cfg.gpuio); }
    else if (kind === 'jax') { const jax = libs.jax; const d = await jax.init(cfg.device); out.initDevices = d; if (!d.includes(cfg.device)) throw new Error('jax.init: device not available: ' + JSON.stringify(d)); jax.defaultDevice(cfg.device); make = makeJax(jax); }
  } catch (e) { out.error = String(e && e.stack || e).slice(0, 1000); return out; }
  for (const [M, K, N] of shapes) {
    const A = randu(M * K, -1, 1, 11 + M + K), B = randu(K * N, -1, 1, 13 + K + N);
    const ref = matmulRef(A, B, M, K, N);
    let impl;
    try { impl = await make(A, B, M, K, N); out.results.push(await bench(impl, M, K, N, { targetMs, reps, ref })); }
    catch (e) { out.results.push({ shape: `${M}x${K}x${N}`, error: String(e && e.stack || e).slice(0, 800) }); }
    try { if (impl) await impl.dispose(); } catch { }
  }
  return out;
}
