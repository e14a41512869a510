// Issue #6: the page stays responsive while it trains. A 20-step gpt2-tiny dynamic-rank run (pruning every step, so
// every chart, the heatmap and the prune log change as it trains) with a long-task observer on the page and a
// Chrome trace that gives each main-thread task its CPU time and what ran in it. The page is the production build
// (`vite build`, served by `vite preview`), as it would be deployed: the dev server's React development build spends
// two to three times the CPU per render on checks and profiling hooks, which is not what a user's page costs.
//
// What is asserted, and why not simply "no long task": the page shares 2 cores with the training worker and the
// GPU process, where SwiftShader emulates the GPU on the CPU. While a step runs, the main thread is descheduled for
// tens of milliseconds at a time, so a task of 4 ms of paint can last 100 ms on the wall clock (the trace shows
// such tasks); no page code can prevent that. The page's own cost is the CPU time of its tasks, so the test asserts
// that no main-thread task while training uses more than 35 ms of CPU time: 15 ms of the 50 ms long-task budget are
// the margin for that contention. (On the quiet machine the heaviest task takes 10-21 ms, mostly layout and paint.) Before the fix each training step rendered for 60-160 ms of CPU (the recharts charts); a 100 ms
// busy loop in a render fails it. Training starts after the click on Start: the click's own task (the test's input,
// locking the set-up panel) is logged but not held to the budget. The page's long tasks are logged with their CPU time
// as the evidence, and so are those of page start and model load (module evaluation, first render), which are not
// part of the criterion.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launch } from './setup/chromium';
import { startPreview, type Preview } from './setup/preview';
import { openGpt2Tiny, setShortRun, shownStep } from './helpers';
import { describeTask, longTasks, mark, observeLongTasks, startTrace, tracedTasks, type TracedTask } from './mainthread';

const ARTIFACTS = join(import.meta.dirname, 'artifacts');
const STEPS = 20;
/** The most CPU time one main-thread task may take while training (the long-task bound is 50 ms of wall time). */
const CPU_BUDGET_MS = 35;

describe('responsiveness while training', () => {
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
    await observeLongTasks(page);
  });
  afterAll(async () => {
    await browser?.close();
    await site?.close();
  });

  it(`uses at most ${CPU_BUDGET_MS} ms of main-thread CPU per task while a gpt2-tiny run trains`, async () => {
    let loads = 0;
    page.on('load', () => loads++);
    const trace = await startTrace(page);
    await openGpt2Tiny(page, '', site.url);
    await setShortRun(page, { steps: STEPS, batch: 2, seq: 32, budget: 2 });
    const loaded = await mark(page, 'dynrank-loaded');
    // From the click on Start: locking the set-up panel and resetting the run view is part of it.
    const t0 = await mark(page, 'dynrank-training');
    await page.getByRole('button', { name: 'Start training' }).click();
    const clicked = await mark(page, 'dynrank-clicked');
    // The screenshot is the test's own main-thread work (a full paint and read-back): its time is left out.
    let shot: [number, number] | null = null;
    await expect.poll(async () => {
      const step = await shownStep(page);
      if (!shot && step >= 8) {
        const s0 = await mark(page, 'dynrank-shot');
        await page.screenshot({ path: join(ARTIFACTS, 'responsive-training-1280x800.png') });
        shot = [s0, await mark(page, 'dynrank-shot-end')];
      }
      return step;
    }, { timeout: 150_000, interval: 500 }).toBe(STEPS).catch(async (e: Error) => {
      await page.screenshot({ path: join(ARTIFACTS, 'responsive-failed.png'), fullPage: true });
      throw loads > 1 ? new Error('the dev server reloaded the page (did a source file change during the test?)') : e;
    });
    const t1 = await mark(page, 'dynrank-trained');
    const events = await trace.stop();
    if (process.env.DYNRANK_SAVE_TRACE) writeFileSync(join(ARTIFACTS, 'responsive-trace.json'), JSON.stringify({ traceEvents: events }));

    const tasks = tracedTasks(events, 'dynrank-loaded', loaded);
    const longTasksIn = await longTasks(page, 0, t1);
    // The traced task of a long task: the longest one starting within 3 ms of it (clocks agree to about 1 ms).
    const near = (lt: { start: number }) => tasks.filter((t) => Math.abs(t.start - lt.start) < 3).sort((a, b) => b.wallMs - a.wallMs)[0];
    const report = (what: string, from: number, to: number) => {
      const longOnes = longTasksIn.filter((t) => t.start >= from && t.start < to);
      const busy = tasks.filter((t) => t.start >= from && t.start < to);
      const cpu = busy.reduce((a, t) => a + t.cpuMs, 0);
      console.log(`${what}: ${longOnes.length} long tasks on the page; main thread busy ${cpu.toFixed(0)} ms of CPU in ${((to - from) / 1000).toFixed(1)} s`);
      for (const lt of longOnes) {
        const t = near(lt);
        console.log(`  long task ${lt.duration.toFixed(0)} ms: ${t ? describeTask(t) : 'not in the trace'}`);
      }
    };
    report('page start and model load', 0, loaded);
    report(`training ${STEPS} steps`, t0, t1);

    const outside = (t: TracedTask) => !shot || t.start + t.wallMs < shot[0] || t.start > shot[1];
    const click = tasks.filter((t) => t.start >= t0 && t.start < clicked).sort((a, b) => b.cpuMs - a.cpuMs)[0];
    if (click) console.log(`the click on Start: ${describeTask(click)}`);
    const training = tasks.filter((t) => t.start >= clicked && t.start < t1 && outside(t));
    const heaviest = [...training].sort((a, b) => b.cpuMs - a.cpuMs).slice(0, 5);
    console.log(`heaviest tasks while training (CPU):\n  ${heaviest.map(describeTask).join('\n  ')}`);
    expect(training.length, 'the trace has the main thread\'s tasks while training').toBeGreaterThan(STEPS);
    expect(heaviest.filter((t) => t.cpuMs > CPU_BUDGET_MS).map(describeTask)).toEqual([]);

    // The charts' hover read-out (after the measurement: it is the test's own input).
    await page.getByTestId('loss-chart').locator('svg[role="img"]').hover({ position: { x: 200, y: 100 } });
    await expect.poll(() => page.getByTestId('loss-chart').locator('.chart-tip').textContent()).toMatch(/^step \d+loss: \d\.\d{4}learning rate: /);
    expect(pageErrors).toEqual([]);
  });

  // A large upload is parsed in the worker: the page only decodes the file (off its main thread) and sends the text.
  // Parsed on the main thread, as before, this 16 MB CSV took one task of several hundred ms.
  it('reads a 16 MB CSV upload without a main-thread task over the budget', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dynrank-upload-'));
    const rows = 200_000;
    const lines = ['text,label'];
    for (let i = 0; i < rows; i++) lines.push(`"message ${i}: the quick brown fox jumps over the lazy dog, again and again",${i % 3 ? 'ham' : 'spam'}`);
    const path = join(dir, 'big.csv');
    writeFileSync(path, `${lines.join('\n')}\n`);
    try {
      const trace = await startTrace(page);
      // A file path, not a buffer: Playwright hands a path to the browser as a native file, with no page script.
      const t0 = await mark(page, 'dynrank-upload');
      await page.getByLabel('Upload a data file (CSV, TSV, JSONL or TXT)').setInputFiles(path);
      await expect.poll(() => page.evaluate(() => document.querySelector('.preview .caption')?.textContent ?? ''), { timeout: 60_000 })
        .toContain('big.csv · CSV · 200,000 rows');
      const t1 = await mark(page, 'dynrank-uploaded');
      const tasks = tracedTasks(await trace.stop(), 'dynrank-upload', t0).filter((t) => t.start >= t0 && t.start < t1);
      const heaviest = [...tasks].sort((a, b) => b.cpuMs - a.cpuMs).slice(0, 5);
      console.log(`upload and preview of a ${(lines.join('\n').length / 2 ** 20).toFixed(1)} MiB CSV in ${((t1 - t0) / 1000).toFixed(1)} s; heaviest main-thread tasks (CPU):\n  ${heaviest.map(describeTask).join('\n  ')}`);
      expect(heaviest.filter((t) => t.cpuMs > CPU_BUDGET_MS).map(describeTask)).toEqual([]);
      expect(pageErrors).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
