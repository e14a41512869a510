import { defineConfig } from 'vitest/config';

// Unit tests (CPU references, parsers, adapters) and GPU kernel tests (Dawn in Node) run in one vitest run.
// Browser tests are Playwright (e2e/), started by scripts/test.mjs.
export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'tests/**/*.test.ts'],
    environment: 'node',
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Two cores: more workers only make SwiftShader kernels fight for them.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
