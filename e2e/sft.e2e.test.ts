// Instruction tuning in the page: an uploaded JSON Lines file of chats on the bundled llama-demo (ChatML template)
// switches instruction tuning on, the data section shows the rendered template with exactly the answers highlighted
// and the unusable rows with their lines, a short LoRA run reports its validation loss over the answer tokens, and
// Try it answers one message with the base and the adapted model side by side, and, once the adapter is exported as
// ONNX, with the exported graph in onnxruntime-web too. On gpt2-tiny, which has no chat template, the instruction demo
// renders with the fallback template (answers ended by <|endoftext|>), trains, and the chat answers.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openGpt2Tiny, openLlamaDemo, setNumber } from './helpers';
import { launch } from './setup/chromium';

const ARTIFACTS = join(import.meta.dirname, 'artifacts');
const END = '<|im_end|>\n';

const capitals = [
  ['France', 'Paris'],
  ['Italy', 'Rome'],
  ['Spain', 'Madrid'],
  ['Japan', 'Tokyo'],
  ['Egypt', 'Cairo'],
  ['Peru', 'Lima'],
  ['Kenya', 'Nairobi'],
  ['Norway', 'Oslo'],
  ['Chile', 'Santiago'],
];
const chat = (...turns: [string, string][]) => ({
  messages: turns.flatMap(([q, a]) => [
    { role: 'user', content: q },
    { role: 'assistant', content: a },
  ]),
});
const ROWS = [
  JSON.stringify({
    messages: [{ role: 'system', content: 'Answer in one word.' }, ...chat(['Capital of Greece?', 'Athens.']).messages],
  }),
  JSON.stringify(chat(['Capital of Cuba?', 'Havana.'], ['And of Haiti?', 'Port-au-Prince.'])),
  JSON.stringify({ messages: [{ role: 'user', content: 'Nobody answers this.' }] }),
  ...capitals.map(([c, a]) => JSON.stringify(chat([`Capital of ${c}?`, `${a}.`]))),
  '{"messages": [',
];
const JSONL = ROWS.join('\n');

describe('instruction tuning in the page', () => {
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

  const highlighted = (n: number) =>
    page
      .getByRole('figure', { name: `Rendered example ${n}` })
      .locator('mark.trained')
      .allTextContents();

  it('previews the rendered chats, trains on the answers, and answers a message with base and adapted models', async () => {
    await openLlamaDemo(page);
    await page
      .getByLabel('Upload a data file (CSV, TSV, JSONL or TXT)')
      .setInputFiles({ name: 'capitals.jsonl', mimeType: 'application/jsonl', buffer: Buffer.from(JSONL) });

    const sft = page.getByRole('checkbox', { name: 'Instruction tuning (loss on answers only)' });
    await expect.poll(() => sft.isChecked(), { timeout: 30_000 }).toBe(true);
    await setNumber(page, 'Sequence length', 96);
    // The template's own text (system prompt, roles, the user's words) is plain; only the answers are highlighted.
    await expect.poll(() => highlighted(1), { timeout: 30_000 }).toEqual([`Athens.${END}`]);
    expect(await highlighted(2)).toEqual([`Havana.${END}`, `Port-au-Prince.${END}`]);
    expect(await highlighted(3)).toEqual([`Paris.${END}`]);
    const first = await page.getByRole('figure', { name: 'Rendered example 1' }).locator('pre').textContent();
    expect(first).toContain('<|im_start|>system\nAnswer in one word.<|im_end|>\n<|im_start|>user\nCapital of Greece?');
    const preview = page.getByRole('region', { name: 'Instruction preview' });
    expect(await preview.textContent()).toContain('Read as messages, rendered with tokenizer_config.json: 11 examples');
    const skipped = page.getByRole('list', { name: 'Skipped rows' });
    expect(await skipped.textContent()).toContain('line 3: "messages" has no assistant turn to learn from');
    expect(await skipped.textContent()).toContain('line 13');

    await page.getByRole('checkbox', { name: 'Train on the prompt too' }).check();
    await expect.poll(async () => (await highlighted(1)).join(''), { timeout: 30_000 }).toContain('Capital of Greece?');
    await page.getByRole('checkbox', { name: 'Train on the prompt too' }).uncheck();
    await expect.poll(() => highlighted(1), { timeout: 30_000 }).toEqual([`Athens.${END}`]);

    await page.getByRole('radio', { name: 'LoRA' }).check();
    await setNumber(page, 'Rank r', 2);
    await setNumber(page, 'Steps', 3);
    await setNumber(page, 'Batch size', 2);
    await page.getByRole('button', { name: 'Start training' }).click();
    const status = () => page.getByRole('status', { name: 'Training status' }).textContent();
    await expect.poll(status, { timeout: 240_000, interval: 500 }).toBe('Done');
    const evalText = await page.getByTestId('eval').textContent();
    expect(evalText).toMatch(/loss \d+\.\d{3} · perplexity [\d.]+ \(\d+ answer tokens\)\./);

    await page.getByLabel('Your message').fill('Capital of France?');
    await setNumber(page, 'Answer length (tokens)', 6);
    await page.getByRole('button', { name: 'Send' }).click();
    const adapted = page.getByRole('region', { name: 'Adapted model answer' });
    const base = page.getByRole('region', { name: 'Base model answer' });
    await expect.poll(() => adapted.isVisible(), { timeout: 120_000 }).toBe(true);
    expect((await adapted.getByTestId('answer').textContent())?.length).toBeGreaterThan(0);
    expect((await base.getByTestId('answer').textContent())?.length).toBeGreaterThan(0);
    expect(await page.getByRole('button', { name: 'Send' }).isEnabled()).toBe(true);

    // With an ONNX export of the adapter, the chat also runs the exported graph in onnxruntime-web beside ours.
    await page.getByRole('button', { name: 'ONNX for transformers.js' }).click();
    await page.getByRole('button', { name: 'ONNX folder (.zip)' }).waitFor({ timeout: 120_000 });
    await page.getByRole('button', { name: 'Send' }).click();
    const onnx = page.getByRole('region', { name: 'ONNX (onnxruntime-web) answer' });
    // When the answer does not come, the failure says the run's status and the error notes shown instead.
    const alerts = page.getByRole('alert');
    const outcome = async () =>
      (await onnx.isVisible())
        ? 'answered'
        : `waiting; status ${await status()}; notes: ${(await alerts.allTextContents()).join(' | ')}`;
    await expect.poll(outcome, { timeout: 120_000 }).toBe('answered');
    expect(await onnx.getByTestId('answer').textContent()).toBe(await adapted.getByTestId('answer').textContent());
    const verdict = await page.getByRole('region', { name: 'ONNX agreement' }).textContent();
    expect(verdict).toContain('Agree: the same greedy tokens as the adapted model here.');

    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: join(ARTIFACTS, 'sft-1280-full.png'), fullPage: true });
    await preview.screenshot({ path: join(ARTIFACTS, 'sft-preview.png') });
    expect(pageErrors).toEqual([]);
  });

  it('GPT-2 (no chat template): the instruction demo renders with the fallback template, trains and chats', async () => {
    await openGpt2Tiny(page);
    await page.getByRole('button', { name: 'Demo: instruct-demo.jsonl' }).click();
    const sft = page.getByRole('checkbox', { name: 'Instruction tuning (loss on answers only)' });
    await expect.poll(() => sft.isChecked(), { timeout: 30_000 }).toBe(true);
    const note = page.getByRole('note', { name: 'Chat template' });
    await expect
      .poll(() => note.textContent(), { timeout: 30_000 })
      .toContain('template: fallback (### User / ### Assistant): the model has no chat template');
    expect(await note.textContent()).toContain('each answer ends with <|endoftext|>');
    expect(await highlighted(1)).toEqual(['ANSWER: n.<|endoftext|>']);
    await page.getByRole('radio', { name: 'LoRA' }).check();
    await setNumber(page, 'Rank r', 2);
    await setNumber(page, 'Steps', 2);
    await setNumber(page, 'Batch size', 2);
    await page.getByRole('button', { name: 'Start training' }).click();
    const status = () => page.getByRole('status', { name: 'Training status' }).textContent();
    await expect.poll(status, { timeout: 120_000, interval: 500 }).toBe('Done');
    expect(await page.getByTestId('eval').textContent()).toMatch(/\(\d+ answer tokens\)\./);
    await page.getByLabel('Your message').fill('Which letter does the word apple start with?');
    await setNumber(page, 'Answer length (tokens)', 4);
    await page.getByRole('button', { name: 'Send' }).click();
    const adapted = page.getByRole('region', { name: 'Adapted model answer' });
    await expect.poll(() => adapted.isVisible(), { timeout: 60_000 }).toBe(true);
    expect(pageErrors).toEqual([]);
  });
});
