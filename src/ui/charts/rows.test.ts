// The charts' rows: one per step shown, downsampled series merged by step, evaluations at their steps, and the
// loss chart's brush kept on the same steps as the rows change.

import { describe, expect, it } from 'vitest';
import type { RunRecord } from '../../store/runs';
import type { MetricPoint } from '../../store/trainingSlice';
import { budgetRows } from './BudgetChart';
import { brushIndices, lossRows, overlaysOf } from './LossChart';

const point = (step: number, loss: number, lr = 1e-3, live = 8): MetricPoint => ({
  step,
  loss,
  lr,
  live,
  target: live,
  tokensPerSecond: 1,
});

describe('lossRows', () => {
  it('merges loss, learning rate and evaluations by step, in step order', () => {
    const rows = lossRows([point(1, 3), point(2, 2.5, 2e-3), point(3, 2, 2e-3)], [{ step: 2, loss: 2.7, examples: 4 }]);
    expect(rows).toEqual([
      { step: 1, loss: 3, lr: 1e-3 },
      { step: 2, loss: 2.5, lr: 2e-3, valLoss: 2.7 },
      { step: 3, loss: 2, lr: 2e-3 },
    ]);
  });
  it('holds the learning rate at the rows where only the loss changed', () => {
    const rows = lossRows([point(1, 3), point(2, 2.5), point(3, 2), point(4, 1.5, 5e-4)], []);
    expect(rows.map((r) => r.lr)).toEqual([1e-3, 1e-3, 1e-3, 5e-4]);
  });
  it('bounds a long run to the point budget per series', () => {
    const points = Array.from({ length: 20_000 }, (_, i) => point(i + 1, 5 - i / 5000 + (i % 97 === 0 ? 1 : 0)));
    const rows = lossRows(points, [], 400);
    expect(rows.filter((r) => r.loss !== undefined).length).toBeLessThanOrEqual(400);
    expect(rows.at(-1)?.step).toBe(20_000);
  });
});

describe('overlaid runs on the loss chart', () => {
  const run = (id: string, loss: { step: number; loss: number }[]) => ({ id, name: `Run ${id}`, loss }) as RunRecord;
  const runs = [run('run-1', [{ step: 2, loss: 4 }]), run('run-2', [{ step: 1, loss: 5 }]), run('run-3', [])];

  it('draws the chosen runs except the current one (drawn as loss) and runs without points, coloured by place', () => {
    const o = overlaysOf(runs, ['run-1', 'run-2', 'run-3'], 'run-2');
    expect(o.map((x) => [x.id, x.name])).toEqual([['run-1', 'Run run-1']]);
    expect(overlaysOf(runs, ['run-2'], null)[0].color).not.toBe(o[0].color);
  });

  it("merges each overlaid run's loss by step under its run id, downsampled to the point budget", () => {
    const long = Array.from({ length: 1000 }, (_, i) => ({ step: i + 1, loss: 1 / (i + 1) }));
    const rows = lossRows([point(1, 3)], [], 400, [
      { id: 'run-1', name: 'a', color: '#000', loss: [{ step: 2, loss: 4 }] },
      { id: 'run-2', name: 'b', color: '#111', loss: long },
    ]);
    expect(rows[0]).toEqual({ step: 1, loss: 3, lr: 1e-3, 'run-2': 1 });
    expect(rows[1]).toMatchObject({ step: 2, 'run-1': 4 });
    expect(rows.filter((r) => r['run-2'] !== undefined).length).toBeLessThanOrEqual(400);
    expect(rows.at(-1)).toMatchObject({ step: 1000, 'run-2': 0.001 });
  });
});

describe('brushIndices', () => {
  const rows = [0, 10, 20, 30, 40].map((step) => ({ step }));
  it('covers every row without a zoom, and the chosen steps with one', () => {
    expect(brushIndices(rows, null)).toEqual({ startIndex: 0, endIndex: 4 });
    expect(brushIndices(rows, { from: 20, to: 30 })).toEqual({ startIndex: 2, endIndex: 3 });
    expect(brushIndices(rows, { from: 15, to: null })).toEqual({ startIndex: 2, endIndex: 4 });
  });
  it('keeps a zoom that follows the newest step on the last row as rows arrive', () => {
    expect(brushIndices([...rows, { step: 50 }], { from: 20, to: null })).toEqual({ startIndex: 2, endIndex: 5 });
  });
});

describe('budgetRows', () => {
  it('keeps the changes of the target and of the live count, merged by step', () => {
    const schedule = [0, 1, 2, 3, 4].map((step) => ({ step, live: step < 2 ? 24 : 16 }));
    const points = [point(1, 1, 1, 24), point(2, 1, 1, 24), point(3, 1, 1, 18), point(4, 1, 1, 16)];
    expect(budgetRows(schedule, points)).toEqual([
      { step: 0, target: 24 },
      { step: 1, target: 24, live: 24 },
      { step: 2, target: 16, live: 24 },
      { step: 3, target: 16, live: 18 },
      { step: 4, target: 16, live: 16 },
    ]);
  });
});
