// jax-js (npm @jax-js/jax) in our bench page, for the contests in turns: a matmul contender for pairedMatmul, computing
// what the vendored peer harness computes (bench/peers/www/mm_bench.js makeJax): device arrays from the same inputs,
// np.matmul issued lazily in groups and blockUntilReady on the group's outputs as the one sync per group; and the
// peers' GPT-2 training step for pairedSteps (jaxGptStep). Loaded on demand, so the engine's own bundles never carry
// it.

import type { ContenderFactory } from './matmul';
import type { StepContenderFactory } from './pairedStep';

/** The factory on jax-js's WebGPU device; throws if jax-js finds no WebGPU there. */
export async function jaxWebGpu(): Promise<ContenderFactory> {
  const jax = await import('@jax-js/jax');
  const devices = await jax.init('webgpu');
  if (!devices.includes('webgpu')) throw new Error(`jax-js: no WebGPU device (init gave ${JSON.stringify(devices)})`);
  jax.defaultDevice('webgpu');
  const np = jax.numpy;
  const factory: ContenderFactory = async (A, B, M, K, N) => {
    const a = np.array(A).reshape([M, K]),
      b = np.array(B).reshape([K, N]);
    await jax.blockUntilReady([a, b]);
    return {
      check: async () => (await np.matmul(a.ref, b.ref).data()) as Float32Array,
      runGroup: async (n) => {
        const cs = [];
        for (let i = 0; i < n; i++) cs.push(np.matmul(a.ref, b.ref));
        await jax.blockUntilReady(cs);
        cs.forEach((c) => c.dispose());
      },
      dispose: () => {
        a.dispose();
        b.dispose();
      },
    };
  };
  return factory;
}

/** What jaxGptStep takes from the peers' shared module (bench/peers/www/common.js): config, init and batch. */
interface PeerCommon {
  CFG: { V: number; T: number; C: number; L: number; H: number; B: number; R: number; ALPHA: number };
  initParams(): Record<string, { shape: number[]; data: Float32Array }>;
  initLora(): Record<string, { shape: number[]; data: Float32Array }>;
  makeBatch(): { idx: Int32Array; tgt: Int32Array };
}

/** The peers' shared module where scripts/bench.mjs serves it: the root of the origin that serves bench/peers/www. */
const PEER_COMMON_URL = '/common.js';

/**
 * jax-js's tiny GPT-2 training step, as bench/peers/www/gpt_jax.js runs it with `useJit: true, embed: 'onehot'`: the
 * same model, init and batch (from the peers' common.js), jit(valueAndGrad(loss)) then a jit-compiled Adam update
 * (lr 1e-3 full, 1e-2 LoRA r=8 on c_attn), one step ending when the loss is read back and the new trainable parameters
 * are ready. Reference counting follows jax-js: every function consumes its array arguments, `.ref` adds a reference.
 */
export async function jaxGptStep(variant: 'full' | 'lora'): Promise<StepContenderFactory> {
  const jax = await import('@jax-js/jax');
  const common = (await import(/* @vite-ignore */ PEER_COMMON_URL)) as PeerCommon;
  const devices = await jax.init('webgpu');
  if (!devices.includes('webgpu')) throw new Error(`jax-js: no WebGPU device (init gave ${JSON.stringify(devices)})`);
  jax.defaultDevice('webgpu');
  const { numpy: np, nn, tree } = jax;
  type Arr = InstanceType<typeof jax.Array>;
  type Params = Record<string, Arr>;
  const { V, T, C, L, H, B, R, ALPHA } = common.CFG;
  const hd = C / H,
    BT = B * T,
    scale = ALPHA / R,
    full = variant === 'full';
  return async () => {
    const toArr = (v: { shape: number[]; data: Float32Array }) => np.array(v.data).reshape(v.shape);
    let params: Params = {},
      lora: Params = {};
    for (const [k, v] of Object.entries(common.initParams())) params[k] = toArr(v);
    if (!full) for (const [k, v] of Object.entries(common.initLora())) lora[k] = toArr(v);
    const batch = common.makeBatch();
    const idx = np.array(batch.idx, { dtype: np.int32 }).reshape([B, T]);
    const tgt = nn.oneHot(np.array(batch.tgt, { dtype: np.int32 }), V).astype(np.float32);
    const m = new Float32Array(T * T);
    for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) m[i * T + j] = -1e9;
    const mask = np.array(m).reshape([T, T]);
    const ln = (x: Arr, g: Arr, b: Arr) => nn.standardize(x, -1, { epsilon: 1e-5 }).mul(g).add(b);
    // p: base parameters (each leaf consumed once, wte twice); lo: LoRA parameters or {}.
    const loss = (p: Params, lo: Params, idx: Arr, tgt: Arr, mask: Arr): Arr => {
      const e = np.matmul(nn.oneHot(idx.reshape([BT]), V).astype(np.float32), p.wte.ref);
      let x = e.reshape([B, T, C]).add(p.wpe);
      for (let l = 0; l < L; l++) {
        const q_ = `h${l}.`,
          last = l === L - 1;
        const h = ln(x.ref, p[`${q_}ln_1.g`], p[`${q_}ln_1.b`]).reshape([BT, C]);
        let qkv = np.matmul(full ? h : h.ref, p[`${q_}attn.c_attn.w`]).add(p[`${q_}attn.c_attn.b`]);
        if (!full) {
          qkv = qkv.add(
            np.matmul(np.matmul(h, lo[`${q_}attn.c_attn.lora_A`]), lo[`${q_}attn.c_attn.lora_B`]).mul(scale),
          );
        }
        const [q, k, v] = np.split(qkv, 3, 1).map((z) => z.reshape([B, T, H, hd]).transpose([0, 2, 1, 3]));
        const s = np
          .matmul(q, k.transpose([0, 1, 3, 2]))
          .mul(1 / Math.sqrt(hd))
          .add(last ? mask : mask.ref);
        const y = np.matmul(nn.softmax(s, -1), v).transpose([0, 2, 1, 3]).reshape([BT, C]);
        x = x.add(np.matmul(y, p[`${q_}attn.c_proj.w`]).add(p[`${q_}attn.c_proj.b`]).reshape([B, T, C]));
        const h2 = ln(x.ref, p[`${q_}ln_2.g`], p[`${q_}ln_2.b`]).reshape([BT, C]);
        const mm = nn.gelu(np.matmul(h2, p[`${q_}mlp.c_fc.w`]).add(p[`${q_}mlp.c_fc.b`]), { approximate: true });
        x = x.add(np.matmul(mm, p[`${q_}mlp.c_proj.w`]).add(p[`${q_}mlp.c_proj.b`]).reshape([B, T, C]));
      }
      const xf = ln(x, p['ln_f.g'], p['ln_f.b']).reshape([BT, C]);
      const logits = np.matmul(xf, p.wte.transpose([1, 0])); // tied LM head
      return nn
        .logSoftmax(logits, -1)
        .mul(tgt)
        .sum()
        .mul(-1 / BT);
    };
    const fullLoss = (p: Params, idx: Arr, tgt: Arr, mask: Arr) => loss(p, {}, idx, tgt, mask);
    const loraLoss = (lo: Params, p: Params, idx: Arr, tgt: Arr, mask: Arr) => loss(p, lo, idx, tgt, mask);
    type Fn = ((...a: unknown[]) => unknown) & { dispose(): void };
    const stepFn = jax.jit(jax.valueAndGrad(full ? fullLoss : loraLoss) as never) as unknown as Fn;
    const b1 = 0.9,
      b2 = 0.999,
      eps = 1e-8;
    const adamFn = (p: Params, g: Params, mo: Params, ve: Params, c1: Arr, c2: Arr) => {
      const P: Params = {},
        M: Params = {},
        Vv: Params = {};
      for (const k of Object.keys(p)) {
        const gk = g[k];
        const mk = mo[k].mul(b1).add(gk.ref.mul(1 - b1));
        const vk = ve[k].mul(b2).add(gk.ref.mul(gk).mul(1 - b2));
        P[k] = p[k].sub(mk.ref.mul(c1.ref).div(np.sqrt(vk.ref.mul(c2.ref)).add(eps)));
        M[k] = mk;
        Vv[k] = vk;
      }
      c1.dispose();
      c2.dispose();
      return [P, M, Vv];
    };
    const adam = jax.jit(adamFn as never) as unknown as Fn;
    const lr = full ? 1e-3 : 1e-2;
    let trainable = full ? params : lora;
    let mo: Params = {},
      ve: Params = {};
    for (const k of Object.keys(trainable)) {
      mo[k] = np.zerosLike(trainable[k].ref);
      ve[k] = np.zerosLike(trainable[k].ref);
    }
    await jax.blockUntilReady([params, lora, mo, ve, idx, tgt, mask]);
    let i = 0;
    return {
      step: async () => {
        const args = full
          ? [tree.ref(params), idx.ref, tgt.ref, mask.ref]
          : [tree.ref(lora), tree.ref(params), idx.ref, tgt.ref, mask.ref];
        const [lossVal, grads] = stepFn(...args) as [Arr, Params];
        const c1 = np.array(lr / (1 - b1 ** (i + 1))),
          c2 = np.array(1 / (1 - b2 ** (i + 1)));
        i++;
        [trainable, mo, ve] = adam(trainable, grads, mo, ve, c1, c2) as [Params, Params, Params];
        if (full) params = trainable;
        else lora = trainable;
        const lv = Number(await lossVal.jsAsync());
        await jax.blockUntilReady(trainable);
        return lv;
      },
      dispose: () => {
        tree.dispose([params, lora, mo, ve]);
        idx.dispose();
        tgt.dispose();
        mask.dispose();
        stepFn.dispose();
        adam.dispose();
      },
    };
  };
}
