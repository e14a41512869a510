#!/usr/bin/env node
// `npm test`: the type check, unit + GPU kernel tests in Node (Dawn), and the Playwright e2e suite in headless Chromium.
// Usage: node scripts/test.mjs [all|unit|e2e] [extra vitest args]
// First it provisions the system packages the tests need (scripts/provision.mjs: installed with apt-get as root on
// Debian/Ubuntu, otherwise one line per missing thing saying what to install; the tests that need it then fail with
// their own message, never skipped), and sets up what WebGPU needs on a GPU-less Linux box (Chromium's SwiftShader
// Vulkan driver).

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lavapipeIcd, ONNX_NODE_DIR, PYTHON, provisionPlan, SWIFTSHADER_ICD } from './provision.mjs';

const [mode = 'all', ...extra] = process.argv.slice(2);
const env = { ...process.env };

function haveVulkanLoader() {
  const r = spawnSync('ldconfig', ['-p'], { encoding: 'utf8' });
  return r.status === 0 && /libvulkan\.so\.1\b/.test(r.stdout);
}

function findChromium() {
  for (const c of [env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'])
    if (c && existsSync(c)) return c;
  return null;
}

/** Whether /usr/bin/python3 finds the module (without importing it: a 30 ms look-up, not seconds). */
function havePythonModule(name) {
  const code = `import importlib.util, sys; sys.exit(importlib.util.find_spec("${name}") is None)`;
  const r = spawnSync(PYTHON, ['-c', code]);
  return r.status === 0;
}

/** Per need of scripts/provision.mjs: is it on this machine? */
function probe() {
  return {
    chromium: findChromium() !== null,
    // Chromium's own copy of the loader serves too (prepareEnvironment puts it on LD_LIBRARY_PATH).
    vulkan: haveVulkanLoader() || existsSync('/usr/lib/chromium/libvulkan.so.1'),
    onnx: existsSync(ONNX_NODE_DIR),
    torch: havePythonModule('torch'),
    pythonOnnx: havePythonModule('onnx'),
    lavapipe: existsSync(lavapipeIcd(env)),
  };
}

/** Debian 12, where scripts/fetch-lavapipe.mjs gets Mesa 25 from bookworm-backports. */
function isBookworm() {
  try {
    return /^VERSION_CODENAME=bookworm$/m.test(readFileSync('/etc/os-release', 'utf8'));
  } catch {
    return false;
  }
}

/** Installs what the tests need and is missing (root + apt), or says what to install. */
function provision() {
  const facts = { root: process.getuid?.() === 0, apt: existsSync('/usr/bin/apt-get'), bookworm: isBookworm() };
  let plan = provisionPlan({ ...facts, present: probe() });
  if (plan.commands.length) {
    console.log(`[test] provisioning what the tests need: ${plan.missing.map((n) => n.id).join(', ')}`);
    for (const c of plan.commands) {
      const r = spawnSync(c.cmd, c.args, { stdio: 'inherit', env: { ...env, ...c.env } });
      if (r.status !== 0) break;
    }
    plan = provisionPlan({ ...facts, present: probe(), installAttempted: true });
  }
  for (const line of plan.advice) console.error(line);
}

function prepareEnvironment() {
  provision();
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
  const args = [
    'vitest',
    'run',
    ...(config ? ['-c', config] : []),
    '--reporter=default',
    '--reporter=json',
    `--outputFile.json=${out}`,
    ...extra,
  ];
  run(name, 'npx', args);
  if (existsSync(out)) {
    const j = JSON.parse(readFileSync(out, 'utf8'));
    totals.passed += j.numPassedTests ?? 0;
    // A file that fails to load has no failed tests, only a failed suite (vitest counts describe blocks as suites too).
    totals.failed += (j.numFailedTests ?? 0) || (j.numFailedTestSuites ?? 0);
    totals.skipped += (j.numPendingTests ?? 0) + (j.numTodoTests ?? 0);
    if ((j.numPendingTests ?? 0) + (j.numTodoTests ?? 0) > 0)
      failedSteps.push(`${name} (skipped tests are not allowed)`);
  } else {
    totals.failed += 1;
  }
}

prepareEnvironment();
if (mode === 'all' || mode === 'unit') {
  // Formatter and linter (biome.jsonc): any difference from the formatted source or any lint error fails the run.
  run('lint', 'npx', ['biome', 'ci', '--max-diagnostics=50', '.']);
  // Unused exports, files and dependencies (knip.jsonc).
  run('unused', 'npx', ['knip', '--no-progress']);
  run('typecheck', 'npx', ['tsc', '--noEmit', '-p', '.']);
  vitest('unit+gpu', null);
}
if (mode === 'all' || mode === 'e2e') vitest('e2e', 'vitest.e2e.config.ts');

failedSteps = [...new Set(failedSteps)];
console.log(`\n[test] ${failedSteps.length ? `failed steps: ${failedSteps.join(', ')}` : 'all steps passed'}`);
console.log(`${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
process.exit(failedSteps.length || totals.failed ? 1 : 0);
