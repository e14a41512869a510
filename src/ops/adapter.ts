// Low-rank adapter (LoRA and the dynamic-rank components of Mao et al. 2024), CPU reference, sums in float64.
// y += s * B diag(c) A xd over the live components only; theta packs every module's A (R0,inF), B (outF,R0) and
// c (R0) at the slot's offsets, and grad is packed the same way. h and dh are (N,R0) with live column j compact.
// Importance: ||dW_i||_F / ||sum_j dW_j||_F from the R0xR0 Gram matrices of A's rows and B's columns (METHOD.md §2).
// Input dropout (a.dropout) is the dropout op's mask over x (N,inF): xd = dropoutRef(x), dx += dropoutBackwardRef(dxd),
// computed here into temporaries as the GPU kernels draw it element by element.

import type { AdapterCall, AdapterSlot } from '../tensor/backend';
import { dropoutBackwardRef, dropoutRef } from './dropout';
import type { FArr, IArr } from './types';

/** Largest R0 the importance score supports (the GPU kernel's workgroup arrays, shaders/adapter.wgsl MAX_R0). */
export const MAX_IMPORTANCE_R0 = 256;

function need(n: number, have: number, what: string): void {
  if (have < n) throw new Error(`adapter: ${what} has ${have} elements, needs ${n}`);
}

/** Checks a slot against the packed parameter tensor's size. */
export function checkAdapterSlot(s: AdapterSlot, thetaSize: number): void {
  need(s.offA + s.R0 * s.inF, thetaSize, 'theta (A)');
  need(s.offB + s.outF * s.R0, thetaSize, 'theta (B)');
  if (s.offC >= 0) need(s.offC + s.R0, thetaSize, 'theta (c)');
}

/** i32 fields per module of an adapter slot table (adapterSlotTable). */
export const SLOT_FIELDS = 5;

/** The slots of an adapter set as the kernels over all its modules read them: per module inF, outF, offA, offB, offC
 * (-1 for LoRA). R0 is one for the whole set (the kernels take it as a parameter); a mix is refused. */
export function adapterSlotTable(slots: readonly AdapterSlot[]): Int32Array {
  const t = new Int32Array(slots.length * SLOT_FIELDS);
  slots.forEach((s, m) => {
    if (s.R0 !== slots[0].R0) throw new Error(`adapter slots: R0 ${s.R0} of module ${m} differs from ${slots[0].R0}`);
    t.set([s.inF, s.outF, s.offA, s.offB, s.offC], m * SLOT_FIELDS);
  });
  return t;
}

/** Checks the slots of an adapter set (one R0, each inside a parameter tensor of thetaSize) and its slot table's size,
 * for the kernels over all its modules (`what` names the caller); returns the set's R0. */
export function checkAdapterSlots(
  slots: readonly AdapterSlot[],
  thetaSize: number,
  tableSize: number,
  what: string,
): number {
  const R0 = slots[0].R0;
  for (const s of slots) {
    checkAdapterSlot(s, thetaSize);
    if (s.R0 !== R0) throw new Error(`${what}: modules of R0 ${R0} and ${s.R0} in one set`);
  }
  if (tableSize < slots.length * SLOT_FIELDS)
    throw new Error(`${what}: the slot table holds ${tableSize / SLOT_FIELDS} of ${slots.length} modules`);
  return R0;
}

/** Checks every tensor size an adapter forward/backward touches; `sizes` holds the ones given. */
export function checkAdapterCall(
  a: AdapterCall,
  sizes: { theta: number; live: number; h: number; x: number; y: number },
): void {
  checkAdapterSlot(a, sizes.theta);
  if (a.liveCount < 0 || a.liveCount > a.R0)
    throw new Error(`adapter: liveCount ${a.liveCount} not in [0, R0=${a.R0}]`);
  need(a.liveOffset + a.liveCount, sizes.live, 'live');
  need(a.N * a.R0, sizes.h, 'h/dh');
  need(a.N * a.inF, sizes.x, 'x/dx');
  need(a.N * a.outF, sizes.y, 'y/dy');
}

/** The live component indices of a call, validated against R0. */
function liveList(live: IArr, a: AdapterCall): number[] {
  const l = Array.from(live.subarray(a.liveOffset, a.liveOffset + a.liveCount));
  for (const i of l) if (i < 0 || i >= a.R0) throw new Error(`adapter: live index ${i} not in [0, ${a.R0})`);
  return l;
}

const coef = (theta: FArr, a: AdapterSlot, i: number): number => (a.offC < 0 ? 1 : theta[a.offC + i]);

/** An array of n elements of a's type (f32 stays f32, so rounding matches a stored tensor). */
const like = (a: FArr, n: number): FArr => (a instanceof Float32Array ? new Float32Array(n) : new Float64Array(n));

const dropP = (a: AdapterCall): number => a.dropout?.p ?? 0;

/** The dropped input xd = dropout(x) under a.dropout, else x itself. */
function droppedInput(x: FArr, a: AdapterCall): FArr {
  if (!a.dropout || dropP(a) === 0) return x;
  const n = a.N * a.inF,
    xd = like(x, n);
  dropoutRef(xd, x.subarray(0, n), a.dropout.p, a.dropout.seed, a.dropout.offset ?? 0);
  return xd;
}

/** h[n,j] = sum_k xd[n,k] A[live_j,k];  y[n,o] += scale * sum_j h[n,j] c[live_j] B[o,live_j]; xd = dropout(x). */
export function adapterForwardRef(y: FArr, h: FArr, x: FArr, theta: FArr, live: IArr, a: AdapterCall): void {
  checkAdapterCall(a, { theta: theta.length, live: live.length, h: h.length, x: x.length, y: y.length });
  const xd = droppedInput(x, a);
  const { N, inF, outF, R0, offA, offB } = a;
  const l = liveList(live, a),
    L = l.length;
  for (let n = 0; n < N; n++) {
    for (let j = 0; j < L; j++) {
      let s = 0;
      for (let k = 0; k < inF; k++) s += xd[n * inF + k] * theta[offA + l[j] * inF + k];
      h[n * R0 + j] = s;
    }
    for (let o = 0; o < outF; o++) {
      let s = 0;
      for (let j = 0; j < L; j++) s += h[n * R0 + j] * coef(theta, a, l[j]) * theta[offB + o * R0 + l[j]];
      y[n * outF + o] += a.scale * s;
    }
  }
}

/** From dy(N,outF): grad accumulates dA, dB (and dc unless LoRA) of the live components; dh (N,R0) is written;
 * dx(N,inF) (unless null) accumulates x's gradient, dxd = dh A through the dropout's mask. */
export function adapterBackwardRef(
  dx: FArr | null,
  dh: FArr,
  grad: FArr,
  dy: FArr,
  h: FArr,
  x: FArr,
  theta: FArr,
  live: IArr,
  a: AdapterCall,
): void {
  checkAdapterCall(a, {
    theta: theta.length,
    live: live.length,
    h: Math.min(h.length, dh.length),
    x: Math.min(x.length, dx ? dx.length : x.length),
    y: dy.length,
  });
  checkAdapterSlot(a, grad.length);
  const xd = droppedInput(x, a);
  const { N, inF, outF, R0, offA, offB, offC, scale } = a;
  const l = liveList(live, a),
    L = l.length;
  // du[n,j] = sum_o dy[n,o] B[o,live_j]  (the gradient of h*c before the scale)
  const du = new Float64Array(N * L);
  for (let n = 0; n < N; n++) {
    for (let j = 0; j < L; j++) {
      let s = 0;
      for (let o = 0; o < outF; o++) s += dy[n * outF + o] * theta[offB + o * R0 + l[j]];
      du[n * L + j] = s;
    }
  }
  for (let j = 0; j < L; j++) {
    const c = coef(theta, a, l[j]);
    // dB[o,live_j] += scale c_j sum_n dy[n,o] h[n,j]
    for (let o = 0; o < outF; o++) {
      let s = 0;
      for (let n = 0; n < N; n++) s += dy[n * outF + o] * h[n * R0 + j];
      grad[offB + o * R0 + l[j]] += scale * c * s;
    }
    // dc[live_j] += scale sum_n du[n,j] h[n,j]
    if (offC >= 0) {
      let s = 0;
      for (let n = 0; n < N; n++) s += du[n * L + j] * h[n * R0 + j];
      grad[offC + l[j]] += scale * s;
    }
    // dh[n,j] = scale c_j du[n,j]
    for (let n = 0; n < N; n++) dh[n * R0 + j] = scale * c * du[n * L + j];
  }
  // dA[live_j,k] += sum_n dh[n,j] xd[n,k]
  for (let j = 0; j < L; j++) {
    for (let k = 0; k < inF; k++) {
      let s = 0;
      for (let n = 0; n < N; n++) s += dh[n * R0 + j] * xd[n * inF + k];
      grad[offA + l[j] * inF + k] += s;
    }
  }
  if (!dx || L === 0) return;
  // dxd[n,k] = sum_j dh[n,j] A[live_j,k], stored at dx's precision; then dx += dxd through the dropout's mask.
  const dxd = like(dx, N * inF);
  for (let n = 0; n < N; n++) {
    for (let k = 0; k < inF; k++) {
      let s = 0;
      for (let j = 0; j < L; j++) s += dh[n * R0 + j] * theta[offA + l[j] * inF + k];
      dxd[n * inF + k] = s;
    }
  }
  if (a.dropout && dropP(a) > 0) {
    dropoutBackwardRef(dx.subarray(0, N * inF), dxd, a.dropout.p, a.dropout.seed, a.dropout.offset ?? 0);
  } else {
    for (let i = 0; i < N * inF; i++) dx[i] += dxd[i];
  }
}

/** Gram matrices GA[i][j] = a_i.a_j (rows of A) and GB[i][j] = b_i.b_j (columns of B), R0xR0 row-major, float64. */
function adapterGrams(theta: FArr, s: AdapterSlot): { GA: Float64Array; GB: Float64Array } {
  const { R0, inF, outF, offA, offB } = s;
  const GA = new Float64Array(R0 * R0),
    GB = new Float64Array(R0 * R0);
  for (let i = 0; i < R0; i++) {
    for (let j = i; j < R0; j++) {
      let ga = 0,
        gb = 0;
      for (let k = 0; k < inF; k++) ga += theta[offA + i * inF + k] * theta[offA + j * inF + k];
      for (let o = 0; o < outF; o++) gb += theta[offB + o * R0 + i] * theta[offB + o * R0 + j];
      GA[i * R0 + j] = GA[j * R0 + i] = ga;
      GB[i * R0 + j] = GB[j * R0 + i] = gb;
    }
  }
  return { GA, GB };
}

/** scores[scoreOffset + i] = |c_i| |a_i| |b_i| / (|sum_j c_j b_j a_j^T|_F + 1e-8), for the slot's R0 components:
 * ||dW_i||_F = |c_i| sqrt(GA_ii GB_ii) and ||dW||_F^2 = sum_ij c_i c_j GA_ij GB_ij (trace of dW^T dW). */
export function adapterImportanceRef(scores: FArr, theta: FArr, s: AdapterSlot, scoreOffset: number): void {
  checkAdapterSlot(s, theta.length);
  need(scoreOffset + s.R0, scores.length, 'scores');
  const { R0 } = s;
  const { GA, GB } = adapterGrams(theta, s);
  let fro2 = 0;
  for (let i = 0; i < R0; i++) {
    for (let j = 0; j < R0; j++) fro2 += coef(theta, s, i) * coef(theta, s, j) * GA[i * R0 + j] * GB[i * R0 + j];
  }
  // Rounding can leave a tiny negative sum when the components cancel; the true value is >= 0.
  const denom = Math.sqrt(Math.max(fro2, 0)) + 1e-8;
  for (let i = 0; i < R0; i++) {
    scores[scoreOffset + i] = (Math.abs(coef(theta, s, i)) * Math.sqrt(GA[i * R0 + i] * GB[i * R0 + i])) / denom;
  }
}
