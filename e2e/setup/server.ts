// Global setup: one Vite dev server on 127.0.0.1 for every e2e file; its URL reaches the tests via provide/inject.

import { createServer, type ViteDevServer } from 'vite';
import type { TestProject } from 'vitest/node';

let server: ViteDevServer | undefined;

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  server = await createServer({
    configFile: 'vite.config.ts',
    server: { port: 0, host: '127.0.0.1', open: false },
    logLevel: 'warn',
  });
  await server.listen();
  const addr = server.httpServer?.address();
  if (!addr || typeof addr === 'string') throw new Error('vite dev server did not report a port');
  project.provide('baseUrl', `http://127.0.0.1:${addr.port}`);
  return async () => {
    await server?.close();
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    baseUrl: string;
  }
}
