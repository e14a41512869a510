// The data preview comes from the worker: the page shows the answer to its newest request, drops a stale one, and
// shows a bad file's error next to the data section with nothing half-loaded left behind.

import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { previewOf } from '../train/data/preview';
import type { Command } from '../worker/protocol';
import { connect } from './client';
import { requestPreview } from './dataPreview';
import { applyEvent } from './events';
import { useStore } from './index';

const initial = useStore.getState();
const sent: Command[] = [];
const previewIds = () => sent.flatMap((c) => (c.type === 'preview' ? [c.id] : []));

describe('data preview requests', () => {
  beforeAll(() => connect(applyEvent, () => {}, () => ({ postMessage: (c: Command) => sent.push(c), onmessage: null, onerror: null })));
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
});
