// Runs side by side and the paper's comparison, on the production build: the charts arrive in a chunk of their own
// (the page's first script carries no recharts) and mount before a run; a short gpt2-demo dynamic-rank run, then
// "Compare with LoRA at the same budget" queues and trains a LoRA run at the rank whose parameter count is closest
// (computed here from the model's config.json); the loss chart overlays the first run's curve (legend with its name,
// tooltip on hover), its brush zooms the step axis, and the compare view shows both rank maps. Screenshots go to
// e2e/artifacts/.

import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setShortRun } from './helpers';
import { launch } from './setup/chromium';
import { type Preview, startPreview } from './setup/preview';

const ARTIFACTS = join(import.meta.dirname, 'artifacts');
const STEPS = 6;
const BUDGET = 2;
const CONFIG = JSON.parse(
  readFileSync(join(import.meta.dirname, '..', 'public', 'models', 'gpt2-demo', 'config.json'), 'utf8'),
) as { n_embd: number; n_layer: number };

/**
 * The expected match for gpt2-demo's four adapted linears per layer (attn.c_attn E -> 3E, attn.c_proj E -> E,
 * mlp.c_fc E -> 4E, mlp.c_proj 4E -> E): dynamic rank b (in + out + 1) per module against LoRA r (in + out), the
 * closest r by trying each.
 */
function expectedMatch(budget: number): { rank: number; dora: number; lora: number } {
  const E = CONFIG.n_embd;
  const dims = Array.from({ length: CONFIG.n_layer }, () => [4 * E, 2 * E, 5 * E, 5 * E]).flat();
  const dora = dims.reduce((n, d) => n + budget * (d + 1), 0);
  const sum = dims.reduce((n, d) => n + d, 0);
  let rank = 1;
  for (let r = 2; r <= 64; r++) if (Math.abs(r * sum - dora) < Math.abs(rank * sum - dora)) rank = r;
  return { rank, dora, lora: rank * sum };
}

async function xTicks(chart: Locator): Promise<number[]> {
  const texts = await chart
    .locator('.recharts-xAxis-tick-labels .recharts-cartesian-axis-tick-value')
    .allTextContents();
  return texts.map(Number);
}

async function waitDone(page: Page): Promise<void> {
  const status = page.getByRole('status', { name: 'Training status' });
  await expect.poll(() => status.textContent(), { timeout: 240_000, interval: 500 }).toBe('Done');
}

describe('runs side by side and LoRA at the same budget', () => {
  let browser: BrowserContext;
  let page: Page;
  let site: Preview;
  const pageErrors: string[] = [];
  const scripts = new Map<string, string>();

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    site = await startPreview();
    browser = await launch({ width: 1280, height: 1000 });
    page = await browser.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('response', async (r) => {
      if (r.url().endsWith('.js')) scripts.set(new URL(r.url()).pathname, await r.text().catch(() => ''));
    });
  });
  afterAll(async () => {
    await browser?.close();
    await site?.close();
  });

  it('queues LoRA at the matched rank, overlays both runs, zooms with the brush and compares rank maps', async () => {
    await page.goto(`${site.url}/`);
    // The page's own script has no recharts; the charts' chunk loads by itself and draws axes before any run.
    const entry = await page.evaluate(() => document.querySelector<HTMLScriptElement>('script[type=module]')?.src);
    const loss = page.getByTestId('loss-chart');
    await expect.poll(() => loss.locator('.recharts-yAxis').count(), { timeout: 30_000 }).toBeGreaterThan(0);
    const entryPath = new URL(entry ?? '').pathname;
    const withRecharts = () => [...scripts].filter(([, t]) => t.includes('recharts-wrapper')).map(([p]) => p);
    await expect.poll(() => withRecharts().length, { timeout: 10_000 }).toBeGreaterThan(0);
    expect(scripts.get(entryPath)?.length ?? 0).toBeGreaterThan(0);
    expect(withRecharts()).not.toContain(entryPath);

    await page.getByLabel('Pretrained model').selectOption('gpt2-demo');
    await expect.poll(() => page.getByLabel('Architecture').textContent(), { timeout: 60_000 }).toContain('Layers4');
    await expect
      .poll(() => page.getByRole('table', { name: 'Data preview' }).textContent(), { timeout: 30_000 })
      .toContain('State of the Union');
    await expect.poll(() => page.getByLabel('Compute backend').textContent(), { timeout: 60_000 }).toBe('WebGPU');

    await setShortRun(page, { steps: STEPS, batch: 2, seq: 32, budget: BUDGET });
    await page.getByRole('button', { name: 'Start training' }).click();
    await waitDone(page);
    const list = page.getByRole('table', { name: 'Run list' });
    await expect.poll(() => list.locator('tbody tr').count()).toBe(1);

    // The comparison: the computed rank and both parameter counts, then the LoRA run trains.
    const want = expectedMatch(BUDGET);
    await page.getByRole('button', { name: 'Compare with LoRA at the same budget' }).click();
    const match = page.getByTestId('lora-match');
    await expect.poll(() => match.getAttribute('data-rank')).toBe(String(want.rank));
    const text = (await match.textContent()) ?? '';
    expect(text).toContain(want.dora.toLocaleString('en-US'));
    expect(text).toContain(`LoRA r = ${want.rank}: ${want.lora.toLocaleString('en-US')} parameters`);
    await expect.poll(() => list.locator('tbody tr').count(), { timeout: 60_000 }).toBe(2);
    const loraRow = list.locator('tbody tr').nth(1);
    expect(await loraRow.getAttribute('data-method')).toBe('lora');
    expect(await loraRow.getAttribute('data-budget')).toBe(String(want.rank));
    await waitDone(page);
    await expect.poll(() => loss.getAttribute('data-points')).toBe(String(STEPS));
    expect(await loraRow.locator('[data-testid=final-params]').textContent()).toBe(want.lora.toLocaleString('en-US'));
    expect(await list.locator('tbody tr').first().locator('[data-testid=final-params]').textContent()).toBe(
      want.dora.toLocaleString('en-US'),
    );

    // Two runs overlaid: the LoRA run's loss and the dynamic-rank run's curve, named in the legend.
    const runLine = loss.locator('.run-line path.recharts-line-curve');
    await expect
      .poll(() => runLine.getAttribute('d'), { timeout: 10_000 })
      .toMatch(new RegExp(`^M[\\d.]+,[\\d.]+(L[\\d.]+,[\\d.]+){${STEPS - 1}}$`));
    const legend = (await loss.locator('.recharts-legend-wrapper').textContent()) ?? '';
    expect(legend).toContain('Run 1 · dynamic rank b(T)=2');
    await loss.scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(ARTIFACTS, 'compare-overlay.png') });

    // Hovering the plot: the tooltip gives the step, the LoRA run's loss and the first run's loss there.
    const box = await loss.locator('.recharts-cartesian-grid').boundingBox();
    if (!box) throw new Error('the loss chart has no box');
    await page.mouse.move(box.x + box.width * 0.6, box.y + box.height * 0.4);
    const tip = loss.locator('.recharts-tooltip-wrapper');
    await expect
      .poll(() => tip.textContent(), { timeout: 10_000 })
      .toMatch(/^step \d+.*loss : \d+\.\d{4}.*Run 1 · dynamic rank b\(T\)=2 : \d+\.\d{4}/);
    await page.screenshot({ path: join(ARTIFACTS, 'compare-loss-tooltip.png') });
    await page.mouse.move(2, 2);

    // The brush: dragging its left handle to the middle shows only the later steps.
    expect((await xTicks(loss))[0]).toBe(0);
    const brush = loss.locator('.recharts-brush');
    const handle = brush.locator('.recharts-brush-traveller').first();
    const hb = await handle.boundingBox();
    const bb = await brush.boundingBox();
    if (!hb || !bb) throw new Error('the brush has no box');
    await page.mouse.move(hb.x + hb.width / 2, hb.y + hb.height / 2);
    await page.mouse.down();
    await page.mouse.move(bb.x + bb.width * 0.5, hb.y + hb.height / 2, { steps: 8 });
    await page.mouse.up();
    await expect.poll(async () => (await xTicks(loss))[0], { timeout: 10_000 }).toBeGreaterThan(0);
    await page.screenshot({ path: join(ARTIFACTS, 'compare-brush-zoom.png') });

    // The compare view: the dynamic-rank run's final map beside LoRA's (r in every cell).
    const left = page.getByTestId('compare-heatmap-0');
    const right = page.getByTestId('compare-heatmap-1');
    await right.scrollIntoViewIfNeeded();
    const loraCells = await right.locator('td[data-live]').evaluateAll((tds) => tds.map((t) => t.dataset.live));
    expect(loraCells).toHaveLength(4 * CONFIG.n_layer);
    expect(new Set(loraCells)).toEqual(new Set([String(want.rank)]));
    const doraTotal = Number(await left.getAttribute('data-total'));
    expect(doraTotal).toBeGreaterThan(0);
    expect(await left.locator('td[data-live]').count()).toBe(4 * CONFIG.n_layer);
    await page.screenshot({ path: join(ARTIFACTS, 'compare-rank-maps.png'), fullPage: true });
    expect(pageErrors).toEqual([]);
  });
});
