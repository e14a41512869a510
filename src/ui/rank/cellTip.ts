// What the heatmap's tooltip says about one cell: the module's path, its live components out of R0 and, for a
// dynamic-rank run, the latest EMA importance of each of its R0 components (importance is module-major, M x R0).

import { type RankGrid, splitModuleName } from '../../store/derived';
import { sci } from '../format';

/** The index into `modules` of each cell of `grid` (rows x layers), -1 where the module is not adapted. */
export function cellModuleIndex(modules: readonly string[], grid: RankGrid): number[][] {
  const out = grid.rows.map(() => new Array<number>(grid.layers).fill(-1));
  modules.forEach((name, i) => {
    const p = splitModuleName(name);
    const r = p ? grid.rows.indexOf(p.type) : -1;
    if (p && r >= 0 && p.layer < grid.layers) out[r][p.layer] = i;
  });
  return out;
}

export interface CellTip {
  path: string;
  /** "3 / 8 live". */
  live: string;
  /** Each component's importance, highest first ("1.2e-3"), or null without scores (LoRA, before the first step). */
  importance: string[] | null;
}

export function cellTip(o: {
  module: string;
  index: number;
  live: number;
  R0: number;
  importance: readonly number[] | null;
}): CellTip {
  const { module, index, live, R0, importance } = o;
  const has = importance !== null && importance.length >= (index + 1) * R0;
  const scores = has ? importance.slice(index * R0, (index + 1) * R0) : null;
  return {
    path: module,
    live: `${live} / ${R0} live`,
    importance: scores ? [...scores].sort((a, b) => b - a).map(sci) : null,
  };
}
