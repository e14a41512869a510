// AdamW step and gradient-norm clip factor, CPU reference; both follow torch (optim.AdamW, nn.utils.clip_grad_norm_).
// The clip factor arrives as a 1-element tensor (gradScale) so a GPU step never reads it back.

import type { AdamWParams } from '../tensor/backend';
import type { FArr } from './types';

/** Bias-corrected step constants as torch computes them: lr / (1 - b1^t) and sqrt(1 - b2^t). */
export function adamwConstants(p: AdamWParams): { decay: number; stepSize: number; bc2Sqrt: number } {
  if (!(p.step >= 1)) throw new RangeError(`adamw: step must be >= 1 (1-based), got ${p.step}`);
  return {
    decay: 1 - p.lr * p.weightDecay,
    stepSize: p.lr / (1 - p.beta1 ** p.step),
    bc2Sqrt: Math.sqrt(1 - p.beta2 ** p.step),
  };
}

/** One torch.optim.AdamW step (decoupled weight decay) on param with g = grad * gradScale[0]; m, v updated in place. */
export function adamwRef(param: FArr, grad: FArr, m: FArr, v: FArr, gradScale: FArr, p: AdamWParams): void {
  const { decay, stepSize, bc2Sqrt } = adamwConstants(p);
  const gs = gradScale[0];
  if (gs < 0) return; // the clip factor marks a non-finite gradient: skip the step
  for (let i = 0; i < param.length; i++) {
    const g = grad[i] * gs;
    const mi = p.beta1 * m[i] + (1 - p.beta1) * g;
    const vi = p.beta2 * v[i] + (1 - p.beta2) * g * g;
    m[i] = mi;
    v[i] = vi;
    // torch's order: decay first, then param -= lr/bc1 * m / (sqrt(v)/sqrt(bc2) + eps), reading the stored
    // (possibly f32-rounded) moments as torch does.
    param[i] = param[i] * decay - (stepSize * m[i]) / (Math.sqrt(v[i]) / bc2Sqrt + p.eps);
  }
}

/** scale[0] = min(1, maxNorm / (sqrt(sumsq[0]) + 1e-6)), the factor torch.nn.utils.clip_grad_norm_ multiplies by. */
export function clipScaleRef(scale: FArr, sumsq: FArr, maxNorm: number): void {
  // -1 marks NaN/Inf gradients; adamwRef then leaves everything untouched.
  scale[0] = Number.isFinite(sumsq[0]) ? Math.min(1, maxNorm / (Math.sqrt(sumsq[0]) + 1e-6)) : -1;
}
