// Number formatting for the page.

// One formatter, made once: Number.prototype.toLocaleString builds a new one per call, which showed in the
// per-step render profile of the page (the run bar, the heatmap and the prune log call int() many times).
const INT = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

/** 1234567 -> "1,234,567". */
export const int = (n: number): string => INT.format(Math.round(n));

/** 1234567 -> "1.23M", 12345 -> "12.3k". */
export function compact(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  return int(n);
}

/** A learning rate or other small number: 0.002 -> "2e-3". */
export function sci(n: number): string {
  if (n === 0) return '0';
  const e = Math.floor(Math.log10(Math.abs(n)));
  const m = n / 10 ** e;
  return `${Number(m.toFixed(2))}e${e}`;
}

export const pct = (x: number, digits = 1): string => `${(100 * x).toFixed(digits)}%`;
