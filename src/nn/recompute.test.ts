// Stored recompute settings read as modes: today's strings as they are, an earlier version's booleans as they meant.

import { describe, expect, it } from 'vitest';
import { RECOMPUTE_MODES, recomputeMode } from './recompute';

describe('recomputeMode', () => {
  it('keeps a mode, reads true as whole blocks, and anything else as not set', () => {
    for (const m of RECOMPUTE_MODES) expect(recomputeMode(m)).toBe(m);
    expect(recomputeMode(true)).toBe('blocks');
    for (const v of [false, undefined, null, 'yes', 1]) expect(recomputeMode(v)).toBeUndefined();
  });
});
