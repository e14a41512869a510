// Checkpoints survive a reload: a short gpt2-tiny dynamic-rank run (selective recompute: attention and norms) saves
// checkpoints to IndexedDB every 5 steps; the page is reloaded mid-run, the saved checkpoint is listed, and Resume
// continues the same run from its step (not from 0) to the end, with the loss history, the heatmap and the settings
// carried over.

import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { pickGpt2TinyFiles, setNumber } from './helpers';
import { launch } from './setup/chromium';

const MODULES = 8,
  BUDGET = 2,
  STEPS = 20;

const savedSteps = (page: Page) =>
  page
    .getByRole('list', { name: 'Checkpoints' })
    .locator('li')
    .evaluateAll((lis) => lis.map((li) => Number(li.getAttribute('data-step'))));

describe('checkpoints across a reload', () => {
  let browser: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    browser = await launch({ width: 1280, height: 800 });
    page = await browser.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
  });
  afterAll(async () => {
    await browser?.close();
  });

  /** A page with the ?debug hooks training gpt2-tiny on WebGPU for `steps` tiny steps, a checkpoint every 2; and the
   * step this run has reached. */
  async function startDebugRun(steps: number): Promise<{ p: Page; runStep: () => Promise<number> }> {
    const p = await browser.newPage();
    p.on('pageerror', (e) => pageErrors.push(e.message));
    await p.goto(`${inject('baseUrl')}/?debug`);
    await p.getByLabel('Pretrained model').selectOption('gpt2-tiny');
    await expect.poll(() => p.getByLabel('Architecture').textContent(), { timeout: 60_000 }).toContain('Layers2');
    await expect.poll(() => p.getByLabel('Compute backend').textContent(), { timeout: 60_000 }).toBe('WebGPU');
    await setNumber(p, 'Steps', steps);
    await setNumber(p, 'Batch size', 1);
    await setNumber(p, 'Sequence length', 16);
    await setNumber(p, 'Checkpoint every', 2);
    await p.getByRole('button', { name: 'Start training' }).click();
    const runStep = async () =>
      Number(
        /step (\d+) \//.exec((await p.getByRole('region', { name: 'Run', exact: true }).textContent()) ?? '')?.[1] ?? 0,
      );
    return { p, runStep };
  }

  it('a reload mid-run lists the checkpoint, and Resume continues from its step to the end', async () => {
    await page.goto(inject('baseUrl'));
    await page.getByLabel('Pretrained model').selectOption('gpt2-tiny');
    await expect.poll(() => page.getByLabel('Architecture').textContent(), { timeout: 60_000 }).toContain('Layers2');
    await expect
      .poll(() => page.getByRole('table', { name: 'Data preview' }).textContent(), { timeout: 30_000 })
      .toContain('State of the Union');
    await expect.poll(() => page.getByLabel('Compute backend').textContent(), { timeout: 60_000 }).toBe('WebGPU');
    await setNumber(page, 'Steps', STEPS);
    await setNumber(page, 'Batch size', 2);
    await setNumber(page, 'Sequence length', 32);
    await setNumber(page, 'Final budget b(T)', BUDGET);
    await setNumber(page, 'Checkpoint every', 5);
    await page.getByText('Advanced').click();
    await setNumber(page, 'Prune interval', 1);
    // The run recomputes its attention probabilities and norm outputs (one buffer each for gpt2-tiny's two blocks); the
    // plan shows it, and
    // the setting comes back with the checkpoint.
    await page.getByLabel('Recompute in the backward').selectOption('selective');
    await expect
      .poll(() => page.getByTestId('memory-plan').textContent())
      .toContain('f32 weights, selective recompute, micro-batch 2');
    await page.getByRole('button', { name: 'Start training' }).click();

    await expect
      .poll(async () => Math.max(0, ...(await savedSteps(page))), { timeout: 150_000, interval: 200 })
      .toBeGreaterThanOrEqual(10);
    await page.reload();

    // After the reload: nothing is training, the checkpoints are listed (at most 3 of the run), newest first.
    await expect.poll(() => savedSteps(page), { timeout: 30_000 }).not.toEqual([]);
    const steps = await savedSteps(page);
    expect(steps.length).toBeLessThanOrEqual(3);
    expect(steps).toEqual([...steps].sort((a, b) => b - a));
    const from = steps[0];
    expect(from).toBeGreaterThanOrEqual(10);
    expect(from).toBeLessThan(STEPS);
    expect(await page.getByRole('region', { name: 'Saved checkpoints' }).textContent()).toContain(
      `step ${from} / ${STEPS}`,
    );
    await expect.poll(() => page.getByLabel('Compute backend').textContent(), { timeout: 60_000 }).toBe('WebGPU');
    await expect.poll(() => page.getByLabel('Architecture').textContent(), { timeout: 60_000 }).toContain('Layers2');

    // Reset a setting: Resume must restore the run's own settings.
    await setNumber(page, 'Steps', 7);
    const seen: number[] = [];
    const runText = () => page.getByRole('region', { name: 'Run', exact: true }).textContent();
    await page.getByRole('button', { name: `Resume from step ${from}`, exact: true }).click();
    await expect
      .poll(
        async () => {
          const m = /step (\d+) \//.exec((await runText()) ?? '');
          if (m) seen.push(Number(m[1]));
          return await page.getByRole('status', { name: 'Training status' }).textContent();
        },
        { timeout: 150_000, interval: 100 },
      )
      .toBe('Done');
    // The step counter never went back below the saved step and ended at the total.
    expect(Math.min(...seen)).toBeGreaterThanOrEqual(from);
    expect(await runText()).toContain(`step ${STEPS} / ${STEPS}`);
    expect(await page.getByLabel('Steps', { exact: true }).inputValue()).toBe(String(STEPS));
    expect(await page.getByLabel('Recompute in the backward').inputValue()).toBe('selective');
    expect(await page.getByTestId('resumed-from').textContent()).toContain(`step ${from}`);
    // One loss point per step: the saved history (steps 1..from) plus the resumed steps.
    expect(Number(await page.getByTestId('loss-chart').getAttribute('data-points'))).toBe(STEPS);
    await expect.poll(() => page.getByTestId('heatmap').getAttribute('data-total')).toBe(String(MODULES * BUDGET));
    expect(await page.getByRole('list', { name: 'Prune events' }).locator('li').count()).toBeGreaterThan(0);
    await expect
      .poll(() => page.getByTestId('eval').textContent())
      .toMatch(new RegExp(`after step ${STEPS}: .*perplexity \\d`));
    // The resumed run kept saving into the same run (still at most 3 kept), and Delete removes one.
    const after = await savedSteps(page);
    expect(after.length).toBeLessThanOrEqual(3);
    await page.getByRole('button', { name: `Delete the checkpoint at step ${after[0]}` }).click();
    await expect.poll(() => savedSteps(page)).toEqual(after.slice(1));
    expect(pageErrors).toEqual([]);
  });

  it('a GPU device lost mid-run is survived, in a step or in a checkpoint: a new device, the last checkpoint, the run finishes', async () => {
    // Long enough that the device is lost twice while the run is still going (a step here takes a fraction of a second).
    const { p, runStep } = await startDebugRun(80);
    // This run's own progress (the checkpoint list also holds the previous test's run): past step 6, checkpoints exist.
    await expect.poll(runStep, { timeout: 150_000, interval: 200 }).toBeGreaterThanOrEqual(7);
    const lost = p.getByRole('alert').filter({ hasText: 'GPU device was lost' });
    const resumedFrom = async () =>
      Number(
        /step (\d+)/.exec(
          (await p
            .getByTestId('resumed-from')
            .textContent()
            .catch(() => '')) ?? '',
        )?.[1] ?? -1,
      );
    // First inside a step, then inside a checkpoint's readback: either way one alert says what happened, and a
    // checkpoint cut short by the loss is not reported as a failure of its own.
    await p.evaluate(() => window.__dynrankDebug!.loseDevice());
    await expect
      .poll(() => lost.first().textContent(), { timeout: 30_000 })
      .toContain('Continuing from the last checkpoint');
    await expect.poll(resumedFrom, { timeout: 60_000, interval: 200 }).toBeGreaterThanOrEqual(6);
    const first = await resumedFrom();
    await expect.poll(runStep, { timeout: 150_000, interval: 200 }).toBeGreaterThanOrEqual(first + 3);
    await p.evaluate(() => window.__dynrankDebug!.loseDevice('checkpoint'));
    await expect.poll(resumedFrom, { timeout: 60_000, interval: 200 }).toBeGreaterThan(first);
    await expect
      .poll(() => p.getByRole('status', { name: 'Training status' }).textContent(), { timeout: 150_000, interval: 300 })
      .toBe('Done');
    expect(await p.getByRole('region', { name: 'Run', exact: true }).textContent()).toContain('step 80 / 80');
    expect(await lost.count()).toBe(1);
    expect(await p.locator('[role="alert"][data-code="CheckpointFailed"]').count()).toBe(0);
    await p.close();
    expect(pageErrors).toEqual([]);
  });

  it('a device lost at every checkpoint stops with what to do instead of retrying forever, and Resume then works', async () => {
    const { p, runStep } = await startDebugRun(30);
    await expect.poll(runStep, { timeout: 150_000, interval: 200 }).toBeGreaterThanOrEqual(3);
    // Lost at the next checkpoint, and again at the same one after each of two recoveries: no progress can be kept.
    await p.evaluate(() => window.__dynrankDebug!.loseDevice('checkpoint', 3));
    const stuck = p.getByRole('alert').filter({ hasText: 'lost again before training got past step' });
    await expect.poll(() => stuck.count(), { timeout: 150_000, interval: 300 }).toBe(1);
    const from = Number(/past step (\d+)/.exec((await stuck.textContent()) ?? '')?.[1]);
    expect(await stuck.textContent()).toContain(`press Resume on the checkpoint at step ${from}`);
    await expect
      .poll(() => p.getByRole('status', { name: 'Training status' }).textContent(), { timeout: 30_000 })
      .toBe('Stopped');
    await p
      .getByRole('button', { name: `Resume from step ${from}`, exact: true })
      .first()
      .click();
    await expect
      .poll(() => p.getByRole('status', { name: 'Training status' }).textContent(), { timeout: 150_000, interval: 300 })
      .toBe('Done');
    expect(await p.getByRole('region', { name: 'Run', exact: true }).textContent()).toContain('step 30 / 30');
    await p.close();
    expect(pageErrors).toEqual([]);
  });

  it("a run on picked model files resumes after a reload: from the browser's model cache, or from the same files picked again", async () => {
    // A browser of its own: no checkpoints of the other tests, and nothing of the picked files in memory after the reload.
    const own = await launch({ width: 1280, height: 800 });
    try {
      const p = await own.newPage();
      p.on('pageerror', (e) => pageErrors.push(e.message));
      await p.goto(inject('baseUrl'));
      await pickGpt2TinyFiles(p);
      await expect.poll(() => p.getByLabel('Pretrained model').inputValue(), { timeout: 60_000 }).toBe('files:3 files');
      await expect
        .poll(() => p.getByRole('table', { name: 'Data preview' }).textContent(), { timeout: 30_000 })
        .toContain('State of the Union');
      await expect.poll(() => p.getByLabel('Compute backend').textContent(), { timeout: 60_000 }).toBe('WebGPU');
      await setNumber(p, 'Steps', 12);
      await setNumber(p, 'Batch size', 2);
      await setNumber(p, 'Sequence length', 32);
      await setNumber(p, 'Checkpoint every', 3);
      await p.getByRole('button', { name: 'Start training' }).click();
      await expect
        .poll(async () => Math.max(0, ...(await savedSteps(p))), { timeout: 150_000, interval: 200 })
        .toBeGreaterThanOrEqual(6);
      await p.reload();

      await expect.poll(() => savedSteps(p), { timeout: 30_000 }).not.toEqual([]);
      const from = (await savedSteps(p))[0];
      expect(from).toBeLessThan(12);
      expect(await p.getByRole('region', { name: 'Saved checkpoints' }).textContent()).toContain('files:3 files');
      await expect.poll(() => p.getByLabel('Compute backend').textContent(), { timeout: 60_000 }).toBe('WebGPU');
      await p.getByRole('button', { name: `Resume from step ${from}`, exact: true }).click();
      await expect
        .poll(() => p.getByRole('status', { name: 'Training status' }).textContent(), {
          timeout: 150_000,
          interval: 300,
        })
        .toBe('Done');
      expect(await p.getByRole('region', { name: 'Run', exact: true }).textContent()).toContain('step 12 / 12');
      expect(await p.getByTestId('resumed-from').textContent()).toContain(`step ${from}`);
      expect(await p.getByLabel('Pretrained model').inputValue()).toBe('files:3 files');
      // No error anywhere (the software-adapter notice is a warning the CI machine always shows).
      const errors = async () =>
        (await p.getByRole('alert').allTextContents()).filter((t) => !t.includes('software adapter'));
      expect(await errors()).toEqual([]);

      // With the cache cleared, Resume says what to do, and does it once the same files are dropped again.
      await p.reload();
      await expect.poll(() => savedSteps(p), { timeout: 30_000 }).not.toEqual([]);
      await p.evaluate(() => caches.delete('dynrank-models'));
      const earlier = (await savedSteps(p)).find((s) => s < 12)!;
      await expect.poll(() => p.getByLabel('Compute backend').textContent(), { timeout: 60_000 }).toBe('WebGPU');
      await p.getByRole('button', { name: `Resume from step ${earlier}`, exact: true }).click();
      await expect
        .poll(async () => (await errors()).join('\n'), { timeout: 30_000 })
        .toContain('drop the same files again, then press Resume');
      await pickGpt2TinyFiles(p);
      await expect.poll(() => p.getByLabel('Pretrained model').inputValue(), { timeout: 60_000 }).toBe('files:3 files');
      await p.getByRole('button', { name: `Resume from step ${earlier}`, exact: true }).click();
      await expect
        .poll(() => p.getByRole('status', { name: 'Training status' }).textContent(), {
          timeout: 150_000,
          interval: 300,
        })
        .toBe('Done');
      expect(await p.getByTestId('resumed-from').textContent()).toContain(`step ${earlier}`);
    } finally {
      await own.close();
    }
    expect(pageErrors).toEqual([]);
  });
});
