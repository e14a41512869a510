// The bundled Llama-architecture demo in the playground: pick llama-demo, train a short dynamic-rank run on the State
// of the Union text, read the heatmap (seven module types x four layers), generate with base and adapted models,
// export the PEFT adapter with Llama's module paths; then load the same files through a Hugging Face id. The page is
// a production build (vite preview), so the bundled folder must reach the built site.

import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { strFromU8, unzipSync } from 'fflate';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSafetensors } from '../src/models/safetensorsRead';
import { downloadBytes, LLAMA_DEMO_DIR, LLAMA_MODULE_TYPES, setShortRun } from './helpers';
import { launch } from './setup/chromium';
import { type Preview, startPreview } from './setup/preview';

const ARTIFACTS = join(import.meta.dirname, 'artifacts');
const LAYERS = 4;
const MODULES = LAYERS * LLAMA_MODULE_TYPES.length;
const BUDGET = 2;
const HUB = 'http://hub.test';

describe('llama-demo in the playground', () => {
  let browser: BrowserContext;
  let page: Page;
  let site: Preview;
  const pageErrors: string[] = [];
  const hubHits: string[] = [];

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    site = await startPreview();
    browser = await launch({ width: 1280, height: 800 });
    // The fake hub: {HUB}/acme/llama-demo/resolve/main/{file} serves the bundled llama-demo's files.
    await browser.route(`${HUB}/**`, async (route) => {
      const url = new URL(route.request().url());
      hubHits.push(url.pathname);
      const m = /^\/acme\/llama-demo\/resolve\/main\/([\w.-]+)$/.exec(url.pathname);
      const file = m && join(LLAMA_DEMO_DIR, m[1]);
      const headers = { 'access-control-allow-origin': '*' };
      if (!file || !existsSync(file))
        return route.fulfill({ status: 404, contentType: 'text/plain', body: 'Entry not found', headers });
      return route.fulfill({ status: 200, contentType: 'application/octet-stream', body: readFileSync(file), headers });
    });
    page = await browser.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
  });
  afterAll(async () => {
    await browser?.close();
    await site?.close();
  });

  const arch = () => page.getByLabel('Architecture').textContent();
  const status = () => page.getByRole('status', { name: 'Training status' }).textContent();

  it('trains llama-demo with dynamic rank, shows 7 module types x 4 layers, generates and exports', async () => {
    await page.goto(site.url);
    await page.getByLabel('Pretrained model').selectOption('llama-demo');
    await expect.poll(arch, { timeout: 60_000 }).toContain('Llama (causal LM)');
    expect(await arch()).toContain(`Layers${LAYERS}`);
    expect(await arch()).toContain(`${MODULES} linears (${LLAMA_MODULE_TYPES.length} per layer)`);
    await expect
      .poll(() => page.getByRole('table', { name: 'Data preview' }).textContent(), { timeout: 30_000 })
      .toContain('State of the Union');
    await expect.poll(() => page.getByLabel('Compute backend').textContent(), { timeout: 60_000 }).toBe('WebGPU');
    await expect(page.getByRole('radio', { name: 'Dynamic rank' }).isChecked()).resolves.toBe(true);

    await setShortRun(page, { steps: 4, batch: 1, seq: 16, budget: BUDGET });
    await page.getByRole('button', { name: 'Start training' }).click();
    await expect.poll(status, { timeout: 180_000, interval: 500 }).toBe('Done');

    // The heatmap: a row per module type, a column per layer, every cell adapted, modules x b(T) live after pruning.
    const heatmap = page.getByTestId('heatmap');
    await expect.poll(() => heatmap.getAttribute('data-total')).toBe(String(MODULES * BUDGET));
    const rows = await heatmap.locator('tbody th[scope="row"]').allTextContents();
    expect(rows).toHaveLength(LLAMA_MODULE_TYPES.length);
    for (const [i, type] of LLAMA_MODULE_TYPES.entries()) expect(rows[i]).toContain(type);
    const layers = await heatmap.locator('thead th[scope="col"]:not(.corner)').allTextContents();
    expect(layers).toEqual(Array.from({ length: LAYERS }, (_, l) => String(l)));
    const cells = await heatmap
      .locator('td[data-live]')
      .evaluateAll((tds) => tds.map((td) => Number(td.getAttribute('data-live'))));
    expect(cells).toHaveLength(MODULES);
    expect(cells.reduce((a, b) => a + b, 0)).toBe(MODULES * BUDGET);
    expect(await heatmap.locator('td[data-live]').first().getAttribute('aria-label')).toMatch(
      /^model\.layers\.0\.self_attn\.q_proj \(layer 0\)/,
    );

    await page.getByLabel('Length (tokens)').fill('6');
    await page.getByRole('button', { name: 'Generate' }).click();
    await expect
      .poll(() => page.getByRole('region', { name: 'Adapted model' }).textContent(), { timeout: 60_000 })
      .toContain('My fellow Americans');
    await expect
      .poll(() => page.getByRole('region', { name: 'Base model' }).textContent())
      .toContain('My fellow Americans');

    await page.getByRole('button', { name: 'Prepare downloads' }).click();
    await page.getByRole('button', { name: 'Adapter (.zip)' }).waitFor({ timeout: 60_000 });
    const zip = await downloadBytes(page, 'Adapter (.zip)', ARTIFACTS);
    const files = unzipSync(zip.bytes);
    const config = JSON.parse(strFromU8(files['adapter_config.json']));
    expect(config.peft_type).toBe('LORA');
    expect(config.task_type).toBe('CAUSAL_LM');
    const targets = [...(config.target_modules as string[])].sort();
    const expected = Array.from({ length: LAYERS }, (_, l) =>
      LLAMA_MODULE_TYPES.map((t) => {
        const block = ['gate_proj', 'up_proj', 'down_proj'].includes(t) ? 'mlp' : 'self_attn';
        return `model.layers.${l}.${block}.${t}`;
      }),
    )
      .flat()
      .sort();
    expect(targets).toEqual(expected);
    const adapter = parseSafetensors(files['adapter_model.safetensors']);
    expect(adapter.tensors.size).toBe(2 * MODULES);
    expect(Object.values(config.rank_pattern as Record<string, number>).reduce((a, b) => a + b, 0)).toBe(
      MODULES * BUDGET,
    );
    const merged = await downloadBytes(page, 'Merged model.safetensors', ARTIFACTS);
    expect(parseSafetensors(merged.bytes).tensors.has('model.layers.0.self_attn.q_proj.weight')).toBe(true);

    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: join(ARTIFACTS, 'llama-1280-full.png'), fullPage: true });
    await heatmap.screenshot({ path: join(ARTIFACTS, 'llama-heatmap.png') });
    expect(pageErrors).toEqual([]);
  });

  it('loads llama-demo through a Hugging Face id and names the family', async () => {
    if (page.url() === 'about:blank') await page.goto(site.url);
    await page.getByRole('button', { name: 'Hugging Face', exact: true }).click();
    await page.getByLabel('Hub base URL').fill(HUB);
    await page.getByLabel('Hugging Face model id').fill('acme/llama-demo');
    await page.getByRole('button', { name: 'Load from the hub' }).click();
    await expect
      .poll(() => page.getByLabel('Pretrained model').inputValue(), { timeout: 60_000 })
      .toBe('hub:acme/llama-demo');
    await expect.poll(arch, { timeout: 60_000 }).toContain('Llama (causal LM)');
    expect(await arch()).toContain(`Layers${LAYERS}`);
    expect(hubHits).toContain('/acme/llama-demo/resolve/main/config.json');
    expect(hubHits).toContain('/acme/llama-demo/resolve/main/model.safetensors');
    expect(pageErrors).toEqual([]);
  });
});
