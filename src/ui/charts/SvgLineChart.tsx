// A small line chart drawn as one SVG: up to two y axes, linear or step series, a grid, a legend and a hover
// read-out. The page used recharts here: a recharts chart renders twice per data update (its data goes through its
// own store, then every axis, grid and line re-renders), about 40-50 ms of main-thread CPU per chart and update in
// the dev build, so the three charts made a 60-250 ms long task on every training step. This one is a memoised
// component of a few dozen elements whose paths are plain strings; grid and labels are reused while ticks hold.

import { memo, useMemo, useState, type PointerEvent } from 'react';
import { COLORS } from './colors';
import { indexAt, linear, niceTicks, pathOf, type Pt, type Ticks } from './scale';
import { useWidth } from './useWidth';

export interface Series {
  key: string;
  name: string;
  color: string;
  /** Sorted by x. */
  points: readonly Pt[];
  /** Hold each value until the next point (schedules, counts). */
  step?: boolean;
  axis?: 'left' | 'right';
  width?: number;
  dash?: string;
  opacity?: number;
  /** The value as the hover read-out shows it. */
  format(v: number): string;
}

export interface AxisSpec {
  /** A tick label; `step` is the distance between ticks (to choose the decimals). */
  format(v: number, step: number): string;
  /** Start the axis at 0 instead of just below the data. */
  zero?: boolean;
  integer?: boolean;
}

export interface LineChartProps {
  series: Series[];
  /** The x axis runs from 0 to xMax (the run's steps). */
  xMax: number;
  left: AxisSpec;
  right?: AxisSpec;
  height: number;
  /** What the chart shows, for screen readers (the latest values). */
  label: string;
}

const PAD = { top: 8, right: 8, bottom: 22 };
const CHAR_PX = 6.6;

function axisTicks(series: Series[], side: 'left' | 'right', spec: AxisSpec | undefined, plotH: number): Ticks | null {
  if (!spec) return null;
  let lo = spec.zero ? 0 : Infinity, hi = spec.zero ? 0 : -Infinity;
  for (const s of series) {
    if ((s.axis ?? 'left') !== side) continue;
    for (const p of s.points) if (Number.isFinite(p.y)) { if (p.y < lo) lo = p.y; if (p.y > hi) hi = p.y; }
  }
  return niceTicks(lo, hi, Math.max(2, Math.round(plotH / 45)), { integer: spec.integer });
}

const axisWidth = (t: Ticks | null, spec: AxisSpec | undefined) =>
  t && spec ? Math.ceil(8 + CHAR_PX * Math.max(...t.values.map((v) => spec.format(v, t.step).length))) : PAD.right;

export const SvgLineChart = memo(function SvgLineChart({ series, xMax, left, right, height, label }: LineChartProps) {
  const [box, width] = useWidth<HTMLDivElement>();
  const [hoverX, setHoverX] = useState<number | null>(null);
  const plotH = height - PAD.top - PAD.bottom;
  const layout = useMemo(() => {
    const lt = axisTicks(series, 'left', left, plotH)!;
    const rt = axisTicks(series, 'right', right, plotH);
    const x0 = axisWidth(lt, left), x1 = Math.max(x0 + 10, width - axisWidth(rt, right));
    const sx = linear(0, Math.max(xMax, 1), x0, x1);
    const yl = linear(lt.lo, lt.hi, PAD.top + plotH, PAD.top);
    const yr = rt ? linear(rt.lo, rt.hi, PAD.top + plotH, PAD.top) : yl;
    const xt = niceTicks(0, Math.max(xMax, 1), Math.max(2, Math.floor((x1 - x0) / 60)), { integer: true, fixed: true });
    const paths = series.map((s) => pathOf(s.points, sx, s.axis === 'right' ? yr : yl, s.step));
    return { lt, rt, x0, x1, sx, yl, yr, xt, paths };
  }, [series, xMax, left, right, plotH, width]);
  const { lt, rt, x0, x1, sx, yl, yr, xt, paths } = layout;

  const onMove = (e: PointerEvent<SVGRectElement>) => {
    const px = e.clientX - e.currentTarget.getBoundingClientRect().left + x0;
    setHoverX(Math.round(linear(x0, x1, 0, Math.max(xMax, 1))(px)));
  };
  const main = series[0]?.points ?? [];
  const at = hoverX === null ? -1 : indexAt(main, hoverX);
  const hx = at >= 0 ? main[at].x : null;
  // Grid, tick labels and legend change only when the ticks do; keyed by their values, the same elements are
  // reused across training steps and React skips them (a step then redraws the paths only).
  const tickKey = `${lt.values}|${rt?.values}|${xt.values}|${x0}|${x1}|${height}`;
  // biome-ignore lint/correctness/useExhaustiveDependencies: keyed by tickKey (the ticks), not the scale objects
  const axes = useMemo(() => (
    <g className="axes">
      {lt.values.map((v) => <line key={v} x1={x0} x2={x1} y1={yl(v)} y2={yl(v)} stroke={COLORS.grid} />)}
      <line x1={x0} x2={x1} y1={PAD.top + plotH} y2={PAD.top + plotH} className="axis" />
      {lt.values.map((v) => <text key={v} x={x0 - 5} y={yl(v)} dy="0.32em" textAnchor="end">{left.format(v, lt.step)}</text>)}
      {rt && right && rt.values.map((v) => <text key={v} x={x1 + 5} y={yr(v)} dy="0.32em">{right.format(v, rt.step)}</text>)}
      {xt.values.map((v) => <text key={v} x={sx(v)} y={height - 6} textAnchor={sx(v) > x1 - 8 ? 'end' : 'middle'}>{v}</text>)}
    </g>
  ), [tickKey, left, right]);
  const legendKey = series.map((s) => `${s.name}${s.color}${s.dash}`).join('|');
  // biome-ignore lint/correctness/useExhaustiveDependencies: keyed by legendKey (names, colours, dashes)
  const legend = useMemo(() => (
    <ul className="legend">
      {series.map((s) => (
        <li key={s.key}>
          <svg width="18" height="8" aria-hidden="true"><line x1="1" x2="17" y1="4" y2="4" stroke={s.color} strokeWidth={2} strokeDasharray={s.dash} /></svg>
          {s.name}
        </li>
      ))}
    </ul>
  ), [legendKey]);

  return (
    <div className="svg-chart">
      <div className="plot" ref={box} style={{ height }}>
        {width > 0 && (
          <svg width={width} height={height} role="img" aria-label={label}>
            {axes}
            {series.map((s, i) => (
              <path key={s.key} className="series" data-series={s.key} d={paths[i]} fill="none" stroke={s.color} strokeWidth={s.width ?? 1.5}
                strokeOpacity={s.opacity} strokeDasharray={s.dash} strokeLinejoin="round" />
            ))}
            {hx !== null && <line className="cursor" x1={sx(hx)} x2={sx(hx)} y1={PAD.top} y2={PAD.top + plotH} />}
            <rect x={x0} y={PAD.top} width={x1 - x0} height={plotH} fill="transparent" onPointerMove={onMove} onPointerLeave={() => setHoverX(null)} />
          </svg>
        )}
        {hx !== null && (
          <div className="chart-tip" style={sx(hx) > (x0 + x1) / 2 ? { right: width - sx(hx) + 10 } : { left: sx(hx) + 10 }}>
            <div>step {hx}</div>
            {series.map((s) => {
              const i = indexAt(s.points, hx, s.step);
              return i < 0 ? null : <div key={s.key} style={{ color: s.color }}>{s.name}: {s.format(s.points[i].y)}</div>;
            })}
          </div>
        )}
      </div>
      {legend}
    </div>
  );
});
