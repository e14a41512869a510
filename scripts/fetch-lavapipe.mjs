#!/usr/bin/env node
// Fetches Mesa's lavapipe, a CPU Vulkan driver that has 'shader-f16', for the tests of the f16-arithmetic kernels
// (tests/gpu/shaderF16.test.ts), without installing it: Debian 12's own Mesa 22.3 lavapipe is refused by Dawn, so the
// driver comes from bookworm-backports (Mesa 25), unpacked into node_modules/.cache/dynrank-lavapipe beside an ICD file
// that names it by absolute path. Nothing outside that folder changes, except that as root the driver's shared-library
// dependencies are installed from bookworm when missing. Debian 12 only; elsewhere install a Mesa >= 24
// mesa-vulkan-drivers and set DYNRANK_LAVAPIPE_ICD to its lvp_icd JSON.
// Usage: node scripts/fetch-lavapipe.mjs   (scripts/test.mjs runs it when the driver is missing)

import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LAVAPIPE_DIR, LAVAPIPE_ICD } from './provision.mjs';

const SOURCE =
  'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm-backports main';
const PACKAGE = 'mesa-vulkan-drivers/bookworm-backports';
const LIB = 'libvulkan_lvp.so';

function sh(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...opts });
  if (r.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.status}): ${(r.stderr || r.stdout || '').trim()}`);
  }
  return r.stdout;
}

function main() {
  const work = mkdtempSync(join(tmpdir(), 'dynrank-lavapipe-'));
  try {
    // A private package list (backports only), so the system's apt state is neither read nor changed.
    for (const d of ['lists/partial', 'cache/archives/partial', 'deb']) mkdirSync(join(work, d), { recursive: true });
    writeFileSync(join(work, 'sources.list'), `${SOURCE}\n`);
    const apt = [
      '-o',
      `Dir::Etc::sourcelist=${join(work, 'sources.list')}`,
      '-o',
      'Dir::Etc::sourceparts=-',
      '-o',
      `Dir::State::Lists=${join(work, 'lists')}`,
      '-o',
      `Dir::Cache=${join(work, 'cache')}`,
      '-o',
      'APT::Get::List-Cleanup=0',
    ];
    console.log('[lavapipe] reading the bookworm-backports package list');
    sh('apt-get', [...apt, '-q', 'update']);
    console.log(`[lavapipe] downloading ${PACKAGE}`);
    sh('apt-get', [...apt, '-q', 'download', PACKAGE], { cwd: join(work, 'deb') });
    const deb = readdirSync(join(work, 'deb')).find((f) => f.endsWith('.deb'));
    if (!deb) throw new Error('apt-get download left no .deb');
    sh('dpkg-deb', ['-x', join(work, 'deb', deb), join(work, 'x')]);
    const lib = join(work, 'x/usr/lib/x86_64-linux-gnu', LIB);
    if (!existsSync(lib)) throw new Error(`${deb} has no ${LIB} (x86-64 only)`);
    rmSync(LAVAPIPE_DIR, { recursive: true, force: true });
    mkdirSync(LAVAPIPE_DIR, { recursive: true });
    copyFileSync(lib, join(LAVAPIPE_DIR, LIB));
    installMissingDependencies(join(LAVAPIPE_DIR, LIB), join(work, 'deb', deb));
    // Written last: its presence is what says the driver is ready (scripts/test.mjs probes it).
    const icd = { file_format_version: '1.0.0', ICD: { library_path: join(LAVAPIPE_DIR, LIB), api_version: '1.3.0' } };
    writeFileSync(LAVAPIPE_ICD, `${JSON.stringify(icd, null, 2)}\n`);
    console.log(`[lavapipe] ${deb} ready: ${LAVAPIPE_ICD}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** The shared libraries the driver needs (LLVM 15, libxcb, ...) come from bookworm itself; as root, install the
 * packages of its Depends line that are missing (names only: the versions bookworm has satisfy the loader). */
function installMissingDependencies(lib, deb) {
  const missing = () =>
    sh('ldd', [lib])
      .split('\n')
      .filter((l) => l.includes('not found'));
  if (missing().length === 0) return;
  const depends = sh('dpkg-deb', ['-f', deb, 'Depends'])
    .split(',')
    .map((d) => d.split('|')[0].trim().split(/[\s(]/)[0])
    .filter(Boolean);
  const absent = depends.filter((p) => spawnSync('dpkg', ['-s', p], { stdio: 'ignore' }).status !== 0);
  if (process.getuid?.() !== 0) {
    throw new Error(`the driver needs libraries that are missing; as root run: apt-get install ${absent.join(' ')}`);
  }
  console.log(`[lavapipe] installing its dependencies: ${absent.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  sh('apt-get', ['install', '-y', '--no-install-recommends', ...absent], { env, stdio: 'inherit' });
  const still = missing();
  if (still.length) throw new Error(`still missing after apt-get: ${still.join('; ')}`);
}

try {
  main();
} catch (e) {
  console.error(`[lavapipe] ${e.message}`);
  process.exit(1);
}
