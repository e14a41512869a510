import { defineConfig } from 'vitest/config';

// Browser end-to-end tests: a Vite dev server plus headless Chromium (playwright-core) with WebGPU on SwiftShader.
export default defineConfig({
  test: {
    include: ['e2e/**/*.e2e.test.ts'],
    environment: 'node',
    globalSetup: ['e2e/setup/server.ts'],
    testTimeout: 300_000,
    hookTimeout: 180_000,
    fileParallelism: false,
  },
});
