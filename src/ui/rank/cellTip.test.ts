// The heatmap cell tooltip: the module of each cell, live/R0 and that module's slice of the importance scores.

import { describe, expect, it } from 'vitest';
import { rankGrid } from '../../store/derived';
import { cellModuleIndex, cellTip } from './cellTip';

describe('heatmap cell tooltip', () => {
  const modules = ['h.0.attn.c_attn', 'h.0.mlp.c_fc', 'h.1.attn.c_attn'];
  const grid = rankGrid(modules, [2, 1, 0], ['attn.c_attn', 'mlp.c_fc']);

  it('maps every adapted cell to its module', () => {
    expect(cellModuleIndex(modules, grid)).toEqual([
      [0, 2],
      [1, -1],
    ]);
  });

  it("names the module path, live / R0 and its own components' importance, highest first", () => {
    const importance = [0.1, 0.2, 0.003, 0.5, 0.4, 0.0001, 0, 0, 0];
    expect(cellTip({ module: modules[1], index: 1, live: 1, R0: 3, importance })).toEqual({
      path: 'h.0.mlp.c_fc',
      live: '1 / 3 live',
      importance: ['5e-1', '4e-1', '1e-4'],
    });
  });

  it('has no importance without scores (LoRA, or before the first step)', () => {
    expect(cellTip({ module: modules[0], index: 0, live: 2, R0: 3, importance: null }).importance).toBeNull();
  });
});
