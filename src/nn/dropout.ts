// The backbone's own dropout (transformers' train mode): which sites drop, and a seed per site and step so the
// backward redraws the forward's mask and a resumed run draws the same masks as an uninterrupted one.

import { pcgHash } from '../ops/dropout';

/** Seed of dropout site `site` at training seed `seed` (the step): independent across sites and steps. */
function siteSeed(seed: number, site: number): number {
  return pcgHash((pcgHash(seed >>> 0) ^ Math.imul(site + 1, 0x9e3779b1)) >>> 0);
}

/** Training mode of a network: the seed of the current step, or null in eval mode (no dropout anywhere). */
export interface DropoutMode {
  dropoutSeed: number | null;
  /** First batch row of the current micro-batch within the step's batch (0 without micro-batches): every mask is
   * drawn at the elements these rows have in the whole batch's tensors, so micro-batches drop what one batch would. */
  dropoutFirstRow?: number;
}

/** Rate, mask seed and mask offset (elements) of one dropout site. */
export interface SiteDropout {
  p: number;
  seed: number;
  offset: number;
}

/** The (p, seed, offset) of a site when it drops: training mode and p > 0; null otherwise. `perRow`: the site tensor's
 * elements per batch row (T*C for activations, H*T*T for attention probabilities). */
export function siteDropout(
  mode: DropoutMode,
  p: number | undefined,
  site: number,
  perRow: number,
): SiteDropout | null {
  if (mode.dropoutSeed === null || !p) return null;
  return { p, seed: siteSeed(mode.dropoutSeed, site), offset: (mode.dropoutFirstRow ?? 0) * perRow };
}
