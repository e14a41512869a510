// The ONNX export from the page: train a short run on llama-demo, press "ONNX for transformers.js" (the worker builds
// the merged model's transformers.js folder and zips it), download and read the zip, then generate in Try it: the
// exported model runs in onnxruntime-web (its .wasm served by the dev server, nothing from the network) beside this
// engine, and the two greedy continuations agree; then the same for a bert-tiny classifier (class probabilities).
// Screenshots go to e2e/artifacts/.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { strFromU8, unzipSync } from 'fflate';
import * as ort from 'onnxruntime-web';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { downloadBytes, openLlamaDemo, setShortRun, trainBertTinyLora, watchNetwork } from './helpers';
import { launch } from './setup/chromium';

const ARTIFACTS = join(import.meta.dirname, 'artifacts');
const PROMPT = 'My fellow Americans,';

describe('ONNX export and try-it in onnxruntime-web', () => {
  let browser: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];
  let offsite: string[] = [];
  let wasm: { url: string; status: number }[] = [];

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    browser = await launch({ width: 1280, height: 900 });
    page = await browser.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
    // Workers' requests too: the context sees them all.
    ({ offsite, wasm } = watchNetwork(browser));
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('exports llama-demo as a transformers.js zip and try-it shows the ONNX model agreeing with ours', async () => {
    await openLlamaDemo(page);
    await setShortRun(page, { steps: 4, batch: 1, seq: 16, budget: 2 });
    await page.getByRole('button', { name: 'Start training' }).click();
    await expect
      .poll(() => page.getByRole('status', { name: 'Training status' }).textContent(), {
        timeout: 180_000,
        interval: 500,
      })
      .toBe('Done');

    await page.getByRole('button', { name: 'ONNX for transformers.js' }).click();
    await page.getByRole('button', { name: 'ONNX folder (.zip)' }).waitFor({ timeout: 120_000 });
    const zip = await downloadBytes(page, 'ONNX folder (.zip)', ARTIFACTS);
    expect(zip.name).toMatch(/^llama-demo-.*-onnx\.zip$/);
    const files = unzipSync(zip.bytes);
    expect(Object.keys(files).sort()).toEqual([
      'config.json',
      'generation_config.json',
      'onnx/model.onnx',
      'tokenizer.json',
      'tokenizer_config.json',
    ]);
    const config = JSON.parse(strFromU8(files['config.json']));
    expect(config).toMatchObject({ architectures: ['LlamaForCausalLM'], head_dim: 32, num_key_value_heads: 2 });
    expect(JSON.parse(strFromU8(files['generation_config.json'])).eos_token_id).toEqual([2045, 2047]);
    // The file is a model onnxruntime opens, with the decoder inputs transformers.js feeds.
    ort.env.wasm.numThreads = 1;
    const s = await ort.InferenceSession.create(files['onnx/model.onnx']);
    expect(s.inputNames.slice(0, 4)).toEqual(['input_ids', 'attention_mask', 'position_ids', 'past_key_values.0.key']);
    await s.release();

    await page.getByLabel('Prompt').fill(PROMPT);
    await page.getByLabel('Length (tokens)').fill('12');
    await page.getByRole('button', { name: 'Generate' }).click();
    const onnx = page.getByRole('region', { name: 'ONNX (onnxruntime-web), greedy' });
    await expect.poll(() => onnx.textContent(), { timeout: 120_000 }).toContain(PROMPT);
    const verdict = await page.getByRole('region', { name: 'ONNX agreement' }).textContent();
    expect(verdict).toContain('Agree: the same greedy tokens as the adapted model here.');
    const continuation = (await onnx.textContent())!.split(PROMPT)[1];
    expect(continuation.length).toBeGreaterThan(0);
    console.info(`ONNX greedy continuation: ${JSON.stringify(continuation)}; wasm: ${JSON.stringify(wasm)}`);

    expect(wasm.length).toBeGreaterThan(0);
    expect(wasm.every((w) => w.status === 200 || w.status === 304)).toBe(true);
    expect(offsite).toEqual([]);
    await page.getByRole('region', { name: 'Try it' }).screenshot({ path: join(ARTIFACTS, 'onnx-try.png') });
    await page
      .getByRole('region', { name: 'Export', exact: true })
      .screenshot({ path: join(ARTIFACTS, 'onnx-export.png') });
    expect(pageErrors).toEqual([]);
  });

  it('exports a bert-tiny classifier and try-it shows the ONNX probabilities agreeing with ours', async () => {
    await trainBertTinyLora(page, 4);
    await page.getByRole('button', { name: 'ONNX for transformers.js' }).click();
    await page.getByRole('button', { name: 'ONNX folder (.zip)' }).waitFor({ timeout: 120_000 });
    const zip = unzipSync((await downloadBytes(page, 'ONNX folder (.zip)', ARTIFACTS)).bytes);
    const config = JSON.parse(strFromU8(zip['config.json']));
    expect(config.architectures).toEqual(['BertForSequenceClassification']);
    expect(Object.values(config.id2label)).toEqual(['ham', 'spam']);

    await page.getByRole('button', { name: 'Classify' }).click();
    const onnx = page.getByRole('region', { name: 'ONNX (onnxruntime-web)' });
    await expect.poll(() => onnx.textContent(), { timeout: 120_000 }).toMatch(/ham.*%.*spam.*%/);
    const adapted = await page.getByRole('region', { name: 'Adapted model' }).locator('.mono').allTextContents();
    expect(await onnx.locator('.mono').allTextContents()).toEqual(adapted);
    expect(await page.getByRole('region', { name: 'ONNX agreement' }).textContent()).toMatch(/Agree: max \|Δp\|/);
    await page.getByRole('region', { name: 'Try it' }).screenshot({ path: join(ARTIFACTS, 'onnx-try-bert.png') });
    expect(offsite).toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});
