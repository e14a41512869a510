// What a network's backward recomputes instead of keeping from the forward (RunConfig.recompute, the memory plan).

/** 'none': every block keeps its activations. 'selective' (Korthikanti et al. 2022's selective recomputation): what is
 * large but cheap to rerun is kept once, not per block: the attention probabilities (B x H x T x T, the term that grows
 * with T squared) and, in pre-norm blocks (GPT-2, the Llama family), the norm outputs (N x C, two per block). The
 * backward reruns each block's attention forward from its kept q, k and v just before its attention backward, and
 * each norm from its kept input and statistics just before the projections that read it: one attention forward and
 * two row-wise passes per block more. 'blocks': each block keeps only its input and the backward reruns the whole
 * block's forward (about a third more compute per step). Every mode gives the same losses and gradients (the kernels
 * are deterministic). */
export type Recompute = 'none' | 'selective' | 'blocks';

export const RECOMPUTE_MODES: readonly Recompute[] = ['none', 'selective', 'blocks'];

/** A stored setting as a mode, or undefined (not set): earlier checkpoints and saved settings held a boolean (true:
 * whole blocks; false: not set). */
export function recomputeMode(v: unknown): Recompute | undefined {
  if (v === true) return 'blocks';
  return RECOMPUTE_MODES.includes(v as Recompute) ? (v as Recompute) : undefined;
}
