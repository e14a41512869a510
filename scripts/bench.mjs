#!/usr/bin/env node
// `npm run bench`: engine benchmarks in Node through Dawn (src/bench/node.ts), with the Vulkan set-up of the tests.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const env = { ...process.env };
if (!env.VK_ICD_FILENAMES && !env.VK_DRIVER_FILES && existsSync('/usr/lib/chromium/vk_swiftshader_icd.json') && env.DYNRANK_VULKAN !== 'system') {
  env.VK_ICD_FILENAMES = '/usr/lib/chromium/vk_swiftshader_icd.json';
}
const r = spawnSync(process.execPath, ['--import', 'tsx', '--import', './bin/register-raw.mjs', 'src/bench/node.ts'], { stdio: 'inherit', env });
process.exit(r.status ?? 1);
