// Issue #15: the playground's charts are recharts charts. On the production build, the loss, budget and importance
// charts draw their axes on page load (before a run), and after a short gpt2-tiny dynamic-rank run: hovering the
// loss chart shows a tooltip with the step and the loss, its brush zooms the x axis into a step range, and hovering
// a heatmap cell shows the module path and live / R0 (with the components' importance). Screenshots go to
// e2e/artifacts/ for a look at how the charts read.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openGpt2Tiny, setShortRun } from './helpers';
import { launch } from './setup/chromium';
import { type Preview, startPreview } from './setup/preview';

const ARTIFACTS = join(import.meta.dirname, 'artifacts');
const STEPS = 12;

/** The x axis tick values of a chart, as numbers. */
async function xTicks(chart: Locator): Promise<number[]> {
  const texts = await chart
    .locator('.recharts-xAxis-tick-labels .recharts-cartesian-axis-tick-value')
    .allTextContents();
  return texts.map(Number);
}

describe('recharts charts and the heatmap tooltip', () => {
  let browser: BrowserContext;
  let page: Page;
  let site: Preview;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    site = await startPreview();
    browser = await launch({ width: 1280, height: 900 });
    page = await browser.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
  });
  afterAll(async () => {
    await browser?.close();
    await site?.close();
  });

  it('draws axes before a run; after it, loss and heatmap tooltips and a brush that zooms', async () => {
    await openGpt2Tiny(page, '', site.url);
    const loss = page.getByTestId('loss-chart');
    // Mounted on page load: the axes are there before any step.
    for (const id of ['loss-chart', 'budget-chart', 'importance-chart']) {
      const axes = page.getByTestId(id).locator('.recharts-yAxis');
      await expect.poll(() => axes.count(), { timeout: 30_000 }).toBeGreaterThan(0);
    }
    expect(await loss.getAttribute('data-points')).toBe('0');

    await setShortRun(page, { steps: STEPS, batch: 2, seq: 32, budget: 2 });
    await page.getByRole('button', { name: 'Start training' }).click();
    const status = page.getByRole('status', { name: 'Training status' });
    await expect.poll(() => status.textContent(), { timeout: 240_000, interval: 500 }).toBe('Done');
    await expect.poll(() => loss.getAttribute('data-points')).toBe(String(STEPS));
    // The throttled chart catches up with the last step once the store rests.
    await expect
      .poll(() => loss.locator('.loss-line path.recharts-line-curve').getAttribute('d'), { timeout: 10_000 })
      .toMatch(new RegExp(`^M[\\d.]+,[\\d.]+(L[\\d.]+,[\\d.]+){${STEPS - 1}}$`));

    // Axis titles with their units, and a legend.
    const lossText = await loss.textContent();
    for (const t of ['loss (nats/token)', 'learning rate', 'step']) expect(lossText).toContain(t);
    expect(await loss.locator('.recharts-legend-item').count()).toBeGreaterThanOrEqual(2);

    // Hovering the plot shows recharts' tooltip: the step and the loss there.
    const plot = loss.locator('.recharts-cartesian-grid');
    await loss.scrollIntoViewIfNeeded();
    const box = await plot.boundingBox();
    if (!box) throw new Error('the loss chart has no box');
    await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.4);
    const tip = loss.locator('.recharts-tooltip-wrapper');
    await expect
      .poll(() => tip.textContent(), { timeout: 10_000 })
      .toMatch(/^step \d+loss : \d+\.\d{4}learning rate : \d/)
      .catch(async (e: Error) => {
        await page.screenshot({ path: join(ARTIFACTS, 'charts-failed.png') });
        throw e;
      });
    await page.screenshot({ path: join(ARTIFACTS, 'charts-loss-tooltip.png') });

    // The brush: dragging its left handle to the middle zooms the x axis to the later steps.
    const brush = loss.locator('.recharts-brush');
    expect(await brush.count()).toBe(1);
    expect((await xTicks(loss))[0]).toBe(0);
    const handle = brush.locator('.recharts-brush-traveller').first();
    const hb = await handle.boundingBox();
    const bb = await brush.boundingBox();
    if (!hb || !bb) throw new Error('the brush has no box');
    await page.mouse.move(hb.x + hb.width / 2, hb.y + hb.height / 2);
    await page.mouse.down();
    await page.mouse.move(bb.x + bb.width * 0.5, hb.y + hb.height / 2, { steps: 8 });
    await page.mouse.up();
    await expect.poll(async () => (await xTicks(loss))[0], { timeout: 10_000 }).toBeGreaterThan(0);

    // A heatmap cell's tooltip: module path, live / R0 and its components' importance.
    const cell = page.getByTestId('heatmap').locator('td[data-live]').first();
    await cell.scrollIntoViewIfNeeded();
    await cell.hover();
    const cellTip = page.getByTestId('heatmap-tip');
    await expect.poll(() => cellTip.textContent(), { timeout: 10_000 }).toMatch(/^h\.0\.[a-z_.]+\d+ \/ \d+ live/);
    expect(await cellTip.textContent()).toMatch(/importance \(EMA, latest step\): \d/);
    expect(await cellTip.textContent()).toContain(`${await cell.getAttribute('data-live')} / `);
    await page.screenshot({ path: join(ARTIFACTS, 'charts-heatmap-tooltip.png') });
    await page.mouse.move(2, 2);
    await expect.poll(() => cellTip.count()).toBe(0);
    expect(pageErrors).toEqual([]);
  });
});
