#!/usr/bin/env node
// Builds .devkit/: what a lent GPU machine needs to run `npm run bench:gpu` (src/bench/hardware.ts). That machine is
// bare: no Node, no network, maybe no Vulkan loader, and a call carries at most 64 MiB with the working tree (about
// 30 MB). The kit holds the benchmark bundled into one file by vite (shaders inlined), the `webgpu` package with only
// its linux-x64 dawn.node (xz), this machine's Node binary (xz) and Vulkan loader, and run.sh, which
// unpacks them and runs the benchmark with the GPU's Vulkan driver. About 30 MB; the .devkit folder is git-ignored.
// Usage: node scripts/device-kit.mjs [--out DIR] [--no-node]
// Then, on the device (carry: [".devkit"]): BENCH_DEVICE_NAME=nvidia-h200 bash .devkit/run.sh "$OUT"
// (--no-node leaves Node out: run.sh then uses the `node` on PATH, as the tests do here.)

import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  realpathSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const outIdx = args.indexOf('--out');
const OUT = resolve(outIdx >= 0 ? args[outIdx + 1] : join(ROOT, '.devkit'));
const withNode = !args.includes('--no-node');

function sh(cmd, argv, opts = {}) {
  const r = spawnSync(cmd, argv, { encoding: 'buffer', maxBuffer: 1 << 30, ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')} failed: ${String(r.stderr || '').trim()}`);
  return r.stdout;
}

const RUN_SH = `#!/bin/sh
# Runs the real-GPU benchmark from this kit (scripts/device-kit.mjs): unpacks Node and dawn.node, provides the Vulkan
# loader where the machine lacks one, points Vulkan at the NVIDIA driver when nothing else is configured, then runs
# src/bench/hardware.ts's bundle with the arguments given (an output folder, --smoke, --legacy).
set -e
KIT=$(cd "$(dirname "$0")" && pwd)
unxz_to() { # $1.xz -> $1
  if [ -e "$1" ]; then return; fi
  if command -v xz >/dev/null 2>&1; then xz -dc "$1.xz" > "$1.tmp"
  else python3 -c "import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], 'wb'))" "$1.xz" "$1.tmp"; fi
  mv "$1.tmp" "$1"
}
unxz_to "$KIT/node_modules/webgpu/dist/linux-x64/dawn.node"
if [ -e "$KIT/node.xz" ]; then unxz_to "$KIT/node"; chmod +x "$KIT/node"; NODE="$KIT/node"; else NODE=node; fi
if ! ldconfig -p 2>/dev/null | grep -q 'libvulkan.so.1'; then
  export LD_LIBRARY_PATH="$KIT/lib\${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
# NVIDIA's Vulkan driver (libGLX_nvidia.so.0) needs glvnd's libGLdispatch; a bare machine may lack it (the lent H200
# of 2026-12-04 did: "Found no drivers").
if ! ldconfig -p 2>/dev/null | grep -q 'libGLdispatch.so.0' && [ -d "$KIT/lib-gl" ]; then
  export LD_LIBRARY_PATH="$KIT/lib-gl\${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
NV=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if [ -z "$VK_ICD_FILENAMES$VK_DRIVER_FILES" ] && [ -e "$NV" ] && [ ! -e /usr/share/vulkan/icd.d/nvidia_icd.json ]; then
  export VK_DRIVER_FILES="$NV"
fi
export DYNRANK_VULKAN="\${DYNRANK_VULKAN-system}"
# Exact kernel timestamps for the profile (added to any Dawn flags given): Dawn otherwise rounds them down to multiples
# of 65.536 us, as browsers do, which a 5-50 us kernel cannot be timed at (the H200 profiles of 2026-12-04 were).
export DYNRANK_DAWN_FLAGS="disable-dawn-features=timestamp_quantization\${DYNRANK_DAWN_FLAGS:+ $DYNRANK_DAWN_FLAGS}"
export XDG_RUNTIME_DIR="\${XDG_RUNTIME_DIR:-/tmp/dynrank-xdg}"
mkdir -p "$XDG_RUNTIME_DIR"
exec "$NODE" "$KIT/bench.mjs" "$@"
`;

/** The real path of a library the dynamic linker knows (ldconfig), or null. */
function systemLibrary(name) {
  const r = spawnSync('ldconfig', ['-p'], { encoding: 'utf8' });
  const m = new RegExp(`${name.replaceAll('.', '\\.')} \\(libc6,x86-64\\) => (\\S+)`).exec(r.stdout ?? '');
  return m ? realpathSync(m[1]) : null;
}

/** This machine's Vulkan loader: the system's (ldconfig), else the copy Chromium ships. */
function vulkanLoader() {
  const path = systemLibrary('libvulkan.so.1') ?? '/usr/lib/chromium/libvulkan.so.1';
  if (!existsSync(path)) throw new Error('no Vulkan loader here: apt-get install libvulkan1 (or chromium)');
  return path;
}

async function main() {
  const t0 = Date.now();
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  await build({
    configFile: false,
    root: ROOT,
    publicDir: false,
    logLevel: 'warn',
    build: {
      ssr: 'src/bench/hardware.ts',
      outDir: OUT,
      emptyOutDir: false,
      target: 'node20',
      minify: false,
      rollupOptions: { external: ['webgpu'], output: { format: 'es', entryFileNames: 'bench.mjs' } },
    },
    ssr: { noExternal: true, target: 'node' },
  });
  const webgpu = join(ROOT, 'node_modules/webgpu');
  const kitWebgpu = join(OUT, 'node_modules/webgpu');
  mkdirSync(join(kitWebgpu, 'dist/linux-x64'), { recursive: true });
  for (const f of ['package.json', 'index.js', 'LICENSE.md']) copyFileSync(join(webgpu, f), join(kitWebgpu, f));
  writeFileSync(
    join(kitWebgpu, 'dist/linux-x64/dawn.node.xz'),
    sh('xz', ['-T0', '-6', '-c', join(webgpu, 'dist/linux-x64/dawn.node')]),
  );
  if (withNode) writeFileSync(join(OUT, 'node.xz'), sh('xz', ['-T0', '-6', '-c', process.execPath]));
  // The Vulkan loader, for a machine without one: this machine's libvulkan.so.1 (or Chromium's copy of it).
  mkdirSync(join(OUT, 'lib'));
  copyFileSync(vulkanLoader(), join(OUT, 'lib/libvulkan.so.1'));
  // glvnd's dispatch library, which NVIDIA's Vulkan driver links against, when this machine has it.
  const dispatch = systemLibrary('libGLdispatch.so.0');
  if (dispatch) {
    mkdirSync(join(OUT, 'lib-gl'));
    copyFileSync(dispatch, join(OUT, 'lib-gl/libGLdispatch.so.0'));
  }
  writeFileSync(join(OUT, 'run.sh'), RUN_SH);
  chmodSync(join(OUT, 'run.sh'), 0o755);
  let bytes = 0;
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name));
      else bytes += statSync(join(d, e.name)).size;
    }
  };
  walk(OUT);
  console.log(
    `[device-kit] ${OUT}: ${(bytes / 2 ** 20).toFixed(1)} MiB in ${((Date.now() - t0) / 1000).toFixed(1)} s` +
      `${withNode ? '' : ' (no Node)'}. On the device, with carry [".devkit"]: BENCH_DEVICE_NAME=<name> bash .devkit/run.sh "$OUT"`,
  );
}

main().catch((e) => {
  console.error(`[device-kit] ${e.message}`);
  process.exit(1);
});
