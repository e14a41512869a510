// Data files are parsed in the worker, so a large upload never blocks the page: the page sends the text with a
// request id and takes the answer to its newest request only (a slow answer for an earlier file is dropped).

import type { DataFile } from '../worker/protocol';
import { send } from './client';
import { useStore } from './index';

let nextId = 1;
let pending: { id: number; data: DataFile } | null = null;

/** Asks the worker for `data`'s preview; the set-up panel shows "loading" until the answer arrives. */
export function requestPreview(data: DataFile): void {
  pending = { id: nextId++, data };
  useStore.setState({ dataLoading: true });
  send({ type: 'preview', id: pending.id, data });
}

/** The file a preview answer belongs to, if it answers the newest request; null for a stale or unknown answer. */
export function takePending(id: number): DataFile | null {
  if (!pending || pending.id !== id) return null;
  const { data } = pending;
  pending = null;
  return data;
}

/** Forgets the request in flight (a restored run brings its own data and preview). */
export function cancelPreview(): void {
  pending = null;
}
