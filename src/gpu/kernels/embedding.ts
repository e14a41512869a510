// Launchers for shaders/embedding.wgsl: token gather and its deterministic scatter-add backward.

import code from '../../../shaders/embedding.wgsl?raw';
import { type GpuContext, type GpuTensor, grid1d } from '../context';

const shader = { name: 'embedding', code };
/** Invocations the backward aims for; more vocabulary chunks only add id compares, so stop at a GPU's worth. A CPU
 * emulating the GPU runs a few workgroups at a time, so there the redundant compares cost time: 16 workgroups' worth
 * (the peers' tiny GPT-2 full step spent 14% of its time here with 256 chunks). */
const TARGET_INVOCATIONS = 16384,
  TARGET_INVOCATIONS_EMULATED = 1024;

/** out(N,C) = W[ids[n]]; an id outside [0, V) (V = W.size / C) yields a zero row instead of a RangeError. A parted W
 * gathers part by part: the first part zeroes the rows of ids outside it, later parts write only their own ids. */
export function embedding(ctx: GpuContext, out: GpuTensor, ids: GpuTensor, W: GpuTensor, N: number, C: number): void {
  // A frozen f16 weight is unpacked in the shader (embedding.wgsl src_at); its parts are f16 like it.
  const defines = W.dtype === 'f16' ? { W_F16: 'true', SRC_ELEM: 'u32' } : { W_F16: 'false', SRC_ELEM: 'f32' };
  for (const part of W.parts ?? [{ tensor: W, start: 0 }]) {
    const V = Math.floor(part.tensor.size / C);
    ctx.dispatch({
      shader,
      entry: 'embedding_forward',
      defines,
      bindings: [undefined, out, ids, part.tensor],
      params: { format: 'uuuuu', values: [N, C, V, part.start === 0 ? 1 : 0, part.start] },
      workgroups: grid1d(N * C, ctx.limits.maxComputeWorkgroupsPerDimension),
    });
  }
}

/** dW(V,C)[ids[n]] += dout(N,C)[n] without atomics, bitwise equal to the CPU reference; bad ids are skipped. */
export function embeddingBackward(
  ctx: GpuContext,
  dW: GpuTensor,
  ids: GpuTensor,
  dout: GpuTensor,
  N: number,
  C: number,
  V: number,
): void {
  if (dW.parts) {
    for (const part of dW.parts) embeddingBackwardPart(ctx, part.tensor, ids, dout, N, C, part.rows, part.start);
    return;
  }
  embeddingBackwardPart(ctx, dW, ids, dout, N, C, V, 0);
}

/** dW holds ids vStart .. vStart + V - 1. */
function embeddingBackwardPart(
  ctx: GpuContext,
  dW: GpuTensor,
  ids: GpuTensor,
  dout: GpuTensor,
  N: number,
  C: number,
  V: number,
  vStart: number,
): void {
  const cGroups = Math.ceil(C / 64);
  const maxDim = ctx.limits.maxComputeWorkgroupsPerDimension;
  const chunks = Math.max(
    1,
    Math.min(
      V,
      maxDim,
      Math.ceil((ctx.barrierFree ? TARGET_INVOCATIONS_EMULATED : TARGET_INVOCATIONS) / (cGroups * 64)),
    ),
  );
  ctx.dispatch({
    shader,
    entry: 'embedding_backward',
    defines: { W_F16: 'false', SRC_ELEM: 'f32' },
    bindings: [undefined, dW, ids, dout],
    params: { format: 'uuuuu', values: [N, C, V, chunks, vStart] },
    workgroups: [cGroups, chunks],
  });
}
