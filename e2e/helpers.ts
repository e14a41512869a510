// Shared steps of the browser tests: number fields, opening the bundled models, short runs, watching the network.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { expect, inject } from 'vitest';

export async function setNumber(page: Page, label: string, value: number): Promise<void> {
  const input = page.getByLabel(label, { exact: true });
  await input.fill(String(value));
  await expect.poll(() => input.inputValue()).toBe(String(value));
}

/** The bundled gpt2-tiny's folder, whose files the tests pick as a model of their own. */
export const GPT2_TINY_DIR = join(import.meta.dirname, '..', 'public', 'models', 'gpt2-tiny');

/** Loads gpt2-tiny as picked files (the set-up panel's Files source); its model id is then "files:3 files". */
export async function pickGpt2TinyFiles(page: Page): Promise<void> {
  await page.getByRole('button', { name: 'Files', exact: true }).click();
  await page
    .getByLabel('Pick model files')
    .setInputFiles(['config.json', 'tokenizer.json', 'model.safetensors'].map((f) => join(GPT2_TINY_DIR, f)));
}

/**
 * Opens the page (the dev server's, or the one at `base`) on gpt2-tiny with its demo text, and waits for the model
 * summary and the WebGPU backend.
 */
export async function openGpt2Tiny(page: Page, query = '', base = inject('baseUrl')): Promise<void> {
  await page.goto(`${base}/${query}`);
  await page.getByLabel('Pretrained model').selectOption('gpt2-tiny');
  await expect.poll(() => page.getByLabel('Architecture').textContent(), { timeout: 60_000 }).toContain('Layers2');
  await expect
    .poll(() => page.getByRole('table', { name: 'Data preview' }).textContent(), { timeout: 30_000 })
    .toContain('State of the Union');
  await expect.poll(() => page.getByLabel('Compute backend').textContent(), { timeout: 60_000 }).toBe('WebGPU');
}

/** Settings of a short dynamic-rank run that prunes every step (so the heatmap and prune log change as it trains). */
export async function setShortRun(
  page: Page,
  o: { steps: number; batch: number; seq: number; budget: number },
): Promise<void> {
  await setNumber(page, 'Steps', o.steps);
  await setNumber(page, 'Batch size', o.batch);
  await setNumber(page, 'Sequence length', o.seq);
  await setNumber(page, 'Final budget b(T)', o.budget);
  await page.getByText('Advanced').click();
  await setNumber(page, 'Prune interval', 1);
}

/**
 * The step the run bar shows ("step 7 / 20"), 0 before the first. A plain selector, not a role query: computing
 * accessible names walks the whole page on its main thread, which would add work to what a timing test measures.
 */
export async function shownStep(page: Page): Promise<number> {
  const text = await page.evaluate(() => document.querySelector('section[aria-label="Run"]')?.textContent ?? '');
  return Number(/step (\d+) \//.exec(text)?.[1] ?? 0);
}

/** The bundled llama-demo's folder (Llama architecture, 4 layers), which the hub test serves as a model id. */
export const LLAMA_DEMO_DIR = join(import.meta.dirname, '..', 'public', 'models', 'llama-demo');

/** Llama's adaptable linears per layer, in the heatmap's row order. */
export const LLAMA_MODULE_TYPES = [
  'q_proj',
  'k_proj',
  'v_proj',
  'o_proj',
  'gate_proj',
  'up_proj',
  'down_proj',
] as const;

/** Clicks a download button, saves the file into `dir` and returns its name and bytes. */
export async function downloadBytes(
  page: Page,
  button: string,
  dir: string,
): Promise<{ name: string; bytes: Uint8Array }> {
  const [dl] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: button }).click()]);
  const path = join(dir, dl.suggestedFilename());
  await dl.saveAs(path);
  return { name: dl.suggestedFilename(), bytes: new Uint8Array(readFileSync(path)) };
}

/** Opens the page on the bundled llama-demo and waits for its summary and the WebGPU backend. */
export async function openLlamaDemo(page: Page): Promise<void> {
  await page.goto(inject('baseUrl'));
  await page.getByLabel('Pretrained model').selectOption('llama-demo');
  await expect
    .poll(() => page.getByLabel('Architecture').textContent(), { timeout: 60_000 })
    .toContain('Llama (causal LM)');
  await expect.poll(() => page.getByLabel('Compute backend').textContent(), { timeout: 60_000 }).toBe('WebGPU');
}

/** Chooses bert-tiny with its demo data (spam.csv) and trains LoRA r=2 for `steps` steps to the end. */
export async function trainBertTinyLora(page: Page, steps: number): Promise<void> {
  if (page.url() === 'about:blank') await page.goto(inject('baseUrl'));
  await page.getByLabel('Pretrained model').selectOption('bert-tiny');
  await expect.poll(() => page.getByLabel('Architecture').textContent(), { timeout: 60_000 }).toContain('BERT');
  await expect
    .poll(() => page.getByRole('table', { name: 'Data preview' }).textContent(), { timeout: 30_000 })
    .toContain('label');
  await page.getByRole('radio', { name: 'LoRA' }).check();
  await setNumber(page, 'Rank r', 2);
  await setNumber(page, 'Steps', steps);
  await setNumber(page, 'Batch size', 4);
  await setNumber(page, 'Sequence length', 32);
  await page.getByRole('button', { name: /Start training|Train again/ }).click();
  await expect
    .poll(() => page.getByRole('status', { name: 'Training status' }).textContent(), {
      timeout: 150_000,
      interval: 500,
    })
    .toBe('Done');
}

/** What the pages and workers of `browser` fetch: requests that leave this machine, and every .wasm response. */
export function watchNetwork(browser: BrowserContext): { offsite: string[]; wasm: { url: string; status: number }[] } {
  const seen = { offsite: [] as string[], wasm: [] as { url: string; status: number }[] };
  browser.on('request', (r) => {
    const url = new URL(r.url());
    if (!['127.0.0.1', 'localhost'].includes(url.hostname) && !['blob:', 'data:'].includes(url.protocol))
      seen.offsite.push(r.url());
  });
  browser.on('response', (r) => {
    if (r.url().includes('.wasm')) seen.wasm.push({ url: r.url(), status: r.status() });
  });
  return seen;
}
