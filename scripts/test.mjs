#!/usr/bin/env node
// `npm test`: the type check, unit + GPU kernel tests in Node (Dawn), and the Playwright e2e suite in headless Chromium.
// Usage: node scripts/test.mjs [all|unit|e2e] [extra vitest args]
// It sets up what WebGPU needs on a GPU-less Linux box (Chromium's SwiftShader Vulkan driver) and says exactly
// what is missing when it cannot; GPU tests then fail loudly, they are never skipped.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
const [mode = 'all', ...extra] = process.argv.slice(2);
const env = { ...process.env };

function haveVulkanLoader() {
  const r = spawnSync('ldconfig', ['-p'], { encoding: 'utf8' });
  return r.status === 0 && /libvulkan\.so\.1\b/.test(r.stdout);
}

function findChromium() {
  for (const c of [env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser']) if (c && existsSync(c)) return c;
  return null;
}

function tryInstallChromium() {
  const isRoot = process.getuid?.() === 0;
  if (!isRoot || !existsSync('/usr/bin/apt-get')) return false;
  console.log('[test] Chromium not found: installing Debian\'s chromium package (apt-get install -y chromium)…');
  spawnSync('apt-get', ['update'], { stdio: 'inherit' });
  const r = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'chromium', 'libvulkan1'], { stdio: 'inherit', env: { ...env, DEBIAN_FRONTEND: 'noninteractive' } });
  return r.status === 0;
}

function prepareEnvironment() {
  if (!findChromium() && !tryInstallChromium()) {
    console.error('[test] No Chromium with WebGPU found. Install one (Debian/Ubuntu: `apt-get install -y chromium`) or set ' +
      'CHROMIUM_PATH. The browser tests need it, and the Node GPU tests use the SwiftShader Vulkan driver it ships.');
  }
  if (!env.VK_ICD_FILENAMES && !env.VK_DRIVER_FILES && existsSync(SWIFTSHADER_ICD) && env.DYNRANK_VULKAN !== 'system') {
    env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  }
  // Without a system Vulkan loader, Chromium's bundled one serves Dawn too (glibc reads this at process start).
  if (!haveVulkanLoader() && existsSync('/usr/lib/chromium/libvulkan.so.1')) {
    env.LD_LIBRARY_PATH = ['/usr/lib/chromium', env.LD_LIBRARY_PATH].filter(Boolean).join(':');
  }
  if (!env.XDG_RUNTIME_DIR) {
    env.XDG_RUNTIME_DIR = join(tmpdir(), 'dynrank-xdg');
    mkdirSync(env.XDG_RUNTIME_DIR, { recursive: true, mode: 0o700 });
  }
}

const totals = { passed: 0, failed: 0, skipped: 0 };
let failedSteps = [];

function run(name, cmd, args) {
  console.log(`\n[test] ${name}: ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { stdio: 'inherit', env });
  if (r.status !== 0) failedSteps.push(name);
  return r.status === 0;
}

function vitest(name, config) {
  const out = join(tmpdir(), `dynrank-vitest-${name}-${process.pid}.json`);
  rmSync(out, { force: true });
  const args = ['vitest', 'run', ...(config ? ['-c', config] : []), '--reporter=default', '--reporter=json', `--outputFile.json=${out}`, ...extra];
  run(name, 'npx', args);
  if (existsSync(out)) {
    const j = JSON.parse(readFileSync(out, 'utf8'));
    totals.passed += j.numPassedTests ?? 0;
    // A file that fails to load has no failed tests, only a failed suite (vitest counts describe blocks as suites too).
    totals.failed += (j.numFailedTests ?? 0) || (j.numFailedTestSuites ?? 0);
    totals.skipped += (j.numPendingTests ?? 0) + (j.numTodoTests ?? 0);
    if ((j.numPendingTests ?? 0) + (j.numTodoTests ?? 0) > 0) failedSteps.push(`${name} (skipped tests are not allowed)`);
  } else {
    totals.failed += 1;
  }
}

prepareEnvironment();
if (mode === 'all' || mode === 'unit') {
  run('typecheck', 'npx', ['tsc', '--noEmit', '-p', '.']);
  vitest('unit+gpu', null);
}
if (mode === 'all' || mode === 'e2e') vitest('e2e', 'vitest.e2e.config.ts');

failedSteps = [...new Set(failedSteps)];
console.log(`\n[test] ${failedSteps.length ? `failed steps: ${failedSteps.join(', ')}` : 'all steps passed'}`);
console.log(`${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
process.exit(failedSteps.length || totals.failed ? 1 : 0);
