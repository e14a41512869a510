// The page finds the WebGPU adapter in headless Chromium and its WGSL kernels match the CPU references there.

import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { launch } from './setup/chromium';

describe('kernel self-test in the page', () => {
  let browser: BrowserContext;
  let page: Page;

  beforeAll(async () => {
    browser = await launch();
    page = await browser.newPage();
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('reports the adapter and every kernel passes against its CPU reference', async () => {
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(inject('baseUrl'));
    await page.waitForFunction(() => window.__dynrankSelfTest !== undefined, undefined, { timeout: 240_000 });
    const st = await page.evaluate(() => window.__dynrankSelfTest!);
    expect(st.error, 'self-test error').toBeUndefined();
    expect(st.adapter?.vendor.length).toBeGreaterThan(0);
    expect(st.results.length).toBeGreaterThanOrEqual(5);
    for (const r of st.results) expect(r.ok, `${r.op}: max abs err ${r.maxAbsErr} > ${r.tolerance}`).toBe(true);
    await expect.poll(() => page.getByTestId('selftest').locator('tbody tr').count()).toBe(st.results.length);
    expect(errors).toEqual([]);
  });
});
