// Instruction tuning on the page: an instruction file switches it on for a causal LM, the worker is asked for the
// rendered preview whenever the model, file or options change (the newest answer wins), its error blocks Start, Start
// sends the options only when they apply, and the views highlight exactly the trained tokens and label the eval.

import { readFileSync } from 'node:fs';
import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { chatTemplateFrom, loadChatTokenizer } from '../train/data/chat';
import { previewOf } from '../train/data/preview';
import { SFT_FORMATS } from '../train/data/sft';
import { sftPreviewOf } from '../train/data/sftPreview';
import { describeEval } from '../ui/RunBar';
import { SftPreviewView } from '../ui/setup/SftPreviewView';
import type { Command, ModelSummary } from '../worker/protocol';
import { setSettings, setSft, startBlocker, startTraining } from './actions';
import { connect } from './client';
import { requestPreview } from './dataPreview';
import { applyEvent } from './events';
import { useStore } from './index';
import { refreshSftPreview, SFT_FORMAT_CHOICES } from './sftPreview';

const initial = useStore.getState();
const sent: Command[] = [];
const sftRequests = () => sent.flatMap((c) => (c.type === 'sftPreview' ? [c] : []));

const read = (p: string) => readFileSync(new URL(`../../${p}`, import.meta.url), 'utf8');
const tokenizer = loadChatTokenizer(
  read('public/models/llama-demo/tokenizer.json'),
  read('public/models/llama-demo/tokenizer_config.json'),
);
const chat = { tokenizer, template: chatTemplateFrom(tokenizer.config) };

const CHATS = [
  {
    messages: [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Hi?' },
      { role: 'assistant', content: 'Hello.' },
      { role: 'user', content: 'Bye?' },
      { role: 'assistant', content: 'Goodbye.' },
    ],
  },
  {
    messages: [
      { role: 'user', content: 'Two plus two?' },
      { role: 'assistant', content: 'Four.' },
    ],
  },
];
const FILE = { name: 'chat.jsonl', text: CHATS.map((c) => JSON.stringify(c)).join('\n'), origin: 'upload' as const };

const summary = (task: ModelSummary['task']) =>
  ({ id: 'llama-demo', task, maxPositions: 256, moduleTypes: ['q_proj'], defaultTargets: ['q_proj'] }) as ModelSummary;

/** Loads FILE through the preview round trip (as an upload answered by the worker). */
function upload(file = FILE): void {
  requestPreview(file);
  const id = sent.flatMap((c) => (c.type === 'preview' ? [c.id] : [])).at(-1)!;
  applyEvent({ type: 'preview', id, preview: previewOf(file.text, file.name), error: null });
}

describe('instruction tuning in the store', () => {
  beforeAll(() =>
    connect(
      applyEvent,
      () => {},
      () => ({ postMessage: (c: Command) => sent.push(c), onmessage: null, onerror: null }),
    ),
  );
  beforeEach(() => {
    useStore.setState({ ...initial, modelId: 'llama-demo', summary: summary('causal-lm') }, true);
    refreshSftPreview();
    sent.length = 0;
  });

  it('switches on for an instruction file and asks the worker to render it with the model and sequence length', () => {
    upload();
    expect(useStore.getState().settings.sft).toEqual({ format: 'auto', trainOnPrompt: false });
    setSettings({ seq: 300 });
    refreshSftPreview();
    const [req] = sftRequests();
    expect(req).toMatchObject({ model: 'llama-demo', sft: { format: 'auto', trainOnPrompt: false }, maxLength: 256 });
    expect(req.data.name).toBe('chat.jsonl');
    expect(useStore.getState().sftPreviewLoading).toBe(true);
    // Nothing changed: no second request.
    refreshSftPreview();
    expect(sftRequests()).toHaveLength(1);
  });

  it('asks again when an option changes and keeps only the newest answer', () => {
    upload();
    refreshSftPreview();
    setSft({ trainOnPrompt: true });
    refreshSftPreview();
    const [a, b] = sftRequests();
    expect(b.sft.trainOnPrompt).toBe(true);
    const render = (trainOnPrompt: boolean) =>
      sftPreviewOf({ text: FILE.text, fileName: FILE.name }, chat, { format: 'auto', trainOnPrompt, maxLength: 64 });
    applyEvent({ type: 'sftPreview', id: b.id, preview: render(true), error: null });
    applyEvent({ type: 'sftPreview', id: a.id, preview: render(false), error: null });
    const s = useStore.getState();
    expect(s.sftPreview?.trainOnPrompt).toBe(true);
    expect(s.sftPreviewLoading).toBe(false);
  });

  it('an error from the worker blocks Start with its message', () => {
    upload();
    refreshSftPreview();
    const [req] = sftRequests();
    const message = 'chat.jsonl (read as alpaca): the alpaca format needs the columns "instruction" and "output".';
    applyEvent({ type: 'sftPreview', id: req.id, preview: null, error: { code: 'BadMapping', message } });
    expect(useStore.getState().sftPreviewError).toBe(message);
    expect(startBlocker()).toBe(message);
  });

  it('is not offered to a classifier, nor for a plain table; switched off it asks nothing', () => {
    useStore.setState({ summary: summary('seq-cls') });
    upload();
    refreshSftPreview();
    expect(sftRequests()).toEqual([]);
    useStore.setState({ summary: summary('causal-lm') });
    upload({ name: 'plain.csv', text: 'text\nhello\n', origin: 'upload' });
    expect(useStore.getState().settings.sft).toBeNull();
    upload();
    setSft(null);
    refreshSftPreview();
    expect(sftRequests()).toEqual([]);
  });

  it('Start sends the options and marks the run, whose chat answers the store keeps', () => {
    upload();
    useStore.setState({ settings: { ...useStore.getState().settings, targets: ['q_proj'] } });
    startTraining();
    const start = sent.find((c) => c.type === 'start');
    expect(start?.type === 'start' && start.settings.sft).toEqual({ format: 'auto', trainOnPrompt: false });
    expect(useStore.getState().run?.sft).toBe(true);
    applyEvent({ type: 'chatted', message: 'Hi?', base: 'Hm.', adapted: 'Hello.' });
    expect(useStore.getState().chat).toEqual({ message: 'Hi?', base: 'Hm.', adapted: 'Hello.', onnx: null });
  });

  it('a resumed run brings its instruction-tuning options back with its settings', () => {
    const settings = { ...initial.settings, sft: { format: 'messages' as const, trainOnPrompt: true } };
    applyEvent({
      type: 'restoring',
      modelId: 'llama-demo',
      modelLabel: 'llama-demo',
      task: 'causal-lm',
      settings,
      data: FILE,
      preview: previewOf(FILE.text, FILE.name),
      checkpoint: {} as never,
    });
    const s = useStore.getState();
    expect(s.settings.sft).toEqual({ format: 'messages', trainOnPrompt: true });
    expect(s.run?.sft).toBe(true);
  });
});

describe('instruction-tuning views', () => {
  it('highlights exactly the assistant turns of the rendered chat template', () => {
    const p = sftPreviewOf({ text: FILE.text, fileName: FILE.name }, chat, {
      format: 'auto',
      trainOnPrompt: false,
      maxLength: 256,
    });
    const html = renderToStaticMarkup(createElement(SftPreviewView, { preview: p }));
    const marked = [...html.matchAll(/<mark class="trained">([^<]*)<\/mark>/g)].map((m) => m[1]);
    expect(marked).toEqual(['Hello.&lt;|im_end|&gt;\n', 'Goodbye.&lt;|im_end|&gt;\n', 'Four.&lt;|im_end|&gt;\n']);
    expect(html).toContain('aria-label="Rendered example 2"');
    expect(html).not.toMatch(/<mark[^>]*>[^<]*(Be brief|Hi\?|Bye\?|Two plus two)/);
  });

  it('offers every format the reader knows', () => {
    expect([...SFT_FORMAT_CHOICES]).toEqual([...SFT_FORMATS]);
  });

  it('labels an instruction-tuning eval as over the answer tokens', () => {
    const e = { step: 3, loss: 2, perplexity: Math.exp(2), examples: 40 };
    expect(describeEval({ ...e, answerTokensOnly: true })).toBe('loss 2.000 · perplexity 7.4 (40 answer tokens).');
    expect(describeEval(e)).toBe('loss 2.000 · perplexity 7.4 (40 tokens).');
  });
});
