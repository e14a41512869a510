// The Llama-family ops through the Backend interface: the same calls on CpuBackend and GpuBackend give the same
// results, which checks each backend's wiring (argument order, defaults) of rmsnorm, rope, swiglu and grouped-query
// attention; the kernels themselves are tested against their references in the per-op files. Tolerance 1e-5.

import { describe, it } from 'vitest';
import { parseRopeConfig } from '../../src/models/arch/llamaRope';
import { ropeTable } from '../../src/ops/rope';
import type { AttentionParams, Backend, RopeParams, Tensor } from '../../src/tensor/backend';
import { CpuBackend } from '../../src/tensor/cpu';
import { expectClose, randArray } from '../helpers/check';
import { gpuBackend } from '../helpers/gpu';

const TOL = 1e-5;

/** Runs a small block's worth of the new ops forward and backward on `be`; returns every output, read back. */
async function run(be: Backend): Promise<Record<string, Float32Array>> {
  const B = 2,
    T = 5,
    H = 4,
    KVH = 2,
    D = 6,
    N = B * T,
    F = 7;
  const t = (data: Float32Array, shape: number[], label: string): Tensor => be.fromArray(data, shape, label);
  const outs: Record<string, Tensor> = {};
  // RMSNorm over the per-head rows (Qwen3 q norm): (N*H, D).
  const x = t(randArray(N * H * D, 1), [N * H, D], 'x'),
    w = t(randArray(D, 2, 0.5, 1.5), [D], 'w');
  outs.norm = be.zeros([N * H, D]);
  outs.rstd = be.zeros([N * H]);
  be.rmsnorm(outs.norm, outs.rstd, x, w, N * H, D, 1e-6);
  outs.dx = be.fromArray(randArray(N * H * D, 3), [N * H, D]);
  outs.dw = be.fromArray(randArray(D, 4), [D]);
  be.rmsnormBackward(outs.dx, outs.dw, t(randArray(N * H * D, 5), [N * H, D], 'dout'), x, w, outs.rstd, N * H, D, true);
  // Rope in place on q (H heads) and k (KVH heads) at a position offset.
  const table = t(ropeTable(parseRopeConfig({ rope_theta: 1e6 }, { headDim: D }), 16), [16, D], 'rope table');
  const rp: RopeParams = { B, T, H, D, stride: H * D, offset: 0, posOffset: 3 };
  outs.q = be.fromArray(randArray(N * H * D, 6), [N, H * D]);
  outs.k = be.fromArray(randArray(N * KVH * D, 7), [N, KVH * D]);
  be.rope(outs.q, outs.q, table, rp);
  be.rope(outs.k, outs.k, table, { ...rp, H: KVH, stride: KVH * D });
  outs.dq0 = be.zeros([N, H * D]);
  be.ropeBackward(outs.dq0, t(randArray(N * H * D, 8), [N, H * D], 'g'), table, rp);
  // Grouped-query attention on the rotated q, k.
  const v = t(randArray(N * KVH * D, 9), [N, KVH * D], 'v');
  const ap: AttentionParams = {
    B,
    T,
    H,
    D,
    KVH,
    causal: true,
    qStride: H * D,
    qOffset: 0,
    kStride: KVH * D,
    kOffset: 0,
    vStride: KVH * D,
    vOffset: 0,
  };
  outs.att = be.zeros([B, H, T, T]);
  outs.out = be.zeros([N, H * D]);
  be.attention(outs.out, outs.att, outs.q, outs.k, v, null, ap);
  outs.dq = be.zeros([N, H * D]);
  outs.dk = be.zeros([N, KVH * D]);
  outs.dv = be.zeros([N, KVH * D]);
  be.attentionBackward(
    outs.dq,
    outs.dk,
    outs.dv,
    t(randArray(N * H * D, 10), [N, H * D], 'dout'),
    outs.att,
    outs.q,
    outs.k,
    v,
    ap,
  );
  // SwiGLU.
  const gate = t(randArray(N * F, 11, -4, 4), [N, F], 'gate'),
    up = t(randArray(N * F, 12), [N, F], 'up');
  outs.mlp = be.zeros([N, F]);
  be.swiglu(outs.mlp, gate, up);
  outs.dgate = be.zeros([N, F]);
  outs.dup = be.zeros([N, F]);
  be.swigluBackward(outs.dgate, outs.dup, t(randArray(N * F, 13), [N, F], 'dout'), gate, up);
  const res: Record<string, Float32Array> = {};
  for (const [name, tensor] of Object.entries(outs)) res[name] = (await be.read(tensor)) as Float32Array;
  return res;
}

describe('Llama-family ops through the Backend interface', () => {
  it('CpuBackend and GpuBackend agree on rmsnorm, rope, grouped-query attention and swiglu', async () => {
    const cpu = await run(new CpuBackend());
    const gpu = await run(await gpuBackend());
    for (const name of Object.keys(cpu)) expectClose(gpu[name], cpu[name], TOL, TOL, name);
  });
});
