// What kernel tuning did, in the words the CLI prints and the page shows.

import type { KernelTuneReport } from '../tensor/backend';

export interface TuningSummary {
  /** Distinct matmul shapes timed, and how many now use another kernel (tile, prefetch) than the fixed rule. */
  timed: number;
  changed: number;
  untimed: number;
  ms: number;
  /** The timed shapes' matmul milliseconds per step (each shape's median ms per op times its calls per step) with
   * the rule's tiles and with the chosen ones. */
  ruleMsPerStep: number;
  tunedMsPerStep: number;
}

export function summarizeTuning(r: KernelTuneReport): TuningSummary {
  let rule = 0,
    tuned = 0;
  for (const k of r.kernels) {
    rule += (k.msPerOp[k.rule] ?? 0) * k.calls;
    tuned += (k.msPerOp[k.chosen] ?? 0) * k.calls;
  }
  return {
    timed: r.kernels.length,
    changed: r.kernels.filter((k) => k.chosen !== k.rule).length,
    untimed: r.untimed,
    ms: r.ms,
    ruleMsPerStep: rule,
    tunedMsPerStep: tuned,
  };
}

const fmt = (ms: number) => (ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2));

/** One line, e.g. "kernels tuned for this GPU in 1.2 s: 3 of 14 matmul shapes take another kernel; their time per
 * step 41.2 -> 36.0 ms". */
export function describeTuning(r: KernelTuneReport): string {
  const s = summarizeTuning(r);
  const left = s.untimed ? ` (${s.untimed} more kept the rule: time budget)` : '';
  const gain =
    s.changed > 0
      ? `; matmul time per step ${fmt(s.ruleMsPerStep)} -> ${fmt(s.tunedMsPerStep)} ms`
      : ': the rule was fastest';
  return (
    `kernels tuned for this GPU in ${(s.ms / 1000).toFixed(1)} s: ${s.changed} of ${s.timed} matmul shapes ` +
    `take another kernel${left}${gain}`
  );
}
