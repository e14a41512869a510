// Central finite differences in float64 for the CPU reference backwards.
// Usage: build loss(x) = sum(f(x) * w) for a fixed random w; the analytic gradient of that loss is the backward
// called with dout = w. Compare both on every input element (tiny shapes keep this cheap).

import { expectClose } from './check';

/** Numerical gradient of a scalar function with respect to every element of x (x is restored afterwards). */
export function numericGrad(loss: () => number, x: Float64Array, h = 1e-6): Float64Array {
  const g = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const old = x[i];
    x[i] = old + h;
    const up = loss();
    x[i] = old - h;
    const down = loss();
    x[i] = old;
    g[i] = (up - down) / (2 * h);
  }
  return g;
}

export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** Checks an analytic gradient against central differences (float64: 1e-6 relative is a tight, fair bound). */
export function expectGradClose(
  analytic: ArrayLike<number>,
  numeric: ArrayLike<number>,
  what: string,
  tol = 1e-6,
): void {
  expectClose(analytic, numeric, tol, tol * 10, `gradient of ${what}`);
}
