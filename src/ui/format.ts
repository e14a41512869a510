// Number formatting for the page.

// Plain string code, no Intl: toLocaleString builds a formatter per call (it showed in the per-step render profile),
// and building even one Intl.NumberFormat loads ICU data, 20-25 ms of the page's first task on the CI machine type.

/** 1234567 -> "1,234,567". */
export function int(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const r = Math.round(n);
  const digits = String(Math.abs(r));
  let out = '';
  for (let i = digits.length; i > 0; i -= 3) out = digits.slice(Math.max(0, i - 3), i) + (out ? `,${out}` : '');
  return r < 0 ? `-${out}` : out;
}

const two = (x: number) => String(x).padStart(2, '0');
/** A time of day as HH:MM:SS in the page's time zone (what toLocaleTimeString('en-GB') gives, without Intl). */
export const clock = (ms: number): string => {
  const d = new Date(ms);
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
};

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
