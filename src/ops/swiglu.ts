// SwiGLU, the Llama-family MLP activation, CPU reference: out = silu(gate) * up with silu(x) = x * sigmoid(x), over
// gate and up as separate tensors (the outputs of the gate_proj and up_proj matmuls), elementwise.

import type { FArr } from './types';

/** sigmoid(x) without overflow: exp only ever sees -|x|. */
export function sigmoid(x: number): number {
  const e = Math.exp(-Math.abs(x));
  return x >= 0 ? 1 / (1 + e) : e / (1 + e);
}

/** out = silu(gate) * up over out.length elements. */
export function swigluRef(out: FArr, gate: FArr, up: FArr): void {
  for (let i = 0; i < out.length; i++) out[i] = gate[i] * sigmoid(gate[i]) * up[i];
}

/** dgate = dout * up * silu'(gate) with silu'(x) = s (1 + x (1 - s)), s = sigmoid(x); dup = dout * silu(gate).
 * Both overwritten. */
export function swigluBackwardRef(dgate: FArr, dup: FArr, dout: FArr, gate: FArr, up: FArr): void {
  for (let i = 0; i < dout.length; i++) {
    const x = gate[i],
      s = sigmoid(x);
    dgate[i] = dout[i] * up[i] * s * (1 + x * (1 - s));
    dup[i] = dout[i] * x * s;
  }
}
