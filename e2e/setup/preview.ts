// A production build of the page served by `vite preview`, for the tests that measure what a deployed page costs
// (the dev server runs React's development build, several times heavier per render, and transforms on request).

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type PreviewServer, preview } from 'vite';

export interface Preview {
  url: string;
  close(): Promise<void>;
}

export async function startPreview(): Promise<Preview> {
  const outDir = mkdtempSync(join(tmpdir(), 'dynrank-dist-'));
  // `vite build` in its own process, as `npm run build` runs it: inside vitest NODE_ENV is 'test', and a build made
  // here would bundle React's development build.
  const env = { ...process.env };
  delete env.NODE_ENV;
  const r = spawnSync(
    process.execPath,
    ['node_modules/vite/bin/vite.js', 'build', '--outDir', outDir, '--emptyOutDir', '--logLevel', 'warn'],
    { env, encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`vite build failed (${r.status}):\n${r.stderr || r.stdout}`);
  const server: PreviewServer = await preview({
    configFile: 'vite.config.ts',
    logLevel: 'warn',
    build: { outDir },
    preview: { port: 0, host: '127.0.0.1', open: false },
  });
  const addr = server.httpServer.address();
  if (!addr || typeof addr === 'string') throw new Error('vite preview did not report a port');
  return {
    url: `http://127.0.0.1:${addr.port}`,
    async close() {
      await server.close();
      rmSync(outDir, { recursive: true, force: true });
    },
  };
}
