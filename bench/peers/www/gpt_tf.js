// Vendored from shared/peers/www/gpt_tf.js (the team's peer benchmark, measured in shared/peers/RESULTS.md); unchanged
// below this line. Served as-is by scripts/bench.mjs (bench/peers/lib.mjs), see bench/peers/README.md.
// Tiny GPT-2 training step in TensorFlow.js (ops API, no layers).
// Pre-LN blocks, gelu (tanh form), tied embeddings, causal attention, mean CE over all B*T positions.
// variant 'full': every weight trainable, Adam. variant 'lora': LoRA r=8 on c_attn only, base weights
// are tf.variable(..., trainable=false), optimizer.minimize(f, true, varList=LoRA vars), Adam.
import { CFG, initParams, initLora, makeBatch, stats, r1 } from './common.js';

export async function runGptTf(tf, { backend, variant = 'full', warmup = 3, steps = 10, lr } = {}) {
  const out = { framework: 'tfjs', tfjs: tf.version.tfjs, backend, variant };
  let t0 = performance.now();
  await tf.setBackend(backend); await tf.ready();
  out.active = tf.getBackend(); out.readyMs = r1(performance.now() - t0);
  if (out.active !== backend) { out.error = 'backend not active'; return out; }
  const { V, T, C, L, H, B, R, ALPHA } = CFG; const hd = C / H, BT = B * T, scale = ALPHA / R;
  const full = variant === 'full';
  const P = {}, vars = [], loraVars = [];
  for (const [k, v] of Object.entries(initParams())) { const t = tf.tensor(v.data, v.shape); P[k] = tf.variable(t, full, k); t.dispose(); vars.push(P[k]); }
  if (!full) for (const [k, v] of Object.entries(initLora())) { const t = tf.tensor(v.data, v.shape); P[k] = tf.variable(t, true, k); t.dispose(); loraVars.push(P[k]); }
  const { idx, tgt } = makeBatch();
  const idxT = tf.tensor1d(idx, 'int32'), tgtOH = tf.oneHot(tf.tensor1d(tgt, 'int32'), V).toFloat();
  // additive causal mask [T,T]: 0 on/below diagonal, -1e9 above
  const maskAdd = tf.tidy(() => tf.sub(1, tf.linalg.bandPart(tf.ones([T, T]), -1, 0)).mul(-1e9));
  const ln = (x, g, b) => tf.tidy(() => { const { mean, variance } = tf.moments(x, -1, true); return x.sub(mean).mul(tf.rsqrt(variance.add(1e-5))).mul(g).add(b); });
  const gelu = (x) => x.mul(0.5).mul(tf.tanh(x.add(x.mul(x).mul(x).mul(0.044715)).mul(Math.sqrt(2 / Math.PI))).add(1));
  const lossFn = () => {
    let x = tf.gather(P.wte, idxT).reshape([B, T, C]).add(P.wpe);
    for (let l = 0; l < L; l++) {
      const p = `h${l}.`;
      const h = ln(x, P[p + 'ln_1.g'], P[p + 'ln_1.b']).reshape([BT, C]);
      let qkv = tf.matMul(h, P[p + 'attn.c_attn.w']).add(P[p + 'attn.c_attn.b']);
      if (!full) qkv = qkv.add(tf.matMul(tf.matMul(h, P[p + 'attn.c_attn.lora_A']), P[p + 'attn.c_attn.lora_B']).mul(scale));
      const [q, k, v] = tf.split(qkv, 3, 1).map(z => z.reshape([B, T, H, hd]).transpose([0, 2, 1, 3]));
      const att = tf.softmax(tf.matMul(q, k, false, true).mul(1 / Math.sqrt(hd)).add(maskAdd));
      const y = tf.matMul(att, v).transpose([0, 2, 1, 3]).reshape([BT, C]);
      x = x.add(tf.matMul(y, P[p + 'attn.c_proj.w']).add(P[p + 'attn.c_proj.b']).reshape([B, T, C]));
      const h2 = ln(x, P[p + 'ln_2.g'], P[p + 'ln_2.b']).reshape([BT, C]);
      const m = gelu(tf.matMul(h2, P[p + 'mlp.c_fc.w']).add(P[p + 'mlp.c_fc.b']));
      x = x.add(tf.matMul(m, P[p + 'mlp.c_proj.w']).add(P[p + 'mlp.c_proj.b']).reshape([B, T, C]));
    }
    const xf = ln(x, P['ln_f.g'], P['ln_f.b']).reshape([BT, C]);
    const logits = tf.matMul(xf, P.wte, false, true); // tied LM head
    return tf.logSoftmax(logits).mul(tgtOH).sum().mul(-1 / BT);
  };
  const opt = tf.train.adam(lr ?? (full ? 1e-3 : 1e-2));
  const varList = full ? vars : loraVars;
  out.trainableParams = varList.reduce((s, v) => s + v.size, 0);
  out.tensorsBefore = tf.memory().numTensors;
  const losses = [], times = [];
  let tensorsAfterWarmup;
  for (let i = 0; i < warmup + steps; i++) {
    if (i === warmup) tensorsAfterWarmup = tf.memory().numTensors;
    const t = performance.now();
    const loss = opt.minimize(lossFn, true, varList);
    const lv = (await loss.data())[0];
    times.push(performance.now() - t); losses.push(lv); loss.dispose();
  }
  out.firstStepMs = r1(times[0]);
  out.warmupMs = times.slice(0, warmup).map(x => r1(x));
  out.stepMs = stats(times.slice(warmup)); for (const k of ['median', 'min', 'max']) out.stepMs[k] = r1(out.stepMs[k]);
  out.losses = losses.map(x => +x.toFixed(5));
  out.tensorsAfterWarmup = tensorsAfterWarmup; out.tensorsAfterSteps = tf.memory().numTensors;
  out.leakPerStep = (out.tensorsAfterSteps - tensorsAfterWarmup) / steps;
  out.memory = tf.memory(); delete out.memory.reasons;
  // flags that matter for perf
  out.flags = {}; for (const f of ['WEBGPU_CPU_FORWARD', 'WEBGL_CPU_FORWARD', 'WEBGL_PACK', 'WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE']) { try { out.flags[f] = tf.env().get(f); } catch { } }
  opt.dispose(); tf.disposeVariables(); idxT.dispose(); tgtOH.dispose(); maskAdd.dispose();
  return out;
}
