// Launchers for shaders/adapter.wgsl. adapterPlan lists each pass's dispatches (entry, grid, FLOPs) from the call
// alone, so the grids the kernels run on and the work they do are inspectable and scale with liveCount:
// pruned components cost neither dispatches nor memory traffic. Shapes and offsets are uniform params: no pipeline
// is created per module or per live count.

import code from '../../../shaders/adapter.wgsl?raw';
import dropMask from '../../../shaders/drop_mask.wgsl?raw';
import { checkAdapterCall, checkAdapterSlot, checkAdapterSlots, MAX_IMPORTANCE_R0 } from '../../ops/adapter';
import type { AdapterCall, AdapterSlot, DropoutMask } from '../../tensor/backend';
import type { GpuContext, GpuTensor } from '../context';
import { dropMaskFields } from './dropout';

const shader = { name: 'adapter', code, prelude: dropMask };
const FORMAT = 'uuuuuuiuufuufu';
/** Output rows (and columns) per expansion workgroup, and live columns per reduction workgroup (see adapter.wgsl). */
const TR = 32,
  TJ = 8;

/** How the reductions (adapter_forward_h, _backward_du, _db, _da) lay out their work: output rows per invocation
 * (RPT; a workgroup owns 8 * RPT rows) and slices of the reduced dimension per workgroup (KS; 8 x 8 x KS
 * invocations, each slice every KS-th tile, partial sums added in slice order). */
export interface AdapterReductionLayout {
  rowsPerInvocation: 1 | 4;
  slices: 1 | 4;
}

/** 'auto' slices the reduced dimension on GPUs; 'off' keeps one slice there (the layout before the split, which the
 * benchmark times against it). */
export type AdapterReductionSplit = 'auto' | 'off';
let reductionSplit: AdapterReductionSplit = 'auto';

export function setAdapterReductionSplit(s: AdapterReductionSplit): void {
  reductionSplit = s;
}

/** On GPUs, where these latency-bound kernels want many invocations: 1 row per invocation (4x the workgroups) and 4
 * slices (4x the invocations per workgroup, a quarter of the serial tiles). Under CPU emulation (ctx.barrierFree),
 * where more workgroups and slices only repeat work: 4 rows, 1 slice (docs/design.md, "Adapter reductions"). */
export function adapterReductionLayout(ctx: Pick<GpuContext, 'barrierFree'>): AdapterReductionLayout {
  if (ctx.barrierFree) return { rowsPerInvocation: 4, slices: 1 };
  return { rowsPerInvocation: 1, slices: reductionSplit === 'off' ? 1 : 4 };
}

/** Whether the backward's independent passes share dispatches (du with db, da with dx): 'auto' on GPUs, where a
 * workgroup-uniform branch should cost nothing and the two passes' workgroups fill the chip together; never under CPU
 * emulation, where the fused SmolLM2-shaped LoRA step took 24% longer on SwiftShader (as if it ran both sides of the
 * branch, masked, in every workgroup; docs/design.md, "Fused backward dispatches"). 'off' keeps four dispatches
 * everywhere (the benchmark times it against 'auto'). */
export type AdapterBackwardFusion = 'auto' | 'off';
let backwardFusion: AdapterBackwardFusion = 'auto';
export function setAdapterBackwardFusion(f: AdapterBackwardFusion): void {
  backwardFusion = f;
}
export function adapterBackwardFused(ctx: Pick<GpuContext, 'barrierFree'>): boolean {
  return backwardFusion === 'auto' && !ctx.barrierFree;
}

/** One dispatch of an adapter pass: its entry point, workgroup grid and floating-point operations (2 per FMA). A
 * fused dispatch (adapter_backward_du_db, _da_dx) runs two independent passes, its `parts`, each on its own (x, y)
 * grid; the dispatch's grid holds both flattened (the first part's workgroups first, see adapter.wgsl). */
export interface PlannedDispatch {
  entry: string;
  workgroups: [number, number];
  flops: number;
  parts?: PlannedPart[];
}

interface PlannedPart {
  pass: 'du' | 'db' | 'da' | 'dx';
  workgroups: [number, number];
  flops: number;
}

const cdiv = (a: number, b: number): number => Math.ceil(a / b);
/** The most workgroups per row of a fused dispatch's flattened grid: the WebGPU default limit per dimension. The
 * kernels read the row width from the grid, so any width computes the same; tests set a small one to run grids of
 * several rows at small shapes. */
let fusedRowWidth = 65535;
export function setAdapterFusedRowWidth(w: number): void {
  fusedRowWidth = w;
}

/** A dispatch running `parts` one after another in one flattened grid: (n, 1), or rows of fusedRowWidth for more. */
function fusedDispatch(entry: string, parts: PlannedPart[]): PlannedDispatch {
  const live = parts.filter((q) => q.workgroups[0] > 0 && q.workgroups[1] > 0);
  const n = live.reduce((s, q) => s + q.workgroups[0] * q.workgroups[1], 0);
  return {
    entry,
    workgroups: n === 0 ? [0, 0] : [Math.min(n, fusedRowWidth), cdiv(n, fusedRowWidth)],
    flops: parts.reduce((s, q) => s + q.flops, 0),
    parts,
  };
}

/** The dispatches of a forward or backward pass, in recording order; one with a zero-sized grid is not recorded.
 * `withDx`: the backward adds x's gradient (backward_dx; true unless the caller has no dx). `fused`
 * (adapterBackwardFused): the backward's independent passes share dispatches, du with db (both read dy) and da with
 * dx (both read the final dh), so a LoRA module's backward is 2 dispatches and a dynamic-rank one's 3 (dc between
 * them) rather than 4 and 5. */
export function adapterPlan(
  a: AdapterCall,
  pass: 'forward' | 'backward',
  rowsPerInvocation: 1 | 4 = 1,
  withDx = true,
  fused = true,
): PlannedDispatch[] {
  const { N, inF, outF } = a,
    L = a.liveCount,
    TRR = 8 * rowsPerInvocation,
    ly = cdiv(L, TJ);
  if (pass === 'forward') {
    return [
      { entry: 'adapter_forward_h', workgroups: [cdiv(N, TRR), ly], flops: 2 * N * L * inF },
      // With no live component y is unchanged: skip rather than add zeros.
      {
        entry: 'adapter_forward_y',
        workgroups: L > 0 ? [cdiv(outF, TR), cdiv(N, TR)] : [0, 0],
        flops: 2 * N * L * outF,
      },
    ];
  }
  const du: PlannedPart = { pass: 'du', workgroups: [cdiv(N, TRR), ly], flops: 2 * N * L * outF },
    db: PlannedPart = { pass: 'db', workgroups: [cdiv(outF, TRR), ly], flops: 2 * N * L * outF },
    da: PlannedPart = { pass: 'da', workgroups: [cdiv(inF, TRR), ly], flops: 2 * N * L * inF },
    // dx accumulates: nothing to add when nothing is live (a fused grid is then empty too).
    dx: PlannedPart = {
      pass: 'dx',
      workgroups: withDx && L > 0 ? [cdiv(inF, TR), cdiv(N, TR)] : [0, 0],
      flops: withDx ? 2 * N * L * inF : 0,
    };
  const alone = (q: PlannedPart): PlannedDispatch => ({
    entry: `adapter_backward_${q.pass}`,
    workgroups: q.workgroups,
    flops: q.flops,
  });
  const dc: PlannedDispatch[] =
    a.offC >= 0 ? [{ entry: 'adapter_backward_dc', workgroups: [L, 1], flops: 2 * N * L }] : [];
  if (!fused) return [alone(du), alone(db), ...dc, alone(da), alone(dx)];
  return [
    fusedDispatch('adapter_backward_du_db', [du, db]),
    ...dc,
    withDx ? fusedDispatch('adapter_backward_da_dx', [da, dx]) : alone(da),
  ];
}

/** FLOPs of the adapter's forward + backward for this call (proportional to liveCount). */
export function adapterFlops(a: AdapterCall): number {
  return [...adapterPlan(a, 'forward'), ...adapterPlan(a, 'backward')].reduce((s, d) => s + d.flops, 0);
}

function params(
  s: AdapterSlot,
  N: number,
  scale: number,
  liveOffset: number,
  liveCount: number,
  dropout?: DropoutMask,
) {
  return {
    format: FORMAT,
    values: [N, s.inF, s.outF, s.R0, s.offA, s.offB, s.offC, liveOffset, liveCount, scale, ...dropMaskFields(dropout)],
  };
}

function checkGrid(ctx: GpuContext, d: PlannedDispatch): void {
  const max = ctx.limits.maxComputeWorkgroupsPerDimension;
  if (d.workgroups[0] > max || d.workgroups[1] > max)
    throw new Error(`adapter: ${d.entry} grid exceeds ${max} per dimension`);
}

const layoutDefines = (l: AdapterReductionLayout) => ({ RPT: l.rowsPerInvocation, KS: l.slices });

/** Records a pass's planned dispatches (adapterPlan at this device's reduction layout) with each entry's bindings. */
function dispatchPlan(
  ctx: GpuContext,
  a: AdapterCall,
  pass: 'forward' | 'backward',
  bind: Record<string, (GpuTensor | undefined)[]>,
  withDx = true,
): void {
  const layout = adapterReductionLayout(ctx);
  const defines = layoutDefines(layout);
  const prm = params(a, a.N, a.scale, a.liveOffset, a.liveCount, a.dropout);
  for (const d of adapterPlan(a, pass, layout.rowsPerInvocation, withDx, adapterBackwardFused(ctx))) {
    // An empty grid records nothing (and backward_dx without a dx has nothing to bind).
    if (d.workgroups[0] === 0 || d.workgroups[1] === 0) continue;
    checkGrid(ctx, d);
    ctx.dispatch({ shader, entry: d.entry, bindings: bind[d.entry], params: prm, defines, workgroups: d.workgroups });
  }
}

/** h(N,live) = xd A_live^T;  y(N,outF) += scale * (h * c_live) B_live^T, xd = dropout(x) under a.dropout (drawn as
 * forward_h stages x). h is (N,R0) scratch. */
export function adapterForward(
  ctx: GpuContext,
  y: GpuTensor,
  h: GpuTensor,
  x: GpuTensor,
  theta: GpuTensor,
  live: GpuTensor,
  a: AdapterCall,
): void {
  checkAdapterCall(a, { theta: theta.size, live: live.size, h: h.size, x: x.size, y: y.size });
  dispatchPlan(ctx, a, 'forward', {
    adapter_forward_h: [undefined, h, undefined, theta, live, x],
    adapter_forward_y: [undefined, y, undefined, theta, live, undefined, h],
  });
}

/** From dy(N,outF): dx(N,inF) += dh A_live through a.dropout's mask (skipped when dx is null); grad accumulates dA,
 * dB, dc of the live components (dA from x dropped as the forward dropped it); dh (N,R0) is scratch. theta and grad
 * are bound read-only and writable respectively, never the same buffer. */
export function adapterBackward(
  ctx: GpuContext,
  dx: GpuTensor | null,
  dh: GpuTensor,
  grad: GpuTensor,
  dy: GpuTensor,
  h: GpuTensor,
  x: GpuTensor,
  theta: GpuTensor,
  live: GpuTensor,
  a: AdapterCall,
): void {
  checkAdapterCall(a, {
    theta: theta.size,
    live: live.size,
    h: Math.min(h.size, dh.size),
    x: Math.min(x.size, dx ? dx.size : x.size),
    y: dy.size,
  });
  checkAdapterSlot(a, grad.size);
  dispatchPlan(
    ctx,
    a,
    'backward',
    {
      adapter_backward_du: [undefined, dh, undefined, theta, live, dy],
      adapter_backward_db: [undefined, undefined, grad, theta, live, dy, h],
      adapter_backward_du_db: [undefined, dh, grad, theta, live, dy, h],
      adapter_backward_dc: [undefined, dh, grad, theta, live, undefined, h],
      adapter_backward_da: [undefined, undefined, grad, undefined, live, x, dh],
      adapter_backward_dx: [undefined, dx ?? undefined, undefined, theta, live, undefined, dh],
      adapter_backward_da_dx: [undefined, dx ?? undefined, grad, theta, live, x, dh],
    },
    dx !== null,
  );
}

/** For every module m of the set: scores[m R0 + i] = |c_i| |a_i| |b_i| / (|sum_j c_j b_j a_j^T|_F + 1e-8) for its R0
 * (<= MAX_IMPORTANCE_R0) components, from the Gram matrices of A and B in chunks of pairs: one dispatch, one
 * workgroup per module, each reading its slot from `table` (adapterSlotTable of `slots`). */
export function adapterImportance(
  ctx: GpuContext,
  scores: GpuTensor,
  theta: GpuTensor,
  slots: readonly AdapterSlot[],
  table: GpuTensor,
): void {
  if (slots.length === 0) return;
  const R0 = checkAdapterSlots(slots, theta.size, table.size, 'adapterImportance');
  if (R0 < 1 || R0 > MAX_IMPORTANCE_R0) throw new Error(`adapterImportance: R0 ${R0} not in [1, ${MAX_IMPORTANCE_R0}]`);
  if (scores.size < slots.length * R0) throw new Error(`adapterImportance: scores needs ${slots.length * R0} elements`);
  ctx.dispatch({
    shader,
    entry: 'adapter_importance_forward',
    bindings: [undefined, scores, undefined, theta, undefined, undefined, undefined, table],
    params: params(slots[0], 0, 0, 0, 0),
    defines: layoutDefines(adapterReductionLayout(ctx)),
    workgroups: [slots.length],
  });
}
