// The bundled instruction demo in the page: on llama-demo the person picks instruct-demo.jsonl instead of sotu.txt,
// which switches instruction tuning on; a short seeded LoRA run with the settings docs/results.md measured (r=4,
// lr 0.01, batch 8) teaches the set's answer format, so held-out prompts the training file never asks are answered
// greedily in the format by the adapted model and not by the base model.

import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FORMAT_START, heldOutPrompts } from '../src/bench/sftFormat';
import { openLlamaDemo, setNumber } from './helpers';
import { launch } from './setup/chromium';

const ARTIFACTS = join(import.meta.dirname, 'artifacts');
const HELD_OUT = join(import.meta.dirname, '..', 'public', 'datasets', 'instruct-demo-heldout.jsonl');
/** The first three held-out prompts that are one user message (the page's chat sends exactly one). */
const PROMPTS = heldOutPrompts(readFileSync(HELD_OUT, 'utf8'), HELD_OUT)
  .filter((p) => p.messages.length === 1 && p.messages[0].role === 'user')
  .slice(0, 3)
  .map((p) => p.messages[0].content);
const STEPS = 20;

describe('the instruction demo in the page', () => {
  let browser: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    browser = await launch({ width: 1280, height: 900 });
    page = await browser.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('trains llama-demo on instruct-demo.jsonl and answers held-out prompts in its format, unlike the base', {
    timeout: 900_000,
  }, async () => {
    expect(PROMPTS).toHaveLength(3);
    await openLlamaDemo(page);

    const plain = page.getByRole('button', { name: 'Demo: sotu.txt' });
    const instruct = page.getByRole('button', { name: 'Demo: instruct-demo.jsonl' });
    await expect.poll(() => plain.getAttribute('aria-pressed'), { timeout: 30_000 }).toBe('true');
    expect(await instruct.getAttribute('aria-pressed')).toBe('false');
    await instruct.click();
    expect(await instruct.getAttribute('aria-pressed')).toBe('true');
    expect(await plain.getAttribute('aria-pressed')).toBe('false');
    const sft = page.getByRole('checkbox', { name: 'Instruction tuning (loss on answers only)' });
    await expect.poll(() => sft.isChecked(), { timeout: 30_000 }).toBe(true);
    const preview = page.getByRole('region', { name: 'Instruction preview' });
    await expect
      .poll(() => preview.textContent(), { timeout: 30_000 })
      .toContain('Read as messages, rendered with tokenizer_config.json: 231 examples');

    await page.getByRole('radio', { name: 'LoRA' }).check();
    await setNumber(page, 'Rank r', 4);
    await setNumber(page, 'Learning rate', 0.01);
    await setNumber(page, 'Batch size', 8);
    await setNumber(page, 'Steps', STEPS);
    await setNumber(page, 'Seed', 1);
    const t0 = Date.now();
    await page.getByRole('button', { name: 'Start training' }).click();
    const status = () => page.getByRole('status', { name: 'Training status' }).textContent();
    await expect.poll(status, { timeout: 600_000, interval: 1000 }).toBe('Done');
    console.log(`[sftdemo] ${STEPS} steps trained in ${((Date.now() - t0) / 1000).toFixed(0)} s`);

    const adapted = page.getByRole('region', { name: 'Adapted model answer' });
    const base = page.getByRole('region', { name: 'Base model answer' });
    const send = page.getByRole('button', { name: 'Send' });
    await setNumber(page, 'Answer length (tokens)', 12);
    const answers: { prompt: string; base: string; adapted: string }[] = [];
    for (const prompt of PROMPTS) {
      await page.getByLabel('Your message').fill(prompt);
      await send.click();
      // The answers shown belong to this prompt once the echoed message is it and Send is enabled again.
      await expect
        .poll(async () => (await page.locator('.chat-user').textContent()) === `You: ${prompt}` && send.isEnabled(), {
          timeout: 120_000,
        })
        .toBe(true);
      answers.push({
        prompt,
        base: (await base.getByTestId('answer').textContent()) ?? '',
        adapted: (await adapted.getByTestId('answer').textContent()) ?? '',
      });
    }
    console.log(`[sftdemo] answers ${JSON.stringify(answers)}`);
    for (const a of answers) {
      expect(a.base, `base answer to ${a.prompt}`).not.toMatch(FORMAT_START);
      expect(a.base, `base answer to ${a.prompt}`).not.toMatch(/^ANSWER/);
      expect(a.adapted, `adapted answer to ${a.prompt}`).toMatch(FORMAT_START);
    }

    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: join(ARTIFACTS, 'sftdemo-1280-full.png'), fullPage: true });
    expect(pageErrors).toEqual([]);
  });
});
