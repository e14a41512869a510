// The tuning summary the CLI prints and the page shows: shapes changed, and the step's matmul time with the rule's
// tiles against the chosen ones, weighted by each shape's calls per step.

import { describe, expect, it } from 'vitest';
import { parseArgs } from '../cli/args';
import { runConfig, TRAIN_OPTS } from '../cli/train';
import type { KernelTuneReport } from '../tensor/backend';
import { describeTuning, summarizeTuning } from './tuning';

const report: KernelTuneReport = {
  ms: 1234,
  untimed: 2,
  kernels: [
    {
      kernel: 'matmul',
      shape: '1x1024x768x2304 bias f32',
      flops: 3.6e9,
      calls: 12,
      rule: '64',
      chosen: '128',
      msPerOp: { '32': 0.5, '64': 0.3, '128': 0.2 },
    },
    {
      kernel: 'matmul',
      shape: '1x1024x768x768 bias f32',
      flops: 1.2e9,
      calls: 24,
      rule: '64',
      chosen: '64',
      msPerOp: { '32': 0.2, '64': 0.1, '128': 0.1 },
    },
  ],
};

describe('summarizeTuning', () => {
  it('counts the changed shapes and weights each shape by its calls per step', () => {
    const s = summarizeTuning(report);
    expect(s).toMatchObject({ timed: 2, changed: 1, untimed: 2, ms: 1234 });
    expect(s.ruleMsPerStep).toBeCloseTo(12 * 0.3 + 24 * 0.1);
    expect(s.tunedMsPerStep).toBeCloseTo(12 * 0.2 + 24 * 0.1);
  });
  it('says what changed in one line', () => {
    expect(describeTuning(report)).toBe(
      'kernels tuned for this GPU in 1.2 s: 1 of 2 matmul shapes take another kernel (2 more kept the rule: time ' +
        'budget); matmul time per step 6.00 -> 4.80 ms',
    );
    const same = { ...report, untimed: 0, kernels: [report.kernels[1]] };
    expect(describeTuning(same)).toBe(
      'kernels tuned for this GPU in 1.2 s: 0 of 1 matmul shapes take another kernel: the rule was fastest',
    );
  });
  it('--no-tune-kernels turns tuning off; absent, the run config leaves it on', () => {
    const cli = (...argv: string[]) => runConfig(parseArgs(argv, TRAIN_OPTS));
    expect(cli('--no-tune-kernels').tuneKernels).toBe(false);
    expect(cli().tuneKernels).toBeUndefined();
  });
});
