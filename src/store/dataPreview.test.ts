// The data preview comes from the worker: the page shows the answer to its newest request, drops a stale one, and
// shows a bad file's error next to the data section with nothing half-loaded left behind.

import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { previewOf } from '../train/data/preview';
import { DataPreviewTable } from '../ui/setup/DataPreviewTable';
import type { Command } from '../worker/protocol';
import { loadDemoData } from './actions';
import { connect } from './client';
import { requestPreview } from './dataPreview';
import { applyEvent } from './events';
import { useStore } from './index';

const initial = useStore.getState();
const sent: Command[] = [];
const previewIds = () => sent.flatMap((c) => (c.type === 'preview' ? [c.id] : []));

describe('data preview requests', () => {
  beforeAll(() =>
    connect(
      applyEvent,
      () => {},
      () => ({ postMessage: (c: Command) => sent.push(c), onmessage: null, onerror: null }),
    ),
  );
  beforeEach(() => {
    useStore.setState(initial, true);
    sent.length = 0;
  });

  it('shows the newest file and drops a slower answer for an earlier one', () => {
    const a = { name: 'a.csv', text: 'text,label\nhello,x\nbye,y\n', origin: 'upload' as const };
    const b = { name: 'b.csv', text: 'text,label\none,p\ntwo,q\nthree,p\n', origin: 'upload' as const };
    requestPreview(a);
    requestPreview(b);
    expect(useStore.getState().dataLoading).toBe(true);
    const [ida, idb] = previewIds();
    applyEvent({ type: 'preview', id: idb, preview: previewOf(b.text, b.name), error: null });
    applyEvent({ type: 'preview', id: ida, preview: previewOf(a.text, a.name), error: null });
    const s = useStore.getState();
    expect(s.dataFile?.name).toBe('b.csv');
    expect(s.preview?.rowCount).toBe(3);
    expect(s.dataOrigin).toBe('upload');
    expect(s.dataLoading).toBe(false);
  });

  it('a file the worker cannot read clears the data and shows why', () => {
    requestPreview({ name: 'bad.csv', text: '', origin: 'upload' });
    const [id] = previewIds();
    applyEvent({ type: 'preview', id, preview: null, error: { code: 'Empty', message: 'bad.csv is empty.' } });
    const s = useStore.getState();
    expect(s.dataFile).toBeNull();
    expect(s.preview).toBeNull();
    expect(s.dataLoading).toBe(false);
    expect(s.errors.map((e) => [e.area, e.code, e.message])).toEqual([['data', 'Empty', 'bad.csv is empty.']]);
  });

  it('keeps skipped rows with their lines and reasons; the table lists unlabelled ones for a classifier only', () => {
    const text = [
      'text,label',
      '"Hello there",ham',
      '"Your invoice is attached",',
      '"WIN now",spam',
      '"URGENT: verify",spam,extra',
      '"Bye",ham',
    ].join('\n');
    requestPreview({ name: 'messy.csv', text, origin: 'upload' });
    const [id] = previewIds();
    applyEvent({ type: 'preview', id, preview: previewOf(text, 'messy.csv'), error: null });
    const p = useStore.getState().preview!;
    expect(p.classificationSkipped?.count).toBe(2);
    expect(p.classificationSkipped?.first.map((r) => [r.line, r.reason])).toEqual([
      [3, 'empty label ("label")'],
      [5, '3 fields, but the header has 2'],
    ]);
    const html = (classifier: boolean) =>
      renderToStaticMarkup(createElement(DataPreviewTable, { preview: p, classifier }));
    expect(html(true)).toContain('2 rows skipped');
    expect(html(true)).toContain('line 3</span>: empty label (&quot;label&quot;)');
    expect(html(false)).toContain('1 row skipped');
    expect(html(false)).not.toContain('line 3');
    expect(html(false)).toContain('line 5</span>: 3 fields, but the header has 2');
  });

  describe('a bundled data set the server does not have', () => {
    afterEach(() => vi.unstubAllGlobals());

    it('is an error, not its index.html read as data', async () => {
      const page = '<!doctype html>\n<html lang="en"><head><script type="module" src="/@vite/client"></script>';
      vi.stubGlobal('fetch', async () => new Response(page, { headers: { 'content-type': 'text/html' } }));
      await loadDemoData('spam.csv');
      const s = useStore.getState();
      expect(sent.filter((c) => c.type === 'preview')).toEqual([]);
      expect(s.dataFile).toBeNull();
      expect(s.dataLoading).toBe(false);
      expect(s.errors.map((e) => [e.area, e.code, e.message])).toEqual([
        [
          'data',
          'DemoMissing',
          'The demo data set spam.csv could not be loaded (the server has no such file). Upload a file instead.',
        ],
      ]);
    });
  });
});
