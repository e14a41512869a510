// What a network's backward recomputes instead of keeping from the forward (RunConfig.recompute, the memory plan).

/** 'none': every block keeps its activations. 'attention': the blocks share one buffer of attention probabilities
 * (B x H x T x T, the term that grows with T squared) and the backward reruns each block's attention forward from its
 * kept q, k and v just before the attention backward (the last block's are still there): one attention forward per
 * block more. 'blocks': each block keeps only its input and the backward reruns the whole block's forward (about a
 * third more compute per step). Every mode gives the same losses and gradients (the kernels are deterministic). */
export type Recompute = 'none' | 'attention' | 'blocks';

export const RECOMPUTE_MODES: readonly Recompute[] = ['none', 'attention', 'blocks'];

/** A stored setting as a mode, or undefined (not set): earlier checkpoints and saved settings held a boolean (true:
 * whole blocks; false: not set). */
export function recomputeMode(v: unknown): Recompute | undefined {
  if (v === true) return 'blocks';
  return RECOMPUTE_MODES.includes(v as Recompute) ? (v as Recompute) : undefined;
}
