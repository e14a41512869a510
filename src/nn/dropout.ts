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
}

/** Rate and mask seed of one dropout site. */
export interface SiteDropout {
  p: number;
  seed: number;
}

/** The (p, seed) of a site when it drops: training mode and p > 0; null otherwise. */
export function siteDropout(mode: DropoutMode, p: number | undefined, site: number): SiteDropout | null {
  if (mode.dropoutSeed === null || !p) return null;
  return { p, seed: siteSeed(mode.dropoutSeed, site) };
}
