// The rank allocation heatmap as a standalone SVG file (the paper's Figure 2 layout), for the export.

import type { RankGrid } from '../../store/derived';
import { heatColor, heatInk } from '../charts/colors';

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** SVG text of `grid` with a title line; cells carry their live count. */
export function heatmapSvg(grid: RankGrid, R0: number, title: string): string {
  const cell = 34,
    top = 48,
    left = Math.ceil(Math.max(80, 20 + 6.6 * Math.max(0, ...grid.rows.map((r) => r.length)))),
    font = 'system-ui, -apple-system, Segoe UI, sans-serif';
  const footer = `columns: layers · cells: live components (R0 = ${R0})`;
  // Text widths estimated at ~0.6 em per character so the title and footer are never clipped.
  const w = Math.ceil(
    Math.max(left + grid.layers * cell + 16, 24 + title.length * 8.4, left + footer.length * 6.6 + 12),
  );
  const h = top + grid.rows.length * cell + 40;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" font-family="${font}">`,
    `<rect width="${w}" height="${h}" fill="#ffffff"/>`,
    `<text x="12" y="22" font-size="14" font-weight="600" fill="#1f2933">${esc(title)}</text>`,
  ];
  for (let l = 0; l < grid.layers; l++) {
    out.push(
      `<text x="${left + l * cell + cell / 2}" y="${top - 8}" font-size="11" text-anchor="middle" fill="#5f6b7a">${l}</text>`,
    );
  }
  grid.rows.forEach((row, r) => {
    const y = top + r * cell;
    out.push(
      `<text x="${left - 8}" y="${y + cell / 2 + 4}" font-size="11" text-anchor="end" fill="#1f2933">${esc(row)}</text>`,
    );
    grid.cells[r].forEach((v, l) => {
      const x = left + l * cell;
      out.push(
        `<rect x="${x + 1}" y="${y + 1}" width="${cell - 2}" height="${cell - 2}" rx="3" fill="${v === null ? '#fafafa' : heatColor(v, R0)}"/>`,
      );
      if (v !== null)
        out.push(
          `<text x="${x + cell / 2}" y="${y + cell / 2 + 4}" font-size="12" text-anchor="middle" fill="${heatInk(v, R0)}">${v}</text>`,
        );
    });
  });
  out.push(`<text x="${left}" y="${h - 14}" font-size="11" fill="#5f6b7a">${esc(footer)}</text>`, '</svg>');
  return out.join('\n');
}
