// What the page's recharts charts share: sizes, axis and tooltip styles, and the rules that keep a chart cheap
// (no animation, a fixed height, a few hundred points per series; see downsample.ts).

import type { CSSProperties } from 'react';
import { COLORS } from './colors';

/** A training run redraws its charts at most this often (useStoreTransition's intervalMs): about 3 times a second. */
export const CHART_INTERVAL_MS = 300;

/**
 * Each chart's phase within the interval, so no two charts redraw in the same task: one recharts update is a
 * task of its own, never three at once.
 */
export const CHART_PHASE_MS = { loss: 0, budget: 100, importance: 200 } as const;

const CHART_HEIGHT = 250;
export const MARGIN = { top: 6, right: 8, bottom: 4, left: 4 };
/**
 * Tick label props. `width: undefined` replaces the axis width recharts passes each tick's <Text>, which would make it
 * measure every word of a label in the DOM to wrap it; a tick is one short number and never wraps.
 */
export const TICK = { fontSize: 11, fill: COLORS.axis, width: undefined };
const AXIS_LABEL = { fontSize: 11, fill: COLORS.axis };
export const TOOLTIP_STYLE: CSSProperties = { fontSize: 12, padding: '4px 8px', borderRadius: 6, lineHeight: 1.4 };
export const LEGEND_STYLE: CSSProperties = { fontSize: 12 };

/** A chart box that fills its card's width (recharts' `responsive` sizing, plain CSS). */
export const chartStyle = (height = CHART_HEIGHT): CSSProperties => ({ width: '100%', height });

/** 3 significant digits without trailing zeros: axis ticks of a data-driven range. */
export const sig3 = (v: number): string => String(Number(v.toPrecision(3)));

/** A tooltip value as a number, or null for recharts' other value types. */
export const numberOf = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/**
 * The tick interval of every axis: a number makes recharts show each tick it computed (a few, by tickCount) instead
 * of measuring every tick label in the DOM to drop overlapping ones ('preserveEnd', the default), which is most of a
 * chart's redraw (the axes and the grid each measure).
 */
export const TICK_INTERVAL = 0;

/** An x axis title under the ticks. */
export const xLabel = (value: string) => ({ value, position: 'insideBottom' as const, offset: 0, ...AXIS_LABEL });

/** A y axis title along the axis, on its side of the plot. */
export const yLabel = (value: string, side: 'left' | 'right' = 'left') => ({
  value,
  angle: side === 'left' ? -90 : 90,
  position: side === 'left' ? ('insideLeft' as const) : ('insideRight' as const),
  offset: 8,
  style: { textAnchor: 'middle' as const },
  ...AXIS_LABEL,
});
