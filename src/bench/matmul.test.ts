// pairedMatmul's protocol on fake contenders (no GPU, no timing figures asserted): who runs when, what is checked and
// what survives a failing peer.

import { describe, expect, it } from 'vitest';
import { type ContenderFactory, type MatmulContender, pairedMatmul } from './matmul';

/** A contender whose matmul is exact (or off by `bias`) and which logs every group it runs. */
function fake(name: string, log: string[], opts: { bias?: number; failMake?: boolean } = {}): ContenderFactory {
  return async (A, B, M, K, N) => {
    if (opts.failMake) throw new Error(`${name} cannot run here`);
    const c: MatmulContender = {
      check: async () => {
        const out = new Float32Array(M * N);
        for (let i = 0; i < M; i++)
          for (let k = 0; k < K; k++) for (let j = 0; j < N; j++) out[i * N + j] += A[i * K + k] * B[k * N + j];
        return out.map((x) => x + (opts.bias ?? 0));
      },
      runGroup: async (n) => {
        log.push(`${name}:${n}`);
        await new Promise((r) => setTimeout(r, 1));
      },
      dispose: () => {
        log.push(`${name}:dispose`);
      },
    };
    return c;
  };
}

const OPTS = { targetMs: 4, warmMs: 2, minOps: 1, maxGroup: 2 };

describe('pairedMatmul', () => {
  it('takes turns, one timing each per round, swapping who goes first every round', async () => {
    const log: string[] = [];
    const [r] = await pairedMatmul(fake('ours', log), fake('peer', log, { bias: 0.5 }), [[4, 3, 5]], 4, () => OPTS);
    expect(r.ours.rounds).toHaveLength(4);
    expect('rounds' in r.peer && r.peer.rounds).toHaveLength(4);
    expect(r.ours.maxAbsErr).toBeLessThan(1e-5);
    expect('maxAbsErr' in r.peer && r.peer.maxAbsErr).toBeCloseTo(0.5, 5);
    // Sizing (ours, then the peer), then rounds 1-4: ours peer | peer ours | ours peer | peer ours. Merging
    // neighbours by contender leaves 7 runs; always ours first would leave 10.
    const who = log.filter((x) => !x.endsWith('dispose')).map((x) => x.split(':')[0]);
    expect(who.filter((x, i) => i === 0 || who[i - 1] !== x)).toEqual([
      'ours',
      'peer',
      'ours',
      'peer',
      'ours',
      'peer',
      'ours',
    ]);
    expect(log.filter((x) => x.endsWith('dispose'))).toEqual(['ours:dispose', 'peer:dispose']);
  });

  it('still times ours when the peer cannot run, and says why', async () => {
    const log: string[] = [];
    const [r] = await pairedMatmul(
      fake('ours', log),
      fake('peer', log, { failMake: true }),
      [[2, 2, 2]],
      3,
      () => OPTS,
    );
    expect(r.ours.rounds).toHaveLength(3);
    expect('error' in r.peer && r.peer.error).toContain('peer cannot run here');
    expect(log).toContain('ours:dispose');
  });
});
