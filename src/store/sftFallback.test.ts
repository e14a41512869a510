// Instruction tuning on a GPT-2 model in the store, with the worker's preview in-process: gpt2-tiny has no chat
// template, so the instruction set renders with the fallback template, each answer ended by <|endoftext|>, Start is
// free, and the preview says the template is the fallback. The eos comes from config.json's eos_token_id when there is
// no tokenizer_config.json (gpt2-tiny picked as files); a tokenizer with no eos at all gets a note saying what to do.

import { readFileSync } from 'node:fs';
import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { previewOf } from '../train/data/preview';
import { SftPreviewView } from '../ui/setup/SftPreviewView';
import { describeError } from '../worker/errors';
import type { Command, ModelSummary } from '../worker/protocol';
import { sftPreviewFor } from '../worker/sftData';
import { registerModel } from '../worker/summary';
import { chooseDemo, startBlocker } from './actions';
import { connect } from './client';
import { applyEvent } from './events';
import { useStore } from './index';
import { refreshSftPreview } from './sftPreview';

const initial = useStore.getState();
const publicFile = (p: string) => new URL(`../../public/${p}`, import.meta.url);
const GPT2 = 'models/gpt2-tiny/';
const EOS = '<|endoftext|>';

/** The worker's answers still on their way (the sftPreview rendering is asynchronous, as in the worker). */
let inFlight: Promise<void>[] = [];

/** The page's worker, in-process: the data preview and the instruction preview as worker.ts answers them. */
function answer(c: Command): void {
  if (c.type === 'preview') {
    applyEvent({ type: 'preview', id: c.id, preview: previewOf(c.data.text, c.data.name), error: null });
  } else if (c.type === 'sftPreview') {
    inFlight.push(
      sftPreviewFor(c).then(
        (preview) => applyEvent({ type: 'sftPreview', id: c.id, preview, error: null }),
        (err) => {
          const { code, message } = describeError(err, 'data');
          applyEvent({ type: 'sftPreview', id: c.id, preview: null, error: { code, message } });
        },
      ),
    );
  }
}

async function settle(): Promise<void> {
  refreshSftPreview();
  while (inFlight.length) {
    const waiting = inFlight;
    inFlight = [];
    await Promise.all(waiting);
  }
}

const gpt2Summary = (id: string) =>
  ({
    id,
    task: 'causal-lm',
    maxPositions: 128,
    moduleTypes: ['attn.c_attn'],
    defaultTargets: ['attn.c_attn'],
  }) as ModelSummary;

/** gpt2-tiny's files as the set-up panel's Files picker gives them (no tokenizer_config.json), config.json changed. */
function pickedGpt2Tiny(name: string, config: (c: Record<string, unknown>) => Record<string, unknown>): string {
  const bytes = (f: string) => new Uint8Array(readFileSync(publicFile(`${GPT2}${f}`)));
  const json = JSON.parse(readFileSync(publicFile(`${GPT2}config.json`), 'utf8'));
  return registerModel({
    kind: 'files',
    name,
    files: [
      { name: 'config.json', bytes: new TextEncoder().encode(JSON.stringify(config(json))) },
      { name: 'tokenizer.json', bytes: bytes('tokenizer.json') },
      { name: 'model.safetensors', bytes: bytes('model.safetensors') },
    ],
  });
}

const view = () => renderToStaticMarkup(createElement(SftPreviewView, { preview: useStore.getState().sftPreview! }));
const trained = (html: string) => [...html.matchAll(/<mark class="trained">([^<]*)<\/mark>/g)].map((m) => m[1]);

describe('instruction tuning on GPT-2 (the fallback chat template)', () => {
  beforeAll(() => {
    connect(
      applyEvent,
      () => {},
      () => ({ postMessage: answer, onmessage: null, onerror: null }),
    );
    // The dev server: public/ at the page's origin; a missing file is answered with the app's HTML page.
    vi.stubGlobal('location', { origin: 'http://localhost', href: 'http://localhost/' });
    vi.stubGlobal('fetch', async (url: string | URL) => {
      const path = publicFile(new URL(url, 'http://localhost/').pathname.slice(1));
      try {
        return new Response(readFileSync(path), { headers: { 'content-type': 'application/octet-stream' } });
      } catch {
        return new Response('<!doctype html><html></html>', { headers: { 'content-type': 'text/html' } });
      }
    });
  });
  afterAll(() => vi.unstubAllGlobals());
  beforeEach(() => {
    useStore.setState({ ...initial, modelId: 'gpt2-tiny', summary: gpt2Summary('gpt2-tiny') }, true);
    refreshSftPreview();
    inFlight = [];
  });

  it('gpt2-tiny previews the instruction demo with the fallback template, says so, and Start is free', async () => {
    await chooseDemo('instruct-demo.jsonl');
    await settle();
    const s = useStore.getState();
    expect(s.settings.sft).toEqual({ format: 'auto', trainOnPrompt: false });
    expect(s.sftPreviewError).toBeNull();
    expect(s.sftPreview?.template).toEqual({ origin: 'fallback', name: null, eos: EOS });
    expect(s.sftPreview?.counts.examples).toBe(231);
    expect(s.sftPreview?.maxLength).toBe(64);
    expect(startBlocker()).toBeNull();
    const html = view();
    expect(html).toContain('template: fallback (### User / ### Assistant): the model has no chat template');
    expect(html).toContain(`ends with <span class="mono">${EOS.replace(/</g, '&lt;').replace(/>/g, '&gt;')}</span>`);
    expect(trained(html)[0]).toBe('ANSWER: n.&lt;|endoftext|&gt;');
    expect(html).toContain('### User:\nWhich letter does the word night start with?\n\n### Assistant:\n');
  });

  it("gpt2-tiny picked as files without tokenizer_config.json ends answers with config.json's eos", async () => {
    const id = pickedGpt2Tiny('gpt2-tiny files', (c) => c);
    useStore.setState({ modelId: id, summary: gpt2Summary(id) });
    await chooseDemo('instruct-demo.jsonl');
    await settle();
    expect(trained(view())[0]).toBe('ANSWER: n.&lt;|endoftext|&gt;');
    expect(useStore.getState().sftPreview?.template).toEqual({ origin: 'fallback', name: null, eos: EOS });
  });

  it('a tokenizer with no eos anywhere gets a note saying what to set; training is not blocked', async () => {
    const id = pickedGpt2Tiny('gpt2-tiny no eos', ({ eos_token_id: _, bos_token_id: __, ...c }) => c);
    useStore.setState({ modelId: id, summary: gpt2Summary(id) });
    await chooseDemo('instruct-demo.jsonl');
    await settle();
    expect(useStore.getState().sftPreview?.template.eos).toBeNull();
    expect(startBlocker()).toBeNull();
    const html = view();
    expect(trained(html)[0]).toBe('ANSWER: n.');
    expect(html).toContain('<p class="warning" role="note" aria-label="Chat template">');
    expect(html).toContain('Set &quot;eos_token&quot; in tokenizer_config.json');
  });
});
