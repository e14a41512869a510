// The page's chart and heatmap colours (kept in one place so charts, the heatmap and its SVG export agree).

export const COLORS = {
  grid: '#e7e9ec',
  axis: '#5f6b7a',
  loss: '#2f6f8f',
  lr: '#8a6fb0',
  val: '#c2410c',
  target: '#b07d2b',
  live: '#2f6f8f',
};

/** Colours of overlaid runs' loss curves, by the run's place in the run list (apart from COLORS.loss). */
const RUN_COLORS = ['#15803d', '#9333ea', '#b45309', '#0e7490', '#be185d', '#4d7c0f', '#6b7280', '#dc2626'];

export const runColor = (i: number): string => RUN_COLORS[i % RUN_COLORS.length];

/** Heatmap cell colour for `v` live components out of `max`: from a pale grey-blue (0) to a deep blue (max). */
export function heatColor(v: number, max: number): string {
  const t = max > 0 ? Math.min(1, Math.max(0, v / max)) : 0;
  const lo = [241, 244, 247],
    hi = [29, 78, 107];
  const c = lo.map((l, i) => Math.round(l + (hi[i] - l) * t));
  return `rgb(${c[0]}, ${c[1]}, ${c[2]})`;
}

/** Text colour readable on heatColor(v, max). */
export function heatInk(v: number, max: number): string {
  return max > 0 && v / max > 0.5 ? '#ffffff' : '#1f2933';
}
