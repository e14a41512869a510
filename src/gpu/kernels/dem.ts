// Launcher for shaders/dem.wgsl: the DEM regulariser's gradient and per-vector values for every adapted module of a
// set, one dispatch (grid: the vectors of one module by the modules).

import code from '../../../shaders/dem.wgsl?raw';
import { checkAdapterSlot, SLOT_FIELDS } from '../../ops/adapter';
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
  const R0 = slots[0].R0;
  for (const s of slots) {
    checkAdapterSlot(s, Math.min(theta.size, grad.size));
    if (s.R0 !== R0) throw new Error(`dem: modules of R0 ${R0} and ${s.R0} in one set`);
  }
  if (partials.size < 2 * R0 * slots.length) throw new Error(`dem: partials needs ${2 * R0 * slots.length} elements`);
  if (table.size < slots.length * SLOT_FIELDS)
    throw new Error(`dem: the slot table holds ${table.size / SLOT_FIELDS} of ${slots.length} modules`);
  ctx.dispatch({
    shader,
    entry: 'dem_backward',
    bindings: [undefined, theta, grad, partials, table],
    params: { format: 'uf', values: [R0, coef] },
    workgroups: [Math.ceil((2 * R0) / 64), slots.length],
  });
}
