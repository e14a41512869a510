// The bundled demo data in the store: a causal LM is offered plain text (sotu.txt, the default) and the instruction
// set (instruct-demo.jsonl), a classifier its table; the store keeps the chosen demo per task, loads it when the model
// changes, and the instruction set switches instruction tuning on as an uploaded chat file does.

import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { previewOf } from '../train/data/preview';
import type { Command, ModelSummary } from '../worker/protocol';
import { chooseDemo, selectModel, uploadData } from './actions';
import { connect } from './client';
import { demoOptions } from './derived';
import { applyEvent } from './events';
import { useStore } from './index';

const initial = useStore.getState();
const sent: Command[] = [];
const previews = () => sent.flatMap((c) => (c.type === 'preview' ? [c] : []));

const summary = (task: ModelSummary['task']) =>
  ({ id: 'm', task, maxPositions: 256, moduleTypes: ['q_proj'], defaultTargets: ['q_proj'] }) as ModelSummary;

/** The worker's answer to the newest preview request. */
function answerPreview(): void {
  const req = previews().at(-1)!;
  applyEvent({ type: 'preview', id: req.id, preview: previewOf(req.data.text, req.data.name), error: null });
}

const chosen = () => demoOptions(useStore.getState()).map((d) => [d.file, d.chosen]);

describe('the bundled demo data', () => {
  beforeAll(() => {
    connect(
      applyEvent,
      () => {},
      () => ({ postMessage: (c: Command) => sent.push(c), onmessage: null, onerror: null }),
    );
    // The dev server's public/ folder: /datasets/<name>.
    vi.stubGlobal('fetch', async (url: string) => {
      const path = new URL(`../../public${url}`, import.meta.url);
      return new Response(readFileSync(path, 'utf8'), { headers: { 'content-type': 'text/plain' } });
    });
  });
  afterAll(() => vi.unstubAllGlobals());
  beforeEach(() => {
    useStore.setState({ ...initial, modelId: 'llama-demo', summary: summary('causal-lm') }, true);
    sent.length = 0;
  });

  it('offers a causal LM plain text (chosen by default) and the instruction set, a classifier its table', () => {
    expect(chosen()).toEqual([
      ['sotu.txt', true],
      ['instruct-demo.jsonl', false],
    ]);
    useStore.setState({ summary: summary('seq-cls') });
    expect(chosen()).toEqual([['spam.csv', true]]);
    useStore.setState({ summary: null });
    expect(chosen()).toEqual([]);
  });

  it('loads the chosen instruction set, which switches instruction tuning on', async () => {
    await chooseDemo('instruct-demo.jsonl');
    expect(chosen()).toEqual([
      ['sotu.txt', false],
      ['instruct-demo.jsonl', true],
    ]);
    expect(previews().map((c) => [c.data.name, c.data.origin])).toEqual([['instruct-demo.jsonl', 'demo']]);
    answerPreview();
    const s = useStore.getState();
    expect(s.dataFile?.name).toBe('instruct-demo.jsonl');
    expect(s.preview?.rowCount).toBe(231);
    expect(s.settings.sft).toEqual({ format: 'auto', trainOnPrompt: false });
    // Back to plain text: instruction tuning goes off again.
    await chooseDemo('sotu.txt');
    answerPreview();
    expect(useStore.getState().settings.sft).toBeNull();
    expect(chosen()[0]).toEqual(['sotu.txt', true]);
  });

  it('keeps the choice per task across model changes', async () => {
    await chooseDemo('instruct-demo.jsonl');
    answerPreview();
    await selectModel('bert-tiny');
    answerPreview();
    expect(useStore.getState().dataFile?.name).toBe('spam.csv');
    await selectModel('llama-demo');
    answerPreview();
    expect(useStore.getState().dataFile?.name).toBe('instruct-demo.jsonl');
    expect(previews().map((c) => c.data.name)).toEqual(['instruct-demo.jsonl', 'spam.csv', 'instruct-demo.jsonl']);
  });

  it('an upload leaves no demo chosen; a demo set not offered for the task changes nothing', async () => {
    await uploadData(new File(['text\nhello\n'], 'mine.csv'));
    answerPreview();
    expect(chosen()).toEqual([
      ['sotu.txt', false],
      ['instruct-demo.jsonl', false],
    ]);
    sent.length = 0;
    await chooseDemo('spam.csv');
    expect(sent).toEqual([]);
    expect(useStore.getState().demoChoice['causal-lm']).toBe('sotu.txt');
    expect(useStore.getState().dataFile?.name).toBe('mine.csv');
  });
});
