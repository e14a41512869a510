// Resuming a saved run finds its data again only when it is the same data: a dev server's index.html answered for a
// data set it does not have, or a text whose SHA-256 differs from the recorded one, is refused with a DataError
// that says what to do; the same file uploaded again serves.

import { describe, expect, it } from 'vitest';
import { DataError } from '../train/data/errors';
import type { DataFile } from './protocol';
import {
  bundledText,
  findRunData,
  looksLikeHtml,
  type RunDataSources,
  rememberedUploads,
  rememberUpload,
  sha256Hex,
} from './runData';

const INDEX_HTML = '<!doctype html>\n<html lang="en">\n  <head>\n    <script type="module" src="/@vite/client">';
const CSV = 'text,label\n"Your invoice is attached",ham\n"URGENT: verify your account",spam\n';

const response = (body: string, type: string, status = 200) =>
  new Response(body, { status, headers: { 'content-type': type } });

/** Sources with `stored` texts by key, a server that has `bundled` files (and answers index.html otherwise). */
function sources(stored: Record<string, string>, bundled: Record<string, string>, uploads: DataFile[] = []) {
  return {
    stored: async (key) => stored[key],
    fetchBundled: async (name) =>
      name in bundled ? response(bundled[name], 'text/csv') : response(INDEX_HTML, 'text/html'),
    uploads: () => uploads,
  } satisfies RunDataSources;
}

async function refusal(p: Promise<unknown>): Promise<DataError> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(DataError);
  return e as DataError;
}

describe('findRunData', () => {
  it('refuses a dev server page for an upload that was not stored (checkpoint without origin or digest)', async () => {
    const e = await refusal(findRunData({ dataName: 'messy.csv', dataKey: null }, sources({}, {})));
    expect([e.code, e.file]).toEqual(['NotStored', 'messy.csv']);
    expect(e.message).toMatch(/^The data this run trained on \(messy\.csv\) is no longer stored in this browser\. /);
    expect(e.message).toMatch(/Upload messy\.csv again .* then press Resume .*; or start a new run\.$/);
  });

  it('refuses an HTML page served as text/plain, or a stored text that is a page', async () => {
    const plain = { ...sources({ k: INDEX_HTML }, {}), fetchBundled: async () => response(INDEX_HTML, 'text/plain') };
    expect((await refusal(findRunData({ dataName: 'spam.csv', dataKey: null }, plain))).code).toBe('NotStored');
    expect((await refusal(findRunData({ dataName: 'spam.csv', dataKey: 'k' }, plain))).code).toBe('NotStored');
  });

  it('refuses a text whose SHA-256 differs from the recorded one, stored or bundled', async () => {
    const sha = await sha256Hex(CSV);
    const upload = { dataName: 'messy.csv', dataKey: 'k', dataOrigin: 'upload' as const, dataSha256: sha };
    const edited = sources({ k: `${CSV}"more",ham\n` }, { 'messy.csv': CSV });
    expect((await refusal(findRunData(upload, edited))).code).toBe('NotStored');
    const demo = { dataName: 'spam.csv', dataKey: null, dataOrigin: 'demo' as const, dataSha256: sha };
    const e = await refusal(findRunData(demo, sources({}, { 'spam.csv': 'text,label\nother,ham\n' })));
    expect(e.message).toBe(
      'The bundled data set spam.csv has changed since this run was saved, so the run cannot ' +
        'continue on it. Start a new run.',
    );
  });

  it('takes the stored upload, the bundled file, or the same file uploaded again when the digest matches', async () => {
    const sha = await sha256Hex(CSV);
    const upload = { dataName: 'messy.csv', dataKey: 'k', dataOrigin: 'upload' as const, dataSha256: sha };
    const messy = { name: 'messy.csv', text: CSV, origin: 'upload' };
    expect(await findRunData(upload, sources({ k: CSV }, {}))).toEqual(messy);
    const demo = { dataName: 'spam.csv', dataKey: null, dataOrigin: 'demo' as const, dataSha256: sha };
    expect(await findRunData(demo, sources({}, { 'spam.csv': CSV }))).toEqual({
      name: 'spam.csv',
      text: CSV,
      origin: 'demo',
    });
    const again = [
      { name: 'other.csv', text: 'text,label\nx,y\n' },
      { name: 'renamed.csv', text: CSV },
    ];
    expect(await findRunData(upload, sources({}, {}, again))).toEqual(messy);
    // Without a recorded digest, an upload of the same name serves.
    expect((await findRunData({ dataName: 'renamed.csv', dataKey: null }, sources({}, {}, again))).text).toBe(CSV);
  });
});

describe('helpers', () => {
  it('tell an HTML page from data', async () => {
    expect(looksLikeHtml(INDEX_HTML)).toBe(true);
    expect(looksLikeHtml('\uFEFF  <HTML>\n<body>')).toBe(true);
    expect(looksLikeHtml(CSV)).toBe(false);
    expect(looksLikeHtml('text,label\n"<html> tags in a review",pos\n')).toBe(false);
    expect(await bundledText(response(CSV, 'text/csv; charset=utf-8'))).toBe(CSV);
    expect(await bundledText(response(INDEX_HTML, 'text/html'))).toBeUndefined();
    expect(await bundledText(response('not found', 'text/plain', 404))).toBeUndefined();
    expect(await sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('remember the newest four uploads, each once', () => {
    for (const n of [1, 2, 3, 4, 5, 3]) rememberUpload({ name: `f${n}.csv`, text: `t${n}`, origin: 'upload' });
    expect(rememberedUploads().map((f) => f.name)).toEqual(['f3.csv', 'f5.csv', 'f4.csv', 'f2.csv']);
  });
});
