// Issue #6: the page answers its user while it trains and while it reads a large upload. On the production build
// (`vite build`, served by `vite preview`), as it would be deployed: clicks made during a 20-step gpt2-tiny
// dynamic-rank run (pruning every step, so every chart, the heatmap and the prune log change as it trains) and during
// a 16 MB CSV upload take effect. What is checked is the order of events, never a duration: how long the main
// thread's tasks take depends on the machine and its load, so those figures are measured by `npm run bench`
// (section `responsive`, src/bench/responsive.ts) beside the machine's load.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bigCsv } from '../src/bench/responsive';
import { openGpt2Tiny, setShortRun, shownStep } from './helpers';
import { launch } from './setup/chromium';
import { type Preview, startPreview } from './setup/preview';

const ARTIFACTS = join(import.meta.dirname, 'artifacts');
const STEPS = 20;

declare global {
  interface Window {
    /** performance.now() when the page posted the upload's text to the worker for parsing. */
    __previewSent?: number;
  }
}

describe('responsiveness while training and while reading an upload', () => {
  let browser: BrowserContext;
  let page: Page;
  let site: Preview;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    site = await startPreview();
    browser = await launch({ width: 1280, height: 800 });
    page = await browser.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
    // Notes when the page hands a data file to the worker to parse ({ type: 'preview' }); changes nothing else.
    await page.addInitScript(() => {
      const post = Worker.prototype.postMessage;
      Worker.prototype.postMessage = function (this: Worker, ...args: Parameters<Worker['postMessage']>) {
        if ((args[0] as { type?: unknown } | null)?.type === 'preview') window.__previewSent = performance.now();
        return post.apply(this, args);
      } as Worker['postMessage'];
    });
  });
  afterAll(async () => {
    await browser?.close();
    await site?.close();
  });

  it('answers clicks while a gpt2-tiny run trains: the chart read-out, Pause and Resume', async () => {
    let loads = 0;
    page.on('load', () => loads++);
    await openGpt2Tiny(page, '', site.url);
    await setShortRun(page, { steps: STEPS, batch: 2, seq: 32, budget: 2 });
    await page.getByRole('button', { name: 'Start training' }).click();
    const status = page.getByRole('status', { name: 'Training status' });
    const reloaded = 'the preview server reloaded the page';
    await expect.poll(() => shownStep(page), { timeout: 150_000, interval: 200 }).toBeGreaterThanOrEqual(3);
    expect(loads, reloaded).toBe(1);

    // Pause is answered: the run stops at a step and the page offers Resume.
    await page.getByRole('button', { name: 'Pause' }).click();
    await expect.poll(() => status.textContent(), { timeout: 30_000 }).toBe('Paused');
    const paused = await shownStep(page);
    expect(paused, 'paused before the last step').toBeLessThan(STEPS);
    await page.getByRole('button', { name: 'Resume', exact: true }).click();
    await expect.poll(() => status.textContent(), { timeout: 30_000 }).toBe('Training');

    // Hovering the loss chart shows its tooltip (React state on the main thread only).
    const chart = page.getByTestId('loss-chart');
    await chart.locator('svg.recharts-surface[role="application"]').hover({ position: { x: 200, y: 100 } });
    await expect
      .poll(() => chart.locator('.recharts-tooltip-wrapper').textContent())
      .toMatch(/^step \d+loss : \d+\.\d{4}.*learning rate : /);
    await page.screenshot({ path: join(ARTIFACTS, 'responsive-training-1280x800.png') });
    const done = expect.poll(() => shownStep(page), { timeout: 150_000, interval: 500 }).toBe(STEPS);
    await done.catch(async (e: Error) => {
      await page.screenshot({ path: join(ARTIFACTS, 'responsive-failed.png'), fullPage: true });
      throw e;
    });
    await expect.poll(() => status.textContent(), { timeout: 60_000 }).toBe('Done');
    expect(loads, reloaded).toBe(1);
    expect(pageErrors).toEqual([]);
  });

  // The page decodes the file off its main thread and the worker parses it; a toggle button of the set-up panel,
  // clicked again and again meanwhile, must change state while the worker holds the text and the preview is not
  // there yet. Parsed on the main thread, as before, no click could take effect in that window.
  it('answers clicks while a 16 MB CSV upload is parsed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dynrank-upload-'));
    const { text, rows } = bigCsv();
    const path = join(dir, 'big.csv');
    writeFileSync(path, text);
    const caption = `big.csv · CSV · ${rows.toLocaleString('en-US')} rows`;
    const chip = page.getByRole('button', { name: 'Hugging Face', exact: true });
    /** One main-thread read of the toggle's state, whether the worker has the text, and whether the preview shows. */
    const state = () =>
      page.evaluate(
        (c) => ({
          pressed:
            [...document.querySelectorAll('button.chip')]
              .find((b) => b.textContent === 'Hugging Face')
              ?.getAttribute('aria-pressed') === 'true',
          sent: window.__previewSent !== undefined,
          shown: document.querySelector('.preview .caption')?.textContent?.includes(c) ?? false,
        }),
        caption,
      );
    try {
      await page.evaluate(() => {
        delete window.__previewSent;
      });
      expect((await state()).shown).toBe(false);
      await page.getByLabel('Upload a data file (CSV, TSV, JSONL or TXT)').setInputFiles(path);
      let clicks = 0;
      let whileParsing = 0;
      for (let s = await state(); !s.shown && clicks < 5000; clicks++) {
        await chip.click();
        const after = await state();
        if (after.pressed !== s.pressed && after.sent && !after.shown) whileParsing++;
        s = after;
      }
      await expect
        .poll(() => page.evaluate(() => document.querySelector('.preview .caption')?.textContent ?? ''), {
          timeout: 60_000,
        })
        .toContain(caption);
      console.log(`${clicks} clicks during the upload; ${whileParsing} took effect while the worker parsed the file`);
      expect(whileParsing, 'clicks that took effect while the worker parsed the upload').toBeGreaterThan(0);
      expect(pageErrors).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
