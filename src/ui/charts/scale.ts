// Axis arithmetic for the page's SVG charts: round tick values, linear maps, SVG paths, step thinning, lookup by x.
// Pure functions, so the charts' render is a few string joins and the maths is unit-tested.

import { thinPoints } from '../../store/derived';

/** Points drawn per line: more than a chart's width in pixels adds nothing but work. */
export const MAX_POINTS = 300;

export interface Pt {
  x: number;
  y: number;
}

export interface Ticks {
  /** The axis range: the data's range widened to whole ticks (or the fixed domain). */
  lo: number;
  hi: number;
  step: number;
  values: number[];
}

/** Decimals that print every multiple of `step` exactly (0.05 -> 2, 20 -> 0). */
export const decimalsOf = (step: number): number => Math.max(0, Math.min(10, -Math.floor(Math.log10(step) + 1e-9)));

/**
 * About `count` intervals of 1, 2 or 5 times a power of ten covering [lo, hi]. `fixed` keeps lo and hi as the
 * range (ticks inside it); otherwise the range grows to whole ticks. `integer` never steps below 1.
 */
export function niceTicks(lo: number, hi: number, count: number, opts: { integer?: boolean; fixed?: boolean } = {}): Ticks {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) [lo, hi] = [0, 1];
  if (hi < lo) [lo, hi] = [hi, lo];
  if (hi === lo) {
    const pad = opts.integer ? 1 : Math.abs(lo) * 0.05 || 1;
    [lo, hi] = [lo === 0 ? 0 : lo - pad, hi + pad];
  }
  const raw = (hi - lo) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const e = raw / mag;
  let step = mag * (e >= Math.sqrt(50) ? 10 : e >= Math.sqrt(10) ? 5 : e >= Math.sqrt(2) ? 2 : 1);
  if (opts.integer) step = Math.max(1, Math.round(step));
  const d = decimalsOf(step);
  const first = Math.ceil(lo / step - 1e-9), last = Math.floor(hi / step + 1e-9);
  const a = opts.fixed ? first : Math.floor(lo / step + 1e-9), b = opts.fixed ? last : Math.ceil(hi / step - 1e-9);
  const values: number[] = [];
  for (let i = a; i <= b; i++) values.push(Number((i * step).toFixed(d)));
  return opts.fixed ? { lo, hi, step, values } : { lo: values[0], hi: values[values.length - 1], step, values };
}

/** The linear map of [d0, d1] onto [r0, r1]. */
export function linear(d0: number, d1: number, r0: number, r1: number): (v: number) => number {
  const k = d1 === d0 ? 0 : (r1 - r0) / (d1 - d0);
  return (v) => r0 + (v - d0) * k;
}

const r1 = (v: number) => Math.round(v * 10) / 10;

/** An SVG path through the points: straight segments, or steps that hold each value until the next x. */
export function pathOf(points: readonly Pt[], sx: (v: number) => number, sy: (v: number) => number, step = false): string {
  if (!points.length) return '';
  const parts = [`M${r1(sx(points[0].x))},${r1(sy(points[0].y))}`];
  for (let i = 1; i < points.length; i++) {
    const x = r1(sx(points[i].x)), y = r1(sy(points[i].y));
    parts.push(step ? `H${x}V${y}` : `L${x},${y}`);
  }
  return parts.join('');
}

/** A step series reduced to the points where its value changes (drawn identically), then thinned to `max`. */
export function thinSteps(xs: Pt[], max: number): Pt[] {
  return thinPoints(xs.filter((p, i) => i === 0 || i === xs.length - 1 || p.y !== xs[i - 1].y), max);
}

/** Index of the point whose x is nearest to `x` (points sorted by x), or -1 for none; `atOrBefore` for step series. */
export function indexAt(points: readonly Pt[], x: number, atOrBefore = false): number {
  if (!points.length) return -1;
  let lo = 0, hi = points.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (points[mid].x <= x) lo = mid;
    else hi = mid - 1;
  }
  if (points[lo].x > x) return atOrBefore ? -1 : 0;
  if (atOrBefore || lo === points.length - 1) return lo;
  return x - points[lo].x <= points[lo + 1].x - x ? lo : lo + 1;
}
