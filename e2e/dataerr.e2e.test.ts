// A messy upload in the page: the data section lists the rows a classifier skips with their lines and reasons; and a
// saved run whose upload was not stored refuses to resume (instead of reading the dev server's index.html as data)
// until the same file is uploaded again.

import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { setNumber } from './helpers';
import { launch } from './setup/chromium';

const CSV = [
  'text,label',
  ...Array.from({ length: 24 }, (_, i) => {
    const row = i % 2 ? `"Lunch at ${i}?",ham` : `"WIN cash prize ${i} now",spam`;
    return i % 6 === 0 ? [row, '"Your invoice is attached",', '"URGENT: verify your account",spam,extra'] : [row];
  }).flat(),
].join('\n');

const savedSteps = (page: Page) =>
  page
    .getByRole('list', { name: 'Checkpoints' })
    .locator('li')
    .evaluateAll((lis) => lis.map((li) => Number(li.getAttribute('data-step'))));

/** Makes every saved checkpoint look like one whose upload could not be stored (no data key, origin or digest). */
const forgetStoredData = (page: Page) =>
  page.evaluate(
    () =>
      new Promise<void>((resolve, reject) => {
        const open = indexedDB.open('dynrank');
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const t = open.result.transaction('checkpoints', 'readwrite'),
            store = t.objectStore('checkpoints');
          const all = store.getAll();
          all.onsuccess = () => {
            for (const rec of all.result)
              store.put({ ...rec, dataKey: null, dataOrigin: undefined, dataSha256: undefined });
          };
          t.oncomplete = () => {
            open.result.close();
            resolve();
          };
          t.onerror = () => reject(t.error);
        };
      }),
  );

describe('bad rows and a gone upload', () => {
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

  it('lists skipped rows, and resumes a run whose upload is gone only from the same file uploaded again', async () => {
    await page.goto(inject('baseUrl'));
    await page.getByLabel('Pretrained model').selectOption('bert-tiny');
    await expect.poll(() => page.getByLabel('Architecture').textContent(), { timeout: 60_000 }).toContain('BERT');
    const status = () => page.getByRole('status', { name: 'Training status' }).textContent();
    const upload = () =>
      page
        .getByLabel('Upload a data file (CSV, TSV, JSONL or TXT)')
        .setInputFiles({ name: 'messy.csv', mimeType: 'text/csv', buffer: Buffer.from(CSV) });
    await upload();
    const skipped = page.getByRole('list', { name: 'Skipped rows' });
    await expect.poll(() => skipped.textContent(), { timeout: 30_000 }).toContain('line 3: empty label ("label")');
    expect(await skipped.textContent()).toContain('line 4: 3 fields, but the header has 2');
    expect(await page.locator('.bad-rows summary').textContent()).toBe('8 rows skipped');

    await page.getByRole('radio', { name: 'LoRA' }).check();
    await setNumber(page, 'Rank r', 2);
    await setNumber(page, 'Steps', 6);
    await setNumber(page, 'Batch size', 2);
    await setNumber(page, 'Sequence length', 16);
    await setNumber(page, 'Checkpoint every', 2);
    await page.getByRole('button', { name: /Start training|Train again/ }).click();
    await expect.poll(status, { timeout: 150_000, interval: 300 }).toBe('Done');
    const from = Math.min(...(await savedSteps(page)));
    expect(from).toBeLessThan(6);

    await forgetStoredData(page);
    await page.reload();
    await expect.poll(() => savedSteps(page), { timeout: 30_000 }).not.toEqual([]);
    await page.getByRole('button', { name: `Resume from step ${from}`, exact: true }).click();
    const gone = page.getByRole('alert').filter({ hasText: 'messy.csv' });
    await expect
      .poll(() => gone.textContent(), { timeout: 30_000 })
      .toContain(
        'The data this run trained on (messy.csv) is no longer stored in this browser. Upload messy.csv again',
      );
    expect(await status()).not.toBe('Training');

    // After the reload the page is on its first model (GPT-2), which skips only the rows it cannot read.
    await upload();
    await expect.poll(() => skipped.textContent(), { timeout: 30_000 }).toContain('line 4');
    await page.getByRole('button', { name: `Resume from step ${from}`, exact: true }).click();
    await expect.poll(status, { timeout: 150_000, interval: 300 }).toBe('Done');
    expect(await page.getByTestId('resumed-from').textContent()).toContain(`step ${from}`);
    expect(pageErrors).toEqual([]);
  });
});
