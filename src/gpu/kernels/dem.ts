// Launcher for shaders/dem.wgsl: the DEM regulariser's gradient and per-vector values for one adapted module.

import code from '../../../shaders/dem.wgsl?raw';
import type { AdapterSlot } from '../../tensor/backend';
import type { GpuContext, GpuTensor } from '../context';

const shader = { name: 'dem', code };

export function dem(
  ctx: GpuContext,
  partials: GpuTensor,
  grad: GpuTensor,
  theta: GpuTensor,
  slot: AdapterSlot,
  coef: number,
  partialOffset: number,
): void {
  ctx.dispatch({
    shader,
    entry: 'dem_backward',
    bindings: [undefined, theta, grad, partials],
    params: { format: 'uuuuuuf', values: [slot.inF, slot.outF, slot.R0, slot.offA, slot.offB, partialOffset, coef] },
    workgroups: [Math.ceil((2 * slot.R0) / 64)],
  });
}
