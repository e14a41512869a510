// A tiny Hugging Face hub stand-in for tests: serves a temp folder laid out as `<id>/resolve/<revision>/<file>` over
// HTTP on 127.0.0.1, with Content-Length, and can be told to misbehave per file (404, 401, an HTML page, a body cut
// short). Every request path is recorded so tests can check what was (not) downloaded.

import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';

/** How to answer for a file: `truncate` sends Content-Length of the whole file, then `bytes` of it, then drops the socket. */
type Fault = { status: 404 } | { status: 401 } | { html: true; status?: number } | { truncate: number };

export interface HubServer {
  /** `http://127.0.0.1:<port>`, to pass as hubBase. */
  readonly url: string;
  /** The served folder. */
  readonly root: string;
  /** Decoded request paths (`/owner/name/resolve/main/config.json`), in order. */
  readonly requests: string[];
  /** Copies the files of `fromDir` to `<id>/resolve/<revision>/`; returns that folder. */
  addModel(id: string, fromDir: string, revision?: string): string;
  /** Writes one file of a model (e.g. a corrupted copy). */
  writeFile(id: string, file: string, data: Uint8Array | string, revision?: string): void;
  /** Makes requests whose path ends with `/${key}` (a file name, or `id/resolve/rev/file`), or all with '*', fail. */
  fault(key: string, f: Fault): void;
  /** Clears faults and the request log. */
  reset(): void;
  close(): Promise<void>;
}

const HTML_PAGE =
  '<!DOCTYPE html>\n<html><head><title>Hugging Face – Sign in</title></head><body><h1>Sign in</h1></body></html>\n';

export async function startHubServer(): Promise<HubServer> {
  const root = mkdtempSync(join(tmpdir(), 'dynrank-hub-'));
  const requests: string[] = [];
  const faults = new Map<string, Fault>();

  const faultFor = (path: string): Fault | undefined => {
    for (const [k, f] of faults) if (k === '*' || path.endsWith(`/${k}`)) return f;
    return undefined;
  };

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    let segments: string[];
    try {
      segments = new URL(req.url ?? '/', 'http://127.0.0.1').pathname
        .split('/')
        .filter((s) => s !== '')
        .map(decodeURIComponent);
    } catch {
      res.writeHead(400).end();
      return;
    }
    const path = `/${segments.join('/')}`;
    requests.push(path);
    const f = faultFor(path);
    if (f && 'status' in f && !('html' in f)) {
      const body = f.status === 401 ? '{"error":"Invalid username or password."}' : '{"error":"Entry not found"}';
      res
        .writeHead(f.status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) })
        .end(body);
      return;
    }
    if (f && 'html' in f) {
      res
        .writeHead(f.status ?? 200, {
          'Content-Type': 'text/html; charset=utf-8',
          'Content-Length': Buffer.byteLength(HTML_PAGE),
        })
        .end(HTML_PAGE);
      return;
    }
    const file = join(root, ...segments);
    const ok =
      segments.length > 0 &&
      !segments.some((s) => s === '..' || s === '.' || s.includes(sep)) &&
      existsSync(file) &&
      statSync(file).isFile();
    if (!ok || req.method !== 'GET') {
      const body = '{"error":"Entry not found"}';
      res
        .writeHead(404, {
          'Content-Type': 'application/json',
          'Content-Length': Buffer.byteLength(body),
          'X-Error-Code': 'EntryNotFound',
        })
        .end(body);
      return;
    }
    const data = readFileSync(file);
    const type = file.endsWith('.json') ? 'application/json' : 'application/octet-stream';
    res.writeHead(200, { 'Content-Type': type, 'Content-Length': data.byteLength });
    if (f && 'truncate' in f) {
      const n = Math.min(f.truncate, data.byteLength - 1);
      res.write(data.subarray(0, n), () => res.destroy());
      return;
    }
    // In chunks, so a client sees several progress steps.
    const CHUNK = 64 * 1024;
    for (let o = 0; o < data.byteLength; o += CHUNK) res.write(data.subarray(o, o + CHUNK));
    res.end();
  };

  const server = createServer(handle);
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => ok());
  });
  const { port } = server.address() as AddressInfo;
  const modelDir = (id: string, revision = 'main') => join(root, ...id.split('/'), 'resolve', ...revision.split('/'));

  return {
    url: `http://127.0.0.1:${port}`,
    root,
    requests,
    addModel(id, fromDir, revision = 'main') {
      const dir = modelDir(id, revision);
      mkdirSync(dir, { recursive: true });
      cpSync(fromDir, dir, { recursive: true });
      return dir;
    },
    writeFile(id, file, data, revision = 'main') {
      const dir = modelDir(id, revision);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, file), data);
    },
    fault(key, f) {
      faults.set(key, f);
    },
    reset() {
      faults.clear();
      requests.length = 0;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((ok) => server.close(() => ok()));
      rmSync(root, { recursive: true, force: true });
    },
  };
}
