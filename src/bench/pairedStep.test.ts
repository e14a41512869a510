// pairedSteps' protocol on fake contenders (no GPU, no timing figures asserted): who steps when, what comes back and
// what survives a failing peer.

import { describe, expect, it } from 'vitest';
import { pairedSteps, type StepContenderFactory } from './pairedStep';

/** A contender whose loss falls by 1 each step and which logs every step. */
function fake(name: string, log: string[], opts: { failMake?: boolean; failStep?: number } = {}): StepContenderFactory {
  return async () => {
    if (opts.failMake) throw new Error(`${name} cannot run here`);
    let n = 0;
    return {
      step: async () => {
        n++;
        if (n === opts.failStep) throw new Error(`${name} failed at step ${n}`);
        log.push(name);
        await new Promise((r) => setTimeout(r, 1));
        return 100 - n;
      },
      dispose: () => {
        log.push(`${name}:dispose`);
      },
    };
  };
}

const runs = (log: string[]) => log.filter((x, i) => i === 0 || log[i - 1] !== x);

describe('pairedSteps', () => {
  it('warms both up, then times N steps of each per round, swapping who goes first every round', async () => {
    const log: string[] = [];
    const r = await pairedSteps('full', fake('ours', log), fake('peer', log), { rounds: 4, steps: 3, warmup: 2 });
    const steps = log.filter((x) => !x.endsWith('dispose'));
    // Warm-up (ours, then the peer), then rounds 1-4: ours peer | peer ours | ours peer | peer ours.
    expect(runs(steps)).toEqual(['ours', 'peer', 'ours', 'peer', 'ours', 'peer', 'ours']);
    expect(steps.filter((x) => x === 'ours')).toHaveLength(2 + 4 * 3);
    expect(steps.slice(4, 7)).toEqual(['ours', 'ours', 'ours']);
    expect(steps.slice(10, 13)).toEqual(['peer', 'peer', 'peer']);
    expect(r.ours.rounds).toHaveLength(4);
    expect('rounds' in r.peer && r.peer.rounds).toHaveLength(4);
    expect(r.ratios).toHaveLength(4);
    expect(r.medianRatio).not.toBeNull();
    expect(r.ours.losses).toEqual([99, 86]);
    expect(log.filter((x) => x.endsWith('dispose'))).toEqual(['ours:dispose', 'peer:dispose']);
  });

  it('gives each round the ratio peer ms / ours ms, and the median of those', async () => {
    const r = await pairedSteps('lora', fake('ours', []), fake('peer', []), { rounds: 3, steps: 1, warmup: 1 });
    const p = 'rounds' in r.peer ? r.peer.rounds : [];
    expect(r.ratios).toEqual(r.ours.rounds.map((ms, i) => p[i] / ms));
    expect(r.medianRatio).toBe([...r.ratios].sort((a, b) => a - b)[1]);
  });

  it('still times ours when the peer cannot run, and says why', async () => {
    for (const failing of [{ failMake: true }, { failStep: 1 }]) {
      const log: string[] = [];
      const opts = { rounds: 3, steps: 2, warmup: 1 };
      const r = await pairedSteps('full', fake('ours', log), fake('peer', log, failing), opts);
      expect(r.ours.rounds).toHaveLength(3);
      expect('error' in r.peer && r.peer.error).toMatch(/peer (cannot run here|failed at step 1)/);
      expect(r.ratios).toEqual([]);
      expect(r.medianRatio).toBeNull();
      expect(log).toContain('ours:dispose');
    }
  });
});
