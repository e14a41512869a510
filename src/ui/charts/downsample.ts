// Chart series reduced to a few hundred points so a chart's render costs the same at step 50 and at step 50,000:
// min/max buckets keep every spike and dip a plot of that width could show.

/** Points per series a chart draws: more than the chart's width in pixels adds work, not detail. */
export const MAX_POINTS = 400;

/**
 * At most `max` (>= 2) of `xs`, in order: the first and the last, and per bucket of the points between them the one
 * with the lowest and the one with the highest `y` (a non-finite `y` is never chosen as an extreme). Returns `xs`
 * itself when it is short enough, so a memoised chart sees the same array.
 */
export function downsampleMinMax<T>(xs: readonly T[], max: number, y: (p: T) => number): readonly T[] {
  if (!(max >= 2)) {
    throw new RangeError(`downsampleMinMax: max must be at least 2 (got ${max}); pass the chart's point budget`);
  }
  const n = xs.length;
  if (n <= max) return xs;
  const buckets = Math.floor((max - 2) / 2);
  const out: T[] = [xs[0]];
  const inner = n - 2;
  for (let b = 0; b < buckets; b++) {
    const from = 1 + Math.floor((b * inner) / buckets),
      to = 1 + Math.floor(((b + 1) * inner) / buckets);
    let lo = -1,
      hi = -1;
    for (let i = from; i < to; i++) {
      const v = y(xs[i]);
      if (!Number.isFinite(v)) continue;
      if (lo < 0 || v < y(xs[lo])) lo = i;
      if (hi < 0 || v > y(xs[hi])) hi = i;
    }
    if (lo < 0) continue;
    if (lo === hi) out.push(xs[lo]);
    else out.push(xs[Math.min(lo, hi)], xs[Math.max(lo, hi)]);
  }
  out.push(xs[n - 1]);
  return out;
}

/**
 * A step series (a value held until the next point: schedules, counts) reduced to the points where its value
 * changes, which draw the same steps, then min/max-bucketed to `max`.
 */
export function downsampleSteps<T>(xs: readonly T[], max: number, y: (p: T) => number): readonly T[] {
  const changes = xs.filter((p, i) => i === 0 || i === xs.length - 1 || y(p) !== y(xs[i - 1]));
  return downsampleMinMax(changes.length === xs.length ? xs : changes, max, y);
}

/**
 * Fills `key` of each row that lacks it with the value of the row before (rows sorted by step), from the first row
 * that has one: a step series merged with other series' rows then reads right at every row (tooltips).
 */
export function holdForward<R extends object, K extends keyof R>(rows: R[], key: K): R[] {
  let held: R[K] | undefined;
  for (const r of rows) {
    if (r[key] !== undefined) held = r[key];
    else if (held !== undefined) r[key] = held;
  }
  return rows;
}
