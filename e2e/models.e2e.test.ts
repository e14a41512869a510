// Model sources in the picker: the bundled gpt2-tiny loaded again through "URL" (the dev server's folder), through a
// Hugging Face id against a hub base URL that the test serves, and through picked files; a bad or unknown id shows
// its error under the model field; a run trains on the hub-loaded model.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { GPT2_TINY_DIR, pickGpt2TinyFiles, setNumber } from './helpers';
import { launch } from './setup/chromium';

const MODEL_DIR = GPT2_TINY_DIR;
const HUB = 'http://hub.test';

describe('model sources', () => {
  let browser: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];
  const hubHits: string[] = [];

  beforeAll(async () => {
    browser = await launch({ width: 1280, height: 800 });
    // The fake hub: {HUB}/{owner}/{name}/resolve/main/{file}; only acme/gpt2-tiny exists (the bundled files).
    await browser.route(`${HUB}/**`, async (route) => {
      const url = new URL(route.request().url());
      hubHits.push(url.pathname);
      const m = /^\/acme\/gpt2-tiny\/resolve\/main\/([\w.-]+)$/.exec(url.pathname);
      const file = m && join(MODEL_DIR, m[1]);
      if (!file || !existsSync(file))
        return route.fulfill({
          status: 404,
          contentType: 'text/plain',
          body: 'Entry not found',
          headers: { 'access-control-allow-origin': '*' },
        });
      return route.fulfill({
        status: 200,
        contentType: 'application/octet-stream',
        body: readFileSync(file),
        headers: { 'access-control-allow-origin': '*' },
      });
    });
    page = await browser.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
  });
  afterAll(async () => {
    await browser?.close();
  });

  const picked = () => page.getByLabel('Pretrained model').inputValue();
  const arch = () => page.getByLabel('Architecture').textContent();
  const modelAlerts = () => page.getByRole('region', { name: 'Set up' }).getByRole('alert').allTextContents();

  it("loads gpt2-tiny through a folder URL, a hub id and picked files, and shows a bad id's error", async () => {
    const base = inject('baseUrl');
    await page.goto(base);
    await expect.poll(arch, { timeout: 60_000 }).toContain('Layers2');

    await page.getByRole('button', { name: 'URL', exact: true }).click();
    await page.getByLabel('Model folder URL').fill(`${base}/models/gpt2-tiny/`);
    await page.getByRole('button', { name: 'Load from the URL' }).click();
    await expect.poll(picked, { timeout: 60_000 }).toBe(`url:${base}/models/gpt2-tiny/`);
    await expect.poll(arch, { timeout: 60_000 }).toContain('Layers2');

    await page.getByRole('button', { name: 'Hugging Face', exact: true }).click();
    await page.getByLabel('Hub base URL').fill(HUB);
    await page.getByLabel('Hugging Face model id').fill('acme/gpt2-tiny');
    await page.getByRole('button', { name: 'Load from the hub' }).click();
    await expect.poll(picked, { timeout: 60_000 }).toBe('hub:acme/gpt2-tiny');
    await expect.poll(arch, { timeout: 60_000 }).toContain('Layers2');
    expect(hubHits).toContain('/acme/gpt2-tiny/resolve/main/config.json');
    expect(hubHits).toContain('/acme/gpt2-tiny/resolve/main/model.safetensors');

    await page.getByLabel('Hugging Face model id').fill('acme/no-such-model');
    await page.getByRole('button', { name: 'Load from the hub' }).click();
    await expect
      .poll(async () => (await modelAlerts()).join('\n'), { timeout: 30_000 })
      .toMatch(/config\.json: .*acme\/no-such-model.* answered HTTP 404/);
    await page.getByLabel('Hugging Face model id').fill('not a model id!');
    await page.getByRole('button', { name: 'Load from the hub' }).click();
    await expect
      .poll(async () => (await modelAlerts()).join('\n'), { timeout: 30_000 })
      .toContain('is not a Hugging Face model id');
    expect(await picked()).toBe('hub:acme/gpt2-tiny');

    await pickGpt2TinyFiles(page);
    await expect.poll(picked, { timeout: 60_000 }).toBe('files:3 files');
    await expect.poll(arch, { timeout: 60_000 }).toContain('Layers2');
    expect(pageErrors).toEqual([]);
  });

  it('trains on the model loaded from the hub', async () => {
    await page.getByLabel('Pretrained model').selectOption('hub:acme/gpt2-tiny');
    await expect.poll(arch, { timeout: 60_000 }).toContain('Layers2');
    await expect
      .poll(() => page.getByRole('table', { name: 'Data preview' }).textContent(), { timeout: 30_000 })
      .toContain('State of the Union');
    await setNumber(page, 'Steps', 2);
    await setNumber(page, 'Batch size', 1);
    await setNumber(page, 'Sequence length', 16);
    await page.getByRole('button', { name: 'Start training' }).click();
    await expect
      .poll(() => page.getByRole('status', { name: 'Training status' }).textContent(), {
        timeout: 120_000,
        interval: 500,
      })
      .toBe('Done');
    expect(pageErrors).toEqual([]);
  });
});
