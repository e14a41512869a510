// Vendored from shared/peers/www/gpt_jax.js (the team's peer benchmark, measured in shared/peers/RESULTS.md); unchanged
// below this line. Served as-is by scripts/bench.mjs (bench/peers/lib.mjs), see bench/peers/README.md.
// Tiny GPT-2 training step in jax-js (same model, init and batch as gpt_tf.js).
// step = jit(valueAndGrad(loss)) + a jit-compiled Adam update written here (@jax-js/optax is not on npm).
// Reference counting follows the jax-js rules: every function consumes its array arguments;
// .ref adds a reference for arrays used more than once.
import { CFG, initParams, initLora, makeBatch, stats, r1 } from './common.js';

// Live-buffer counter: wraps the backend's malloc/incRef/decRef (internal getBackend of jax-js 0.1.25).
function slotCounter(backend) {
  const rc = new Map();
  const { malloc, incRef, decRef } = backend;
  backend.malloc = function (...a) { const s = malloc.apply(this, a); rc.set(s, 1); return s; };
  backend.incRef = function (s) { rc.set(s, (rc.get(s) || 0) + 1); return incRef.call(this, s); };
  backend.decRef = function (s) { const n = (rc.get(s) || 0) - 1; if (n <= 0) rc.delete(s); else rc.set(s, n); return decRef.call(this, s); };
  return () => rc.size;
}

export async function runGptJax(jax, { device, variant = 'full', warmup = 3, steps = 10, lr, getBackend, useJit = true, embed = 'take' } = {}) {
  const { numpy: np, nn, jit, valueAndGrad, tree } = jax;
  const out = { framework: 'jax-js', device, variant, jit: useJit, embed };
  let t0 = performance.now();
  const devs = await jax.init(device); out.initDevices = devs;
  if (!devs.includes(device)) { out.error = `jax.init('${device}') returned ${JSON.stringify(devs)}`; return out; }
  jax.defaultDevice(device); out.initMs = r1(performance.now() - t0);
  const liveSlots = getBackend ? slotCounter(getBackend(device)) : () => null;
  const { V, T, C, L, H, B, R, ALPHA } = CFG; const hd = C / H, BT = B * T, scale = ALPHA / R;
  const full = variant === 'full';
  const toArr = (v) => np.array(v.data).reshape(v.shape);
  let params = {}; for (const [k, v] of Object.entries(initParams())) params[k] = toArr(v);
  let lora = {}; if (!full) for (const [k, v] of Object.entries(initLora())) lora[k] = toArr(v);
  const batch = makeBatch();
  const idx = np.array(batch.idx, { dtype: np.int32 }).reshape([B, T]);
  const tgt = nn.oneHot(np.array(batch.tgt, { dtype: np.int32 }), V).astype(np.float32);
  const m = new Float32Array(T * T); for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) m[i * T + j] = -1e9;
  const mask = np.array(m).reshape([T, T]);

  const ln = (x, g, b) => nn.standardize(x, -1, { epsilon: 1e-5 }).mul(g).add(b);
  // p: base params (each leaf consumed once, wte twice), lo: LoRA params or {}
  function loss(p, lo, idx, tgt, mask) {
    // embedding lookup: np.take (gather) or one-hot matmul (jit cannot compile the scatter in take's VJP)
    const e = embed === 'take' ? np.take(p.wte.ref, idx.reshape([BT]), 0) : np.matmul(nn.oneHot(idx.reshape([BT]), V).astype(np.float32), p.wte.ref);
    let x = e.reshape([B, T, C]).add(p.wpe);
    for (let l = 0; l < L; l++) {
      const q_ = `h${l}.`; const last = l === L - 1;
      const h = ln(x.ref, p[q_ + 'ln_1.g'], p[q_ + 'ln_1.b']).reshape([BT, C]);
      let qkv = np.matmul(full ? h : h.ref, p[q_ + 'attn.c_attn.w']).add(p[q_ + 'attn.c_attn.b']);
      if (!full) qkv = qkv.add(np.matmul(np.matmul(h, lo[q_ + 'attn.c_attn.lora_A']), lo[q_ + 'attn.c_attn.lora_B']).mul(scale));
      const [q, k, v] = np.split(qkv, 3, 1).map(z => z.reshape([B, T, H, hd]).transpose([0, 2, 1, 3]));
      const s = np.matmul(q, k.transpose([0, 1, 3, 2])).mul(1 / Math.sqrt(hd)).add(last ? mask : mask.ref);
      const y = np.matmul(nn.softmax(s, -1), v).transpose([0, 2, 1, 3]).reshape([BT, C]);
      x = x.add(np.matmul(y, p[q_ + 'attn.c_proj.w']).add(p[q_ + 'attn.c_proj.b']).reshape([B, T, C]));
      const h2 = ln(x.ref, p[q_ + 'ln_2.g'], p[q_ + 'ln_2.b']).reshape([BT, C]);
      const mm = nn.gelu(np.matmul(h2, p[q_ + 'mlp.c_fc.w']).add(p[q_ + 'mlp.c_fc.b']), { approximate: true });
      x = x.add(np.matmul(mm, p[q_ + 'mlp.c_proj.w']).add(p[q_ + 'mlp.c_proj.b']).reshape([B, T, C]));
    }
    const xf = ln(x, p['ln_f.g'], p['ln_f.b']).reshape([BT, C]);
    const logits = np.matmul(xf, p.wte.transpose([1, 0])); // tied LM head
    return nn.logSoftmax(logits, -1).mul(tgt).sum().mul(-1 / BT);
  }
  const fullLoss = (p, idx, tgt, mask) => loss(p, {}, idx, tgt, mask);
  const loraLoss = (lo, p, idx, tgt, mask) => loss(p, lo, idx, tgt, mask);
  const vg = valueAndGrad(full ? fullLoss : loraLoss);
  const stepFn = useJit ? jit(vg) : vg;
  const b1 = 0.9, b2 = 0.999, eps = 1e-8;
  const adamFn = (p, g, mo, ve, c1, c2) => {
    const P = {}, M = {}, Vv = {};
    for (const k of Object.keys(p)) {
      const gk = g[k];
      const mk = mo[k].mul(b1).add(gk.ref.mul(1 - b1));
      const vk = ve[k].mul(b2).add(gk.ref.mul(gk).mul(1 - b2));
      P[k] = p[k].sub(mk.ref.mul(c1.ref).div(np.sqrt(vk.ref.mul(c2.ref)).add(eps)));
      M[k] = mk; Vv[k] = vk;
    }
    c1.dispose(); c2.dispose();
    return [P, M, Vv];
  };
  const adam = useJit ? jit(adamFn) : adamFn;
  const lrv = lr ?? (full ? 1e-3 : 1e-2);
  let trainable = full ? params : lora;
  let mo = {}, ve = {}; for (const k of Object.keys(trainable)) { mo[k] = np.zerosLike(trainable[k].ref); ve[k] = np.zerosLike(trainable[k].ref); }
  out.trainableParams = Object.values(trainable).reduce((s, a) => s + a.size, 0);
  await jax.blockUntilReady([params, lora, mo, ve, idx, tgt, mask]);
  out.slotsBefore = liveSlots();
  const losses = [], times = []; let slotsAfterWarmup;
  for (let i = 0; i < warmup + steps; i++) {
    if (i === warmup) slotsAfterWarmup = liveSlots();
    const t = performance.now();
    const args = full ? [tree.ref(params), idx.ref, tgt.ref, mask.ref] : [tree.ref(lora), tree.ref(params), idx.ref, tgt.ref, mask.ref];
    const [lossVal, grads] = stepFn(...args);
    const c1 = np.array(lrv / (1 - b1 ** (i + 1))), c2 = np.array(1 / (1 - b2 ** (i + 1)));
    [trainable, mo, ve] = adam(trainable, grads, mo, ve, c1, c2);
    if (full) params = trainable; else lora = trainable;
    const lv = await lossVal.jsAsync();
    await jax.blockUntilReady(trainable);
    times.push(performance.now() - t); losses.push(lv);
  }
  out.firstStepMs = r1(times[0]); out.warmupMs = times.slice(0, warmup).map(x => r1(x));
  out.stepMs = stats(times.slice(warmup)); for (const k of ['median', 'min', 'max']) out.stepMs[k] = r1(out.stepMs[k]);
  out.losses = losses.map(x => +(+x).toFixed(5));
  out.slotsAfterWarmup = slotsAfterWarmup; out.slotsAfterSteps = liveSlots();
  out.leakPerStep = slotsAfterWarmup == null ? null : (out.slotsAfterSteps - slotsAfterWarmup) / steps;
  tree.dispose([params, lora, mo, ve]); idx.dispose(); tgt.dispose(); mask.dispose();
  if (useJit) { stepFn.dispose(); adam.dispose(); }
  return out;
}
