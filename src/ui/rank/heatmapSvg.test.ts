// The exported heatmap SVG is a standalone, escaped document with one cell per adapted module.

import { describe, expect, it } from 'vitest';
import { heatmapSvg } from './heatmapSvg';

describe('heatmapSvg', () => {
  it('writes every live count and marks unadapted cells', () => {
    const svg = heatmapSvg(
      {
        rows: ['attn.c_attn', 'mlp.c_fc'],
        layers: 2,
        cells: [
          [3, null],
          [0, 2],
        ],
      },
      3,
      'run <1>',
    );
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg).toContain('run &lt;1&gt;');
    expect(svg.match(/<rect /g)).toHaveLength(1 + 4);
    const cells = [...svg.matchAll(/font-size="12" text-anchor="middle" fill="[^"]+">(\d+)</g)].map((m) =>
      Number(m[1]),
    );
    expect(cells).toEqual([3, 0, 2]);
    expect(svg.trim().endsWith('</svg>')).toBe(true);
  });
});
