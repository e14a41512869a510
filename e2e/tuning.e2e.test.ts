// Kernel tuning reaches the page: with the ?debug hook that makes SwiftShader take the GPU kernels' path (tiled
// matmuls, which real GPUs run), a short gpt2-tiny run tunes its matmul shapes after the first step and the run bar
// says so, then trains to the end. (On SwiftShader's own path, the flat kernel, there is nothing to tune: the
// playground test checks that the run bar says nothing there.)

import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openGpt2Tiny, setNumber } from './helpers';
import { launch } from './setup/chromium';

describe('kernel tuning in the page', () => {
  let browser: BrowserContext;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    browser = await launch({ width: 1280, height: 800 });
  });
  afterAll(async () => {
    await browser?.close();
  });

  async function run(): Promise<Page> {
    const p = await browser.newPage();
    p.on('pageerror', (e) => pageErrors.push(e.message));
    await openGpt2Tiny(p, '?debug');
    await setNumber(p, 'Steps', 3);
    await setNumber(p, 'Batch size', 1);
    await setNumber(p, 'Sequence length', 16);
    await p.evaluate(() => window.__dynrankDebug!.gpuPath());
    await p.getByRole('button', { name: 'Start training' }).click();
    await expect
      .poll(() => p.getByRole('status', { name: 'Training status' }).textContent(), { timeout: 180_000 })
      .toMatch(/done/i);
    return p;
  }

  it('the run bar reports the tuning', async () => {
    const p = await run();
    const tuning = p.getByTestId('kernel-tuning');
    expect(await tuning.textContent()).toMatch(/^kernels tuned \(\d+\/\d+ changed\)$/);
    expect(await tuning.getAttribute('title')).toMatch(
      /^kernels tuned for this GPU in \d+\.\d s: \d+ of \d+ matmul shapes take another kernel/,
    );
    const [, timed] = /\/(\d+) changed/.exec((await tuning.textContent()) ?? '') ?? [];
    // gpt2-tiny's forward and backward matmuls: the four linear layers and the LM head, each way.
    expect(Number(timed)).toBeGreaterThanOrEqual(8);
    await p.close();
    expect(pageErrors).toEqual([]);
  });
});
