// Finds a Chromium with WebGPU and launches it headless with the flags that give the SwiftShader adapter on CI.

import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';

/** $CHROMIUM_PATH, Debian's /usr/bin/chromium, or Playwright's own download, in that order. */
export function findChromium(): string {
  const candidates = [
    process.env.CHROMIUM_PATH,
    '/usr/bin/chromium',
    '/usr/bin/chromium-browser',
    safePlaywrightPath(),
  ];
  for (const c of candidates) if (c && existsSync(c)) return c;
  throw new Error(
    'No Chromium found for the browser tests. Set CHROMIUM_PATH to a Chromium/Chrome binary, or on Debian/Ubuntu run ' +
      '`apt-get install -y chromium` (scripts/test.mjs does this itself when run as root).',
  );
}

function safePlaywrightPath(): string | undefined {
  try {
    return chromium.executablePath();
  } catch {
    return undefined;
  }
}

export const CHROMIUM_ARGS = [
  '--headless=new',
  '--no-sandbox',
  '--enable-unsafe-webgpu',
  '--enable-webgpu-developer-features',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** A fresh persistent context (own user-data-dir), as the CI recipe in ENVIRONMENT.md. */
export async function launch(viewport = { width: 1280, height: 800 }): Promise<BrowserContext> {
  const dir = mkdtempSync(join(tmpdir(), 'dynrank-chromium-'));
  return chromium.launchPersistentContext(dir, {
    executablePath: findChromium(),
    headless: true,
    args: CHROMIUM_ARGS,
    viewport,
    acceptDownloads: true,
  });
}
