// Launcher for shaders/dem.wgsl: the DEM regulariser's gradient and per-vector values for every adapted module of a
// set, one dispatch (grid: the vectors of one module by the modules).

import code from '../../../shaders/dem.wgsl?raw';
import { checkAdapterSlots } from '../../ops/adapter';
import type { AdapterSlot } from '../../tensor/backend';
import type { GpuContext, GpuTensor } from '../context';

const shader = { name: 'dem', code };

/** partials[2 m R0 + i] = coef Var(a_i), [2 m R0 + R0 + i] = coef Var(b_i) for module m of `slots` (`table` its
 * adapterSlotTable); grad accumulates the gradient. */
export function dem(
  ctx: GpuContext,
  partials: GpuTensor,
  grad: GpuTensor,
  theta: GpuTensor,
  slots: readonly AdapterSlot[],
  table: GpuTensor,
  coef: number,
): void {
  if (slots.length === 0) return;
  const R0 = checkAdapterSlots(slots, Math.min(theta.size, grad.size), table.size, 'dem');
  if (partials.size < 2 * R0 * slots.length) throw new Error(`dem: partials needs ${2 * R0 * slots.length} elements`);
  ctx.dispatch({
    shader,
    entry: 'dem_backward',
    bindings: [undefined, theta, grad, partials, table],
    params: { format: 'uf', values: [R0, coef] },
    workgroups: [Math.ceil((2 * R0) / 64), slots.length],
  });
}
