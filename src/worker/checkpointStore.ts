// Saved checkpoints in IndexedDB (pages and workers both have it), so a run survives a reload of the page: one
// record per checkpoint (safetensors bytes plus what the page needs to list it and rebuild the run), the last
// KEEP_PER_RUN of each run, and the uploaded data files those runs trained on.

import { recomputeMode } from '../nn/recompute';
import type { CheckpointInfo, HistoryData, ModelRef, RunSettings } from './protocol';

/** Checkpoints kept per run; older ones are deleted when a new one is saved. */
const KEEP_PER_RUN = 3;

export interface CheckpointRecord extends CheckpointInfo {
  settings: RunSettings;
  /** Where the model came from, so a resume can open the same source again. */
  modelRef: ModelRef;
  /** Key of the data text in the `data` store (uploads), or null for a bundled data set fetched by name. */
  dataKey: string | null;
  /** Where the data came from, and its text's SHA-256 (hex), checked on resume; absent in older checkpoints. */
  dataOrigin?: 'demo' | 'upload';
  dataSha256?: string;
  history: HistoryData;
  /** The checkpoint file (saveCheckpoint's safetensors bytes). */
  data: Uint8Array;
}

const DB = 'dynrank',
  VERSION = 1,
  CKPT = 'checkpoints',
  DATA = 'data';

let opened: Promise<IDBDatabase> | null = null;

function db(): Promise<IDBDatabase> {
  opened ??= new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, VERSION);
    req.onupgradeneeded = () => {
      const d = req.result;
      if (!d.objectStoreNames.contains(CKPT)) d.createObjectStore(CKPT, { keyPath: 'id' });
      if (!d.objectStoreNames.contains(DATA)) d.createObjectStore(DATA);
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => {
      opened = null;
      reject(req.error ?? new Error('IndexedDB could not be opened'));
    };
  });
  return opened;
}

/** One request in its own transaction; resolves when the transaction has committed. */
async function tx<T>(store: string, mode: IDBTransactionMode, f: (s: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  const t = (await db()).transaction(store, mode);
  const req = f(t.objectStore(store));
  return new Promise((resolve, reject) => {
    t.oncomplete = () => resolve(req.result);
    t.onerror = () => reject(t.error ?? req.error ?? new Error('IndexedDB request failed'));
    t.onabort = () => reject(t.error ?? new Error('IndexedDB transaction aborted (is the storage quota full?)'));
  });
}

export const checkpointInfo = (r: CheckpointRecord): CheckpointInfo => ({
  id: r.id,
  runId: r.runId,
  runName: r.runName,
  modelId: r.modelId,
  dataName: r.dataName,
  method: r.method,
  step: r.step,
  totalSteps: r.totalSteps,
  time: r.time,
  bytes: r.bytes,
});

/** Saves a checkpoint and deletes the run's checkpoints beyond the newest KEEP_PER_RUN. */
export async function putCheckpoint(rec: CheckpointRecord): Promise<void> {
  await tx(CKPT, 'readwrite', (s) => s.put(rec));
  const same = (await listCheckpoints()).filter((c) => c.runId === rec.runId);
  for (const old of same.slice(KEEP_PER_RUN)) await deleteCheckpoint(old.id);
}

/** A saved checkpoint; settings saved by an earlier version read as today's (a boolean recompute becomes a mode). */
export async function getCheckpoint(id: string): Promise<CheckpointRecord | undefined> {
  const rec = await tx(CKPT, 'readonly', (s) => s.get(id) as IDBRequest<CheckpointRecord | undefined>);
  if (rec) rec.settings = { ...rec.settings, recompute: recomputeMode(rec.settings.recompute) ?? null };
  return rec;
}

/** Every saved checkpoint, newest first (without the bytes). */
export async function listCheckpoints(): Promise<CheckpointInfo[]> {
  const all = await tx(CKPT, 'readonly', (s) => s.getAll() as IDBRequest<CheckpointRecord[]>);
  return all.map(checkpointInfo).sort((a, b) => b.time - a.time || b.step - a.step);
}

export async function deleteCheckpoint(id: string): Promise<void> {
  await tx(CKPT, 'readwrite', (s) => s.delete(id));
}

/** Stores an uploaded data file's text under a content key (the same file is stored once). */
export async function putData(name: string, text: string): Promise<string> {
  const key = `${name}:${text.length}:${hash(text)}`;
  await tx(DATA, 'readwrite', (s) => s.put(text, key));
  return key;
}

export async function getData(key: string): Promise<string | undefined> {
  return tx(DATA, 'readonly', (s) => s.get(key) as IDBRequest<string | undefined>);
}

/** FNV-1a over the UTF-16 code units, hex. */
function hash(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(16);
}
