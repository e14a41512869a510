// Launchers for shaders/reduce.wgsl. Two passes so a large gradient is read by many workgroups at full bandwidth
// (one workgroup would be bound by a single core): G = ceil(n/4096) <= 1024 workgroups write partials into a pooled
// scratch tensor, then one workgroup adds them. G depends only on n, so the result is bitwise deterministic.

import code from '../../../shaders/reduce.wgsl?raw';
import storeOut from '../../../shaders/store_out.wgsl?raw';
import type { GpuContext, GpuTensor } from '../context';

const shader = { name: 'reduce', code, prelude: storeOut };
/** Elements per workgroup (16 per invocation) before a second workgroup is worth its partial. */
const PER_GROUP = 4096;
const MAX_GROUPS = 1024;

function run(ctx: GpuContext, entry: string, out: GpuTensor, x: GpuTensor, accumulate: boolean): void {
  const n = x.size;
  const groups = Math.min(MAX_GROUPS, Math.max(1, Math.ceil(n / PER_GROUP)));
  if (groups === 1) {
    ctx.dispatch({
      shader,
      entry,
      bindings: [undefined, out, x],
      params: { format: 'uu', values: [n, accumulate ? 1 : 0] },
      workgroups: [1],
    });
    return;
  }
  // One fixed scratch size keeps a single pool entry; released right away since later work runs after this pass.
  const partials = ctx.tensor([MAX_GROUPS], 'f32', 'reduce partials', false);
  ctx.dispatch({
    shader,
    entry,
    bindings: [undefined, partials, x],
    params: { format: 'uu', values: [n, 0] },
    workgroups: [groups],
  });
  ctx.dispatch({
    shader,
    entry: 'sum_forward',
    bindings: [undefined, out, partials],
    params: { format: 'uu', values: [groups, accumulate ? 1 : 0] },
    workgroups: [1],
  });
  ctx.release(partials);
}

/** out[0] (+)= sum(x), deterministic. */
export function sum(ctx: GpuContext, out: GpuTensor, x: GpuTensor, accumulate = false): void {
  run(ctx, 'sum_forward', out, x, accumulate);
}

/** out[0] (+)= sum(x^2), deterministic (the global gradient norm for clipping). */
export function sumSquares(ctx: GpuContext, out: GpuTensor, x: GpuTensor, accumulate = false): void {
  run(ctx, 'sum_squares_forward', out, x, accumulate);
}

/** Workgroups of absMaxParts: the f16 matmul reads this many partial maxima (shaders/matmul_f16.wgsl A_PARTS). */
export const ABSMAX_PARTS = 64;

/** out[0..ABSMAX_PARTS) = partial maxima of |x| over its first n elements (their max is max |x|); one dispatch. */
export function absMaxParts(ctx: GpuContext, out: GpuTensor, x: GpuTensor, n: number): void {
  if (out.size < ABSMAX_PARTS) throw new Error(`absMaxParts: out (${out.label}) needs ${ABSMAX_PARTS} elements`);
  if (x.size < n) throw new Error(`absMaxParts: x (${x.label}) has ${x.size} elements, needs ${n}`);
  ctx.dispatch({
    shader,
    entry: 'absmax_forward',
    bindings: [undefined, out, x],
    params: { format: 'uu', values: [n, 0] },
    workgroups: [ABSMAX_PARTS],
  });
}
