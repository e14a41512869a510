// Adapted from shared/peers/lib.mjs (the team's peer benchmark): the static server (COOP/COEP, so wasm gets threads)
// and the page runner, unchanged. Its Chromium launcher is left out: scripts/bench.mjs launches one Chromium with
// e2e/setup/chromium.ts's flags for every contender, ours included.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';

const MIME = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.cjs': 'text/javascript',
  '.wasm': 'application/wasm', '.json': 'application/json', '.onnx': 'application/octet-stream' };

export function serve(roots) {
  roots = roots.map(r => path.resolve(r));
  return new Promise((resolve) => {
    const srv = http.createServer((req, res) => {
      const u = decodeURIComponent(new URL(req.url, 'http://x').pathname);
      for (const r of roots) {
        const p = path.join(r, u);
        if (p.startsWith(r) && fs.existsSync(p) && fs.statSync(p).isFile()) {
          res.writeHead(200, { 'Content-Type': MIME[path.extname(p)] || 'application/octet-stream',
            'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' });
          fs.createReadStream(p).pipe(res); return;
        }
      }
      res.writeHead(404); res.end('not found');
    });
    srv.listen(0, '127.0.0.1', () => resolve({ srv, url: `http://127.0.0.1:${srv.address().port}` }));
  });
}

// Open a page, wait for window.ready, call window[fn](...args), collect console warnings/errors.
export async function runInPage(ctx, url, fn, args, timeout = 900000) {
  const page = await ctx.newPage(); page.setDefaultTimeout(timeout);
  const warn = [];
  page.on('console', m => { const t = m.text(); if (m.type() !== 'log' && !t.includes('404')) warn.push(m.type() + ': ' + t.slice(0, 400)); });
  page.on('pageerror', e => warn.push('pageerror: ' + String(e.message).slice(0, 400)));
  let res;
  try {
    await page.goto(url);
    await page.waitForFunction(() => window.ready, null, { timeout: 60000 });
    res = await page.evaluate(([f, a]) => window[f](...a), [fn, args]);
  } catch (e) { res = { error: String(e).slice(0, 1500) }; }
  if (warn.length) res.console = warn.slice(0, 8);
  await page.close();
  return res;
}

export function loadavg() { return fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '); }
