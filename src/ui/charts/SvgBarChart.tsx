// A small bar chart drawn as one SVG (the importance histogram): integer y axis from 0, a label under every
// `labelEvery`-th bar, a hover read-out. Memoised; see SvgLineChart for why the page draws its own charts.

import { memo, useMemo, useState } from 'react';
import { COLORS } from './colors';
import { linear, niceTicks } from './scale';
import { useWidth } from './useWidth';

export interface BarChartProps {
  bars: { label: string; value: number }[];
  height: number;
  labelEvery: number;
  /** What a bar counts, for the read-out ("components"). */
  unit: string;
  label: string;
}

const PAD = { top: 8, right: 8, bottom: 22 };

export const SvgBarChart = memo(function SvgBarChart({ bars, height, labelEvery, unit, label }: BarChartProps) {
  const [box, width] = useWidth<HTMLDivElement>();
  const [hover, setHover] = useState<number | null>(null);
  const plotH = height - PAD.top - PAD.bottom;
  const { ticks, x0, bw, sy } = useMemo(() => {
    const t = niceTicks(0, Math.max(1, ...bars.map((b) => b.value)), Math.max(2, Math.round(plotH / 45)), { integer: true });
    const left = Math.ceil(8 + 6.6 * String(t.hi).length);
    return { ticks: t, x0: left, bw: Math.max(1, (width - left - PAD.right) / Math.max(1, bars.length)), sy: linear(0, t.hi, PAD.top + plotH, PAD.top) };
  }, [bars, plotH, width]);
  const h = hover === null ? null : bars[hover];
  // The y axis changes only when its ticks do: the same elements are reused across steps and React skips them.
  const axisKey = `${ticks.values}|${x0}|${width}|${height}`;
  // biome-ignore lint/correctness/useExhaustiveDependencies: keyed by axisKey (the ticks), not the scale objects
  const axis = useMemo(() => (
    <g className="axes">
      {ticks.values.map((v) => <line key={v} x1={x0} x2={width - PAD.right} y1={sy(v)} y2={sy(v)} stroke={COLORS.grid} />)}
      {ticks.values.map((v) => <text key={v} x={x0 - 5} y={sy(v)} dy="0.32em" textAnchor="end">{v}</text>)}
    </g>
  ), [axisKey]);
  return (
    <div className="svg-chart">
      <div className="plot" ref={box} style={{ height }}>
        {width > 0 && (
          <svg width={width} height={height} role="img" aria-label={label}>
            {axis}
            {bars.map((b, i) => (
              <rect key={i} x={x0 + i * bw + 1} y={sy(b.value)} width={Math.max(1, bw - 2)} height={sy(0) - sy(b.value)}
                fill={COLORS.live} fillOpacity={hover === i ? 0.75 : 1} />
            ))}
            {bars.map((b, i) => (i % labelEvery === 0 ? <text key={`l${i}`} x={x0 + (i + 0.5) * bw} y={height - 6} textAnchor="middle">{b.label}</text> : null))}
            <line x1={x0} x2={width - PAD.right} y1={sy(0)} y2={sy(0)} className="axis" />
            <rect x={x0} y={PAD.top} width={bw * bars.length} height={plotH} fill="transparent" onPointerLeave={() => setHover(null)}
              onPointerMove={(e) => setHover(Math.min(bars.length - 1, Math.floor((e.clientX - e.currentTarget.getBoundingClientRect().left) / bw)))} />
          </svg>
        )}
        {h && hover !== null && (
          <div className="chart-tip" style={x0 + (hover + 0.5) * bw > width / 2 ? { right: width - x0 - hover * bw + 4 } : { left: x0 + (hover + 1) * bw + 4 }}>
            <div>{h.label}</div>
            <div style={{ color: COLORS.live }}>{h.value} {unit}</div>
          </div>
        )}
      </div>
    </div>
  );
});
