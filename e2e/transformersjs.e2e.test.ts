// transformers.js itself loads what `dynrank export --format onnx` writes, in the page: a llama-demo LoRA run and a
// bert-tiny LoRA classifier, trained and exported with the CLI (CPU backend), are served from the test's own origin
// under /tjs-models/, and a test-only page (e2e/pages/transformersjs.html, never part of the app's bundle) opens them
// with @huggingface/transformers' web build on our onnxruntime-web. Its greedy ids on three prompts equal
// `dynrank generate --temperature 0`'s, and its class logits equal `dynrank logits`'s. Nothing comes from the network
// (local models only; the .wasm is the one the dev server serves). Screenshot to e2e/artifacts/.

import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, normalize } from 'node:path';
import Papa from 'papaparse';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { main } from '../src/cli/main';
import { watchNetwork } from './helpers';
import type { TjsClassification, TjsGeneration } from './pages/transformersjs';
import { launch } from './setup/chromium';

const ARTIFACTS = join(import.meta.dirname, 'artifacts');
const PROMPTS = ['My fellow Americans,', 'Call me Ishmael.', 'The state of the union is'];
const MAX_NEW_TOKENS = 12;
const TEXTS = ['Win money now! Lose weight and gain muscle, guaranteed.', 'see you at lunch'];
/** A short LoRA run whose learning rate moves the greedy ids (checked below: the base model's differ). */
const SHORT = ['--method', 'lora', '--rank', '4', '--steps', '6', '--batch', '2', '--seq', '16', '--lr', '0.01'];
/** Both sides compute in float32 with different summation orders; relative to the logits when they are below 1. */
const TOL = 1e-4;

/** Runs the CLI in this process and returns what it printed; throws with its stderr when it fails. */
async function dynrank(args: string[]): Promise<string> {
  const out: string[] = [],
    err: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...a) => {
    out.push(a.join(' '));
  });
  const error = vi.spyOn(console, 'error').mockImplementation((...a) => {
    err.push(a.join(' '));
  });
  const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    const code = await main(args);
    if (code !== 0) throw new Error(`dynrank ${args.join(' ')} exited ${code}:\n${err.join('\n')}`);
    return out.join('\n');
  } finally {
    log.mockRestore();
    error.mockRestore();
    stderr.mockRestore();
  }
}

describe('transformers.js loads the exported ONNX folders in the page', () => {
  const root = mkdtempSync(join(tmpdir(), 'dynrank-tjs-'));
  /** Exported folders by the name the page asks for. */
  const folders = new Map<string, string>();
  const served: string[] = [];
  let offsite: string[] = [];
  let wasm: { url: string; status: number }[] = [];
  const pageErrors: string[] = [];
  let browser: BrowserContext;
  let page: Page;

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    const sotu = join(root, 'sotu.txt');
    writeFileSync(sotu, readFileSync('public/datasets/sotu.txt', 'utf8').slice(0, 20_000));
    const rows = Papa.parse<{ text: string; label: string }>(readFileSync('public/datasets/spam.csv', 'utf8'), {
      header: true,
      skipEmptyLines: true,
    }).data.slice(0, 40);
    const spam = join(root, 'spam.csv');
    writeFileSync(spam, Papa.unparse(rows, { columns: ['text', 'label'] }));
    for (const [name, model, data] of [
      ['llama-run', 'llama-demo', sotu],
      ['bert-run', 'bert-tiny', spam],
    ] as const) {
      const adapter = join(root, name);
      await dynrank(['train', '--model', model, '--data', data, ...SHORT, '--backend', 'cpu', '--out', adapter]);
      const out = join(root, `${name}-onnx`);
      await dynrank(['export', '--model', model, '--adapter', adapter, '--format', 'onnx', '--out', out]);
      folders.set(`${name}-onnx`, out);
    }

    browser = await launch({ width: 1100, height: 900 });
    // The exported folders, from the page's own origin; anything else under /tjs-models/ is a 404.
    await browser.route(`${inject('baseUrl')}/tjs-models/**`, async (route) => {
      const rel = decodeURIComponent(new URL(route.request().url()).pathname).slice('/tjs-models/'.length);
      const [name, ...rest] = rel.split('/');
      const dir = folders.get(name);
      const file = dir ? normalize(join(dir, ...rest)) : null;
      if (!dir || !file?.startsWith(`${dir}/`) || !existsSync(file) || !statSync(file).isFile())
        return route.fulfill({ status: 404, body: 'not found' });
      served.push(rel);
      return route.fulfill({ path: file });
    });
    ({ offsite, wasm } = watchNetwork(browser));
    page = await browser.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(`${inject('baseUrl')}/e2e/pages/transformersjs.html`);
    await page.locator('body[data-ready="true"]').waitFor({ timeout: 120_000 });
  }, 420_000);

  afterAll(async () => {
    await browser?.close();
  });

  it('greedy generation of the llama-demo + LoRA folder gives our ids on three prompts', async () => {
    const versions = await page.evaluate(() => window.tjs.versions());
    expect(versions.onnxruntimeWeb).toBe('1.30.0');
    const theirs: TjsGeneration[] = await page.evaluate((o) => window.tjs.generate(o), {
      model: 'llama-run-onnx',
      prompts: PROMPTS,
      maxNewTokens: MAX_NEW_TOKENS,
    });
    const generate = async (prompt: string, adapter: string[]) =>
      JSON.parse(
        await dynrank([
          'generate',
          '--model',
          'llama-demo',
          ...adapter,
          '--prompt',
          prompt,
          '--max-tokens',
          String(MAX_NEW_TOKENS),
          '--temperature',
          '0',
          '--backend',
          'cpu',
          '--json',
        ]),
      ) as { prompt_ids: number[]; ids: number[]; text: string };
    let baseDiffers = false;
    for (const [i, prompt] of PROMPTS.entries()) {
      const ours = await generate(prompt, ['--adapter', join(root, 'llama-run')]);
      expect(theirs[i].promptIds, prompt).toEqual(ours.prompt_ids);
      expect(theirs[i].ids, prompt).toEqual(ours.ids);
      expect(ours.ids.length, prompt).toBeGreaterThan(0);
      console.info(`${JSON.stringify(prompt)} -> ${JSON.stringify(theirs[i].text)} (${ours.ids.length} ids, equal)`);
      baseDiffers ||= JSON.stringify((await generate(prompt, [])).ids) !== JSON.stringify(ours.ids);
    }
    // The comparison tells an export without the adapter apart: the base model continues differently.
    expect(baseDiffers).toBe(true);
    expect(served).toContain('llama-run-onnx/onnx/model.onnx');
    console.info(`transformers.js ${versions.transformers} on onnxruntime-web ${versions.onnxruntimeWeb}`);
  });

  it('the bert-tiny + LoRA classifier folder gives our class logits', async () => {
    const theirs: TjsClassification[] = await page.evaluate((o) => window.tjs.classify(o), {
      model: 'bert-run-onnx',
      texts: TEXTS,
    });
    const labels = JSON.parse(readFileSync(join(root, 'bert-run', 'dynrank.json'), 'utf8')).labels as string[];
    for (const [i, text] of TEXTS.entries()) {
      const ours = JSON.parse(
        await dynrank([
          'logits',
          '--model',
          'bert-tiny',
          '--adapter',
          join(root, 'bert-run'),
          '--num-labels',
          String(labels.length),
          '--text',
          text,
          '--backend',
          'cpu',
        ]),
      ) as { input_ids: number[]; logits: number[][] };
      expect(theirs[i].inputIds, text).toEqual(ours.input_ids);
      const want = ours.logits[0];
      expect(theirs[i].logits).toHaveLength(want.length);
      const big = Math.max(...want.map(Math.abs));
      const diff = Math.max(...want.map((v, k) => Math.abs(v - theirs[i].logits[k])));
      expect(diff, text).toBeLessThan(TOL * Math.min(1, big));
      expect(labels).toContain(theirs[i].label);
      console.info(`${JSON.stringify(text)}: ${theirs[i].label}, max |tjs - ours| ${diff.toExponential(2)}`);
    }
    expect(served).toContain('bert-run-onnx/onnx/model.onnx');
  });

  it('loaded everything from this machine, without page errors', async () => {
    await page.locator('section[aria-label="transformers.js results"]').screenshot({
      path: join(ARTIFACTS, 'transformersjs.png'),
    });
    console.info(`wasm: ${JSON.stringify(wasm)}`);
    expect(wasm.length).toBeGreaterThan(0);
    expect(wasm.every((w) => w.url.startsWith(inject('baseUrl')) && [200, 304].includes(w.status))).toBe(true);
    expect(offsite).toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});
