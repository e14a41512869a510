// The data a saved run trained on, found again for a resume: an upload from IndexedDB, a bundled data set from the
// server, or the same file uploaded again since the page loaded. Each candidate must match the SHA-256 recorded with
// the run, and a server's HTML page (what a dev server answers for a file it does not have) is never data.

import { DataError } from '../train/data/errors';
import type { DataFile } from './protocol';

/** What a checkpoint records about its data. Checkpoints saved before origin and digest were recorded lack them. */
export interface RunDataRef {
  dataName: string;
  /** Key of the text in the checkpoint store's `data` store, or null when it was not stored there. */
  dataKey: string | null;
  dataOrigin?: 'demo' | 'upload';
  /** SHA-256 of the text, lower-case hex. */
  dataSha256?: string;
}

/** Where the text can come from; each answers undefined (or a failed response) when it does not have it. */
export interface RunDataSources {
  stored(key: string): Promise<string | undefined>;
  fetchBundled(name: string): Promise<Response>;
  /** Files uploaded since the page loaded, newest first. */
  uploads(): readonly DataFile[];
}

export async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** An HTML document rather than data: the start of a page a server answered instead of the file. */
export function looksLikeHtml(text: string): boolean {
  return /^\uFEFF?\s*(<!doctype\s+html|<html[\s>]|<head[\s>])/i.test(text);
}

/** The body of a bundled data set's response, or undefined when the server does not have the file. */
export async function bundledText(res: Response): Promise<string | undefined> {
  if (!res.ok || (res.headers.get('content-type') ?? '').includes('text/html')) return undefined;
  const text = await res.text();
  return looksLikeHtml(text) ? undefined : text;
}

const UPLOADS_KEPT = 4;
const uploaded: DataFile[] = [];

/** Keeps an uploaded file (the newest few) so a run whose stored copy is gone can resume from it. */
export function rememberUpload(file: DataFile): void {
  const i = uploaded.findIndex((f) => f.name === file.name && f.text === file.text);
  if (i >= 0) uploaded.splice(i, 1);
  uploaded.unshift(file);
  uploaded.length = Math.min(uploaded.length, UPLOADS_KEPT);
}

export const rememberedUploads = (): readonly DataFile[] => uploaded;

/**
 * The run's data: the stored upload, else the bundled file by name (runs that were not uploads), else a file uploaded
 * since the page loaded. A candidate counts when its SHA-256 matches the recorded one; a run recorded without one
 * takes a stored or bundled text that is not HTML, or an upload of the same name. A DataError says what to do when
 * none is left.
 */
export async function findRunData(ref: RunDataRef, src: RunDataSources): Promise<DataFile> {
  const name = ref.dataName;
  const fits = async (text: string | undefined) =>
    text !== undefined &&
    (ref.dataSha256 === undefined ? !looksLikeHtml(text) : (await sha256Hex(text)) === ref.dataSha256);
  let changed = false;
  if (ref.dataKey) {
    const text = await src.stored(ref.dataKey).catch(() => undefined);
    if (await fits(text)) return { name, text: text!, origin: 'upload' };
  }
  if (ref.dataOrigin !== 'upload') {
    const text = await src.fetchBundled(name).then(bundledText, () => undefined);
    if (await fits(text)) return { name, text: text!, origin: 'demo' };
    changed = text !== undefined;
  }
  for (const f of src.uploads()) {
    const same = ref.dataSha256 === undefined ? f.name === name : await fits(f.text);
    if (same) return { name, text: f.text, origin: 'upload' };
  }
  if (changed && ref.dataOrigin === 'demo') {
    throw new DataError({
      code: 'NotStored',
      file: name,
      message:
        `The bundled data set ${name} has changed since this run was saved, so the run cannot continue on it. ` +
        'Start a new run.',
    });
  }
  throw new DataError({
    code: 'NotStored',
    file: name,
    message:
      `The data this run trained on (${name}) is no longer stored in this browser. Upload ${name} again (the ` +
      'same file), then press Resume on this checkpoint; or start a new run.',
  });
}
