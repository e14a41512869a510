// Rotary position embeddings (RoPE) as transformers' Llama/Qwen models apply them, CPU reference and host-side tables.
// Layout: HF "rotate_half" (not Meta's interleaved pairs): channel i of a head pairs with channel i + D/2, both rotated
// by the angle pos * inv_freq[i]:
//   y[i] = x[i] cos - x[i + D/2] sin,   y[i + D/2] = x[i + D/2] cos + x[i] sin.
// The inverse frequencies (with llama3 scaling, transformers' _compute_llama3_parameters) and the cos/sin table are
// computed once on the host in float64; the kernels only rotate. The backward is the rotation by -angle.
// Reading rope settings from config.json is src/models/arch/llamaRope.ts's parseRopeConfig (ops do not import models).

import type { RopeParams } from '../tensor/backend';
import type { FArr } from './types';

/** rope_scaling as the engine understands it: none ('default') or Llama 3.1's frequency-dependent interpolation. */
export type RopeScaling =
  | { type: 'default' }
  | {
      type: 'llama3';
      factor: number;
      lowFreqFactor: number;
      highFreqFactor: number;
      originalMaxPositionEmbeddings: number;
    };

export interface RopeConfig {
  /** head_dim (even). */
  headDim: number;
  /** rope_theta, the frequency base. */
  theta: number;
  scaling: RopeScaling;
}

/** inv_freq[i] = theta^(-2i/D) for i < D/2, rescaled as transformers' _compute_llama3_parameters for llama3 scaling:
 * wavelengths 2 pi / inv_freq above old_ctx / low_freq_factor divide by factor, those below old_ctx / high_freq_factor
 * keep theirs, and those between blend with smooth = (old_ctx / wavelen - low) / (high - low). Float64. */
export function ropeInvFreq(cfg: RopeConfig): Float64Array {
  const half = cfg.headDim / 2;
  const inv = new Float64Array(half);
  for (let i = 0; i < half; i++) inv[i] = 1 / cfg.theta ** ((2 * i) / cfg.headDim);
  const s = cfg.scaling;
  if (s.type === 'llama3') {
    const old = s.originalMaxPositionEmbeddings;
    const lowWavelen = old / s.lowFreqFactor,
      highWavelen = old / s.highFreqFactor;
    for (let i = 0; i < half; i++) {
      const wavelen = (2 * Math.PI) / inv[i];
      if (wavelen > lowWavelen) inv[i] /= s.factor;
      else if (wavelen >= highWavelen) {
        const smooth = (old / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
        inv[i] = ((1 - smooth) * inv[i]) / s.factor + smooth * inv[i];
      }
    }
  }
  return inv;
}

/** The table the rope kernels read: (positions, D), row p = [cos(p inv_freq) | sin(p inv_freq)] (D/2 each), angles
 * and their cos/sin in float64, stored as f32. */
export function ropeTable(cfg: RopeConfig, positions: number): Float32Array {
  return fillRopeTable(new Float32Array(positions * cfg.headDim), cfg, positions);
}

/** Writes ropeTable's contents into `out` (a Float64Array keeps them exact for finite-difference checks). */
export function fillRopeTable<A extends FArr>(out: A, cfg: RopeConfig, positions: number): A {
  const D = cfg.headDim,
    half = D / 2;
  const inv = ropeInvFreq(cfg);
  for (let p = 0; p < positions; p++) {
    for (let i = 0; i < half; i++) {
      const a = p * inv[i];
      out[p * D + i] = Math.cos(a);
      out[p * D + half + i] = Math.sin(a);
    }
  }
  return out;
}

/** Throws when D is odd or a buffer is too small for the views p describes (sizes in elements). */
export function checkRopeSizes(p: RopeParams, sizes: { out: number; x: number; table: number }): void {
  const { B, T, H, D } = p;
  const pos0 = p.posOffset ?? 0;
  const bad: string[] = [];
  if (D % 2 !== 0) bad.push(`D must be even`);
  if (!Number.isInteger(pos0) || pos0 < 0) bad.push(`posOffset ${pos0} must be a non-negative integer`);
  if (p.offset + H * D > p.stride) bad.push(`view [${p.offset}, ${p.offset + H * D}) exceeds the stride ${p.stride}`);
  const need = B * T * p.stride;
  if (sizes.x < need) bad.push(`x ${sizes.x} < ${need}`);
  if (sizes.out < need) bad.push(`out ${sizes.out} < ${need}`);
  const tableNeed = (pos0 + T) * D;
  if (sizes.table < tableNeed) bad.push(`table ${sizes.table} < ${tableNeed} (positions up to ${pos0 + T - 1})`);
  if (bad.length) throw new RangeError(`rope B=${B} T=${T} H=${H} D=${D}: ${bad.join(', ')}`);
}

function rotate(out: FArr, x: FArr, table: FArr, p: RopeParams, sign: 1 | -1): void {
  checkRopeSizes(p, { out: out.length, x: x.length, table: table.length });
  const { B, T, H, D } = p;
  const half = D / 2,
    pos0 = p.posOffset ?? 0;
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const row = (pos0 + t) * D;
      for (let h = 0; h < H; h++) {
        const o = (b * T + t) * p.stride + p.offset + h * D;
        for (let i = 0; i < half; i++) {
          const c = table[row + i],
            s = sign * table[row + half + i];
          const x1 = x[o + i],
            x2 = x[o + half + i];
          out[o + i] = x1 * c - x2 * s;
          out[o + half + i] = x2 * c + x1 * s;
        }
      }
    }
  }
}

/** out = rope(x) on the view p describes (other channels of out untouched); out may be x (in place). */
export function ropeRef(out: FArr, x: FArr, table: FArr, p: RopeParams): void {
  rotate(out, x, table, p, 1);
}

/** dx = the rotation of dout by -angle (the transpose of the forward); dx may be dout (in place). */
export function ropeBackwardRef(dx: FArr, dout: FArr, table: FArr, p: RopeParams): void {
  rotate(dx, dout, table, p, -1);
}
