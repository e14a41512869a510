// The playground end to end in headless Chromium (WebGPU on SwiftShader, in the training worker): set up gpt2-tiny on
// the bundled State of the Union text, train a short dynamic-rank run, watch the loss chart and the heatmap prune to
// modules x b(T), generate with base and adapted models, export and unzip the PEFT adapter; bad uploads show errors.

import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { strFromU8, unzipSync } from 'fflate';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseSafetensors } from '../src/models/safetensorsRead';
import { setNumber, trainBertTinyLora } from './helpers';
import { launch } from './setup/chromium';

const ARTIFACTS = join(import.meta.dirname, 'artifacts');
const MODULES = 8; // gpt2-tiny: 2 layers x 4 linears
const BUDGET = 2;

async function downloadBytes(page: Page, button: string): Promise<{ name: string; bytes: Uint8Array }> {
  const [dl] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: button }).click()]);
  const path = join(ARTIFACTS, dl.suggestedFilename());
  await dl.saveAs(path);
  return { name: dl.suggestedFilename(), bytes: new Uint8Array(readFileSync(path)) };
}

describe('playground page', () => {
  let browser: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    browser = await launch({ width: 1280, height: 800 });
    page = await browser.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('trains gpt2-tiny with dynamic rank, prunes to the budget, generates and exports a PEFT adapter', async () => {
    let loads = 0;
    page.on('load', () => loads++);
    await page.goto(inject('baseUrl'));
    await page.getByLabel('Pretrained model').selectOption('gpt2-tiny');
    await expect.poll(() => page.getByLabel('Architecture').textContent(), { timeout: 60_000 }).toContain('Layers2');
    await expect
      .poll(() => page.getByRole('table', { name: 'Data preview' }).textContent(), { timeout: 30_000 })
      .toContain('State of the Union');
    await expect.poll(() => page.getByLabel('Compute backend').textContent(), { timeout: 60_000 }).toBe('WebGPU');

    await expect(page.getByRole('radio', { name: 'Dynamic rank' }).isChecked()).resolves.toBe(true);
    const before = await page.getByTestId('trainable').textContent();
    await page.getByRole('checkbox', { name: 'mlp.c_fc' }).uncheck();
    await expect.poll(() => page.getByTestId('trainable').textContent()).not.toBe(before);
    await page.getByRole('checkbox', { name: 'mlp.c_fc' }).check();
    await expect.poll(() => page.getByTestId('trainable').textContent()).toBe(before);

    await setNumber(page, 'Steps', 20);
    await setNumber(page, 'Batch size', 2);
    await setNumber(page, 'Sequence length', 32);
    await setNumber(page, 'Final budget b(T)', BUDGET);
    await page.getByText('Advanced').click();
    await setNumber(page, 'Prune interval', 1);

    const t0 = Date.now();
    await page.getByRole('button', { name: 'Start training' }).click();
    const reloaded = 'the dev server reloaded the page (did a source file change during the test?)';
    const runText = () => page.getByRole('region', { name: 'Run', exact: true }).textContent();
    const stepOf = async () => Number(/step (\d+) \//.exec((await runText()) ?? '')?.[1] ?? 0);
    await expect.poll(stepOf, { timeout: 120_000, interval: 100 }).toBeGreaterThanOrEqual(3);
    // The page still paints while the worker trains: a frame comes (how soon is `npm run bench`'s to measure).
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(r)));
    await page.getByRole('button', { name: 'Pause' }).click();
    await expect
      .poll(() => page.getByRole('status', { name: 'Training status' }).textContent(), { timeout: 30_000 })
      .toBe('Paused');
    const paused = await stepOf();
    await new Promise((r) => setTimeout(r, 1500));
    expect(await stepOf()).toBe(paused);
    expect(paused).toBeLessThan(20);
    await page.getByRole('button', { name: 'Evaluate' }).click();
    await expect
      .poll(() => page.getByTestId('eval').textContent(), { timeout: 60_000 })
      .toContain(`after step ${paused}:`);
    await page.getByRole('button', { name: 'Resume', exact: true }).click();
    await expect
      .poll(() => page.getByRole('region', { name: 'Run', exact: true }).textContent(), {
        timeout: 150_000,
        interval: 200,
      })
      .toContain('step 20 / 20');
    expect(loads, reloaded).toBe(1);
    console.log(
      `trained 20 steps in ${Date.now() - t0} ms (${await page.getByRole('status', { name: 'Training status' }).textContent()})`,
    );
    await expect
      .poll(() => page.getByRole('status', { name: 'Training status' }).textContent(), {
        timeout: 150_000,
        interval: 500,
      })
      .toBe('Done');
    console.log(`evaluated by ${Date.now() - t0} ms`);
    expect(loads, reloaded).toBe(1);

    // The loss chart has a point per step and draws its line.
    expect(Number(await page.getByTestId('loss-chart').getAttribute('data-points'))).toBe(20);
    // GPU memory in use and its peak, next to the analytic estimate
    expect(await page.getByTestId('gpu-memory').textContent()).toMatch(
      /^GPU \d+\.\d MiB · peak \d+\.\d MiB · est\. \d+\.\d MiB$/,
    );
    // SwiftShader runs the flat matmul compiled per shape: no kernel tuning to report (e2e/tuning.e2e.test.ts).
    expect(await page.getByTestId('kernel-tuning').count()).toBe(0);
    await expect.poll(() => page.getByTestId('importance-chart').count()).toBe(1);
    await expect
      .poll(() => page.getByTestId('loss-chart').locator('.loss-line path.recharts-line-curve').getAttribute('d'))
      .toMatch(/^M[\d.]+,[\d.]+(L[\d.]+,[\d.]+){19}$/);
    // The heatmap ends at modules x b(T) live components, after at least one prune event.
    await expect.poll(() => page.getByTestId('heatmap').getAttribute('data-total')).toBe(String(MODULES * BUDGET));
    const cells = await page
      .getByTestId('heatmap')
      .locator('td[data-live]')
      .evaluateAll((tds) => tds.map((td) => Number(td.getAttribute('data-live'))));
    expect(cells).toHaveLength(MODULES);
    expect(cells.reduce((a, b) => a + b, 0)).toBe(MODULES * BUDGET);
    expect(await page.getByRole('list', { name: 'Prune events' }).locator('li').count()).toBeGreaterThan(0);
    await expect.poll(() => page.getByTestId('eval').textContent()).toMatch(/after step 20: .*perplexity \d/);
    // Replaying step 0 shows every module at R0 = 3.
    await page.getByLabel('Replay step').fill('0');
    await expect.poll(() => page.getByTestId('heatmap').getAttribute('data-total')).toBe(String(MODULES * 3));
    await page.getByRole('button', { name: 'Follow live' }).click();

    await setNumber(page, 'Length (tokens)', 6);
    await page.getByRole('button', { name: 'Generate' }).click();
    await expect
      .poll(() => page.getByRole('region', { name: 'Adapted model' }).textContent(), { timeout: 60_000 })
      .toContain('My fellow Americans');
    await expect
      .poll(() => page.getByRole('region', { name: 'Base model' }).textContent())
      .toContain('My fellow Americans');

    console.log(`generated by ${Date.now() - t0} ms`);
    await page.getByRole('button', { name: 'Prepare downloads' }).click();
    await page.getByRole('button', { name: 'Adapter (.zip)' }).waitFor({ timeout: 60_000 });
    const zip = await downloadBytes(page, 'Adapter (.zip)');
    const files = unzipSync(zip.bytes);
    expect(Object.keys(files).sort()).toEqual(['adapter_config.json', 'adapter_model.safetensors', 'rank_map.json']);
    const config = JSON.parse(strFromU8(files['adapter_config.json']));
    expect(config.peft_type).toBe('LORA');
    const ranks = Object.values(config.rank_pattern as Record<string, number>);
    expect(ranks.reduce((a, b) => a + b, 0)).toBe(MODULES * BUDGET);
    expect(JSON.parse(strFromU8(files['rank_map.json'])).total).toBe(MODULES * BUDGET);
    const adapter = parseSafetensors(files['adapter_model.safetensors']);
    expect(adapter.tensors.size).toBe(2 * ranks.length);
    const merged = await downloadBytes(page, 'Merged model.safetensors');
    expect(parseSafetensors(merged.bytes).tensors.has('transformer.h.0.attn.c_attn.weight')).toBe(true);
    const svg = await downloadBytes(page, 'Heatmap (SVG)');
    expect(strFromU8(svg.bytes)).toMatch(/^<svg[^>]*xmlns/);

    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: join(ARTIFACTS, 'playground-1280x800.png') });
    await page.screenshot({ path: join(ARTIFACTS, 'playground-1280-full.png'), fullPage: true });
    await page.setViewportSize({ width: 420, height: 900 });
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: join(ARTIFACTS, 'playground-420x900.png') });
    await page.screenshot({ path: join(ARTIFACTS, 'playground-420-full.png'), fullPage: true });
    await page.setViewportSize({ width: 1280, height: 800 });
    expect(pageErrors).toEqual([]);
  });

  it('trains bert-tiny on spam.csv with LoRA and classifies a text with both models', async () => {
    await trainBertTinyLora(page, 8);
    await expect.poll(() => page.getByTestId('eval').textContent()).toMatch(/accuracy \d/);
    // LoRA keeps r components in each of the 12 adapted modules (2 layers x 6 linears).
    await expect.poll(() => page.getByTestId('heatmap').getAttribute('data-total')).toBe(String(12 * 2));
    await page.getByRole('button', { name: 'Classify' }).click();
    const adapted = page.getByRole('region', { name: 'Adapted model' });
    await expect.poll(() => adapted.textContent(), { timeout: 60_000 }).toMatch(/ham.*%.*spam.*%/);
    const probs = (await adapted.locator('.mono').allTextContents()).map((t) => parseFloat(t));
    expect(probs.reduce((a, b) => a + b, 0)).toBeCloseTo(100, 0);
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: join(ARTIFACTS, 'playground-bert-1280-full.png'), fullPage: true });
    expect(pageErrors).toEqual([]);
  });

  it('shows a specific, actionable error for a bad upload and lists skipped rows', async () => {
    if (page.url() === 'about:blank') await page.goto(inject('baseUrl'));
    const upload = page.getByLabel('Upload a data file (CSV, TSV, JSONL or TXT)');
    await upload.setInputFiles({
      name: 'sales.xlsx',
      mimeType: 'application/octet-stream',
      buffer: Buffer.from('PK\u0003\u0004 not a table'),
    });
    const alert = page.getByRole('alert').filter({ hasText: 'sales.xlsx' });
    await expect.poll(() => alert.textContent()).toContain('.xlsx files cannot be read here');
    expect(await page.getByRole('button', { name: /Start training|Train again/ }).isDisabled()).toBe(true);

    await page.getByLabel('Pretrained model').selectOption('gpt2-tiny');
    await upload.setInputFiles({
      name: 'notes.jsonl',
      mimeType: 'application/json',
      buffer: Buffer.from('{"text":"one"}\n{"text": broken\n{"text":"three"}\n'),
    });
    await expect.poll(() => page.getByRole('list', { name: 'Skipped rows' }).textContent()).toContain('line 2');
    await expect.poll(() => page.getByRole('table', { name: 'Data preview' }).textContent()).toContain('three');
    expect(await page.getByRole('alert').filter({ hasText: 'sales.xlsx' }).count()).toBe(0);
    await page.screenshot({ path: join(ARTIFACTS, 'playground-bad-upload.png'), fullPage: true });
    expect(pageErrors).toEqual([]);
  });

  it('trains for a number of epochs: the step count follows from the training split', async () => {
    if (page.url() === 'about:blank') await page.goto(inject('baseUrl'));
    await page.getByLabel('Pretrained model').selectOption('gpt2-tiny');
    await expect.poll(() => page.getByLabel('Architecture').textContent(), { timeout: 60_000 }).toContain('Layers2');
    const text = Array.from(
      { length: 40 },
      (_, i) => `Line ${i}: the committee met on Tuesday and agreed to meet again next week.`,
    ).join('\n');
    await page
      .getByLabel('Upload a data file (CSV, TSV, JSONL or TXT)')
      .setInputFiles({ name: 'minutes.txt', mimeType: 'text/plain', buffer: Buffer.from(text) });
    await expect
      .poll(() => page.getByRole('table', { name: 'Data preview' }).textContent(), { timeout: 30_000 })
      .toContain('Line 0');
    await setNumber(page, 'Batch size', 4);
    await setNumber(page, 'Sequence length', 32);
    await setNumber(page, 'Epochs', 2);
    expect(await page.getByLabel('Steps', { exact: true }).isDisabled()).toBe(true);
    await page.getByRole('button', { name: /Start training|Train again/ }).click();
    await expect
      .poll(() => page.getByRole('status', { name: 'Training status' }).textContent(), {
        timeout: 150_000,
        interval: 500,
      })
      .toBe('Done');
    const run = (await page.getByRole('region', { name: 'Run', exact: true }).textContent()) ?? '';
    const windows = Number(/([\d,]+) training and/.exec(run)?.[1].replace(/,/g, ''));
    expect(windows).toBeGreaterThan(4);
    const steps = 2 * Math.ceil(windows / 4);
    expect(run).toContain(`step ${steps} / ${steps}`);
    // Back to steps for the tests after this one.
    await page.getByLabel('Epochs', { exact: true }).fill('');
    expect(await page.getByLabel('Steps', { exact: true }).isDisabled()).toBe(false);
    expect(pageErrors).toEqual([]);
  });

  it('falls back to the CPU backend with a visible explanation and still trains', async () => {
    const cpuPage = await browser.newPage();
    cpuPage.on('pageerror', (e) => pageErrors.push(e.message));
    await cpuPage.goto(`${inject('baseUrl')}/?backend=cpu`);
    await expect.poll(() => cpuPage.getByLabel('Compute backend').textContent(), { timeout: 60_000 }).toBe('CPU');
    await expect
      .poll(() => cpuPage.getByRole('alert').filter({ hasText: 'CPU backend' }).textContent())
      .toContain('tiny demo models');
    await expect.poll(() => cpuPage.getByLabel('Architecture').textContent(), { timeout: 60_000 }).toContain('Layers2');
    await setNumber(cpuPage, 'Steps', 4);
    await setNumber(cpuPage, 'Batch size', 2);
    await setNumber(cpuPage, 'Sequence length', 16);
    await cpuPage.getByRole('button', { name: 'Start training' }).click();
    await expect
      .poll(() => cpuPage.getByRole('status', { name: 'Training status' }).textContent(), {
        timeout: 120_000,
        interval: 500,
      })
      .toBe('Done');
    expect(Number(await cpuPage.getByTestId('loss-chart').getAttribute('data-points'))).toBe(4);
    await cpuPage.close();
    expect(pageErrors).toEqual([]);
  });

  it('reports a lost GPU device with what to do, and trains again on a new device', async () => {
    const p = await browser.newPage();
    p.on('pageerror', (e) => pageErrors.push(e.message));
    await p.goto(`${inject('baseUrl')}/?debug`);
    await expect.poll(() => p.getByLabel('Compute backend').textContent(), { timeout: 60_000 }).toBe('WebGPU');
    await expect.poll(() => p.getByLabel('Architecture').textContent(), { timeout: 60_000 }).toContain('Layers2');
    await p.evaluate(() => window.__dynrankDebug!.loseDevice());
    const alert = p.getByRole('alert').filter({ hasText: 'GPU device was lost' });
    await expect.poll(() => alert.textContent(), { timeout: 30_000 }).toContain('Press Start to train again');
    await setNumber(p, 'Steps', 2);
    await setNumber(p, 'Batch size', 1);
    await setNumber(p, 'Sequence length', 16);
    await p.getByRole('button', { name: 'Start training' }).click();
    await expect
      .poll(() => p.getByRole('status', { name: 'Training status' }).textContent(), { timeout: 120_000, interval: 500 })
      .toBe('Done');
    expect(await alert.count()).toBe(0);
    await p.close();
    expect(pageErrors).toEqual([]);
  });
});
