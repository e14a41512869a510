// What the tests need from the system beyond node_modules, and what `npm test` does about what is missing: as root
// on an apt-based system it installs the missing Debian packages (one `apt-get update`, one `apt-get install`);
// otherwise it prints one line per missing thing saying what to install. The tests that need a missing thing then
// fail with their own message; none is skipped. Pure: scripts/test.mjs probes the machine and runs the commands.

import { fileURLToPath } from 'node:url';

/** Where Debian's libonnx-testdata puts the ONNX node tests (tests/onnx/onnxData.ts reads them from there). */
export const ONNX_NODE_DIR = '/usr/share/libonnx-testdata/data/node';
/** Where scripts/fetch-lavapipe.mjs unpacks Mesa's lavapipe (the shader-f16 tests' adapter), and its ICD file. */
export const LAVAPIPE_DIR = fileURLToPath(new URL('../node_modules/.cache/dynrank-lavapipe', import.meta.url));
export const LAVAPIPE_ICD = `${LAVAPIPE_DIR}/lvp_icd.json`;
/** Chromium's SwiftShader Vulkan driver: the GPU tests' default adapter in Node, as it is the browser's. */
export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

/** The lavapipe ICD the tests use: DYNRANK_LAVAPIPE_ICD (a Mesa >= 24 install), else the fetched one. */
export function lavapipeIcd(env = process.env) {
  return env.DYNRANK_LAVAPIPE_ICD || LAVAPIPE_ICD;
}
/** The interpreter the PyTorch check and the ONNX checker run (tests/peft/pytorch-check.test.ts, tests/export/). */
export const PYTHON = '/usr/bin/python3';

/**
 * @typedef {object} Need
 * @property {string} id
 * @property {string[]} packages Debian/Ubuntu packages that provide it (none for a fetched need)
 * @property {string} [fetch] instead of packages: a script that fetches it (on Debian 12, root or not)
 * @property {string} what
 * @property {string} usedBy the tests that need it
 * @property {string} elsewhere what to install on a system without apt
 */

/** @type {readonly Need[]} Everything the tests need from the system: the one list. */
export const NEEDS = Object.freeze([
  {
    id: 'chromium',
    packages: ['chromium'],
    what: 'a Chromium with WebGPU',
    usedBy: 'the browser tests (e2e/), and the GPU tests in Node through its SwiftShader Vulkan driver',
    elsewhere: 'install Chromium, or set CHROMIUM_PATH to a Chromium/Chrome binary',
  },
  {
    id: 'vulkan',
    packages: ['libvulkan1'],
    what: 'the Vulkan loader libvulkan.so.1',
    usedBy: 'the GPU tests in Node (Dawn opens it)',
    elsewhere: "install your distribution's Vulkan loader (vulkan-loader)",
  },
  {
    id: 'onnx',
    packages: ['libonnx-testdata'],
    what: `the ONNX operator test data in ${ONNX_NODE_DIR}`,
    usedBy: 'the ONNX operator tests (tests/onnx/)',
    elsewhere: `copy the onnx repository's onnx/backend/test/data/node to ${ONNX_NODE_DIR}`,
  },
  {
    id: 'torch',
    packages: ['python3-torch', 'libopenblas0-pthread'],
    what: `PyTorch for ${PYTHON}`,
    usedBy: 'the PyTorch check of exported adapters (tests/peft/pytorch-check.test.ts)',
    elsewhere: `install PyTorch for ${PYTHON} (pip install torch)`,
  },
  {
    id: 'pythonOnnx',
    packages: ['python3-onnx'],
    what: `the ONNX checker (the onnx module) for ${PYTHON}`,
    usedBy: 'the check of exported ONNX models (tests/export/onnx.test.ts)',
    elsewhere: `install onnx for ${PYTHON} (pip install onnx)`,
  },
  {
    id: 'lavapipe',
    packages: [],
    fetch: 'scripts/fetch-lavapipe.mjs',
    what: "Mesa's lavapipe >= 24 (a CPU Vulkan driver with shader-f16)",
    usedBy: 'the f16-arithmetic kernel tests (tests/gpu/shaderF16.test.ts)',
    elsewhere:
      'install a Mesa >= 24 mesa-vulkan-drivers and set DYNRANK_LAVAPIPE_ICD to its lvp_icd JSON ' +
      '(e.g. /usr/share/vulkan/icd.d/lvp_icd.x86_64.json)',
  },
]);

/** Every Debian package the tests need, in install order. */
export const PACKAGES = Object.freeze(NEEDS.flatMap((n) => n.packages));

/**
 * @typedef {object} Machine
 * @property {boolean} root the process runs as root
 * @property {boolean} apt apt-get is there
 * @property {boolean} [bookworm] the system is Debian 12, where the fetch scripts work
 * @property {Readonly<Record<string, boolean>>} present per need id: whether the probe found it
 * @property {boolean} [installAttempted] apt-get already ran in this process (what is missing now, it did not provide)
 */

/**
 * @typedef {object} Plan
 * @property {Need[]} missing
 * @property {{ cmd: string, args: string[], env: Record<string, string> }[]} commands to run, in order
 * @property {string[]} advice one line per missing need, when nothing will be installed
 */

/**
 * What to do on this machine: nothing when every need is present; apt-get as root on an apt-based system; otherwise
 * (or after apt-get failed to provide something) one line of advice per missing need.
 * @param {Machine} machine
 * @returns {Plan}
 */
export function provisionPlan(machine) {
  for (const n of NEEDS) {
    if (typeof machine.present[n.id] !== 'boolean') {
      throw new TypeError(`provisionPlan: machine.present.${n.id} is not probed`);
    }
  }
  const missing = NEEDS.filter((n) => !machine.present[n.id]);
  if (missing.length === 0) return { missing, commands: [], advice: [] };
  if (machine.installAttempted) return { missing, commands: [], advice: missing.map((n) => adviceLine(n, machine)) };
  const env = { DEBIAN_FRONTEND: 'noninteractive' };
  /** @type {Plan['commands']} */
  const commands = [];
  const advice = [];
  const packages = missing.flatMap((n) => n.packages);
  if (packages.length && machine.root && machine.apt) {
    commands.push(
      { cmd: 'apt-get', args: ['update'], env },
      { cmd: 'apt-get', args: ['install', '-y', '--no-install-recommends', ...packages], env },
    );
  }
  for (const n of missing) {
    if (n.fetch && machine.apt && machine.bookworm) commands.push({ cmd: 'node', args: [n.fetch], env });
    else if (!(n.packages.length && machine.root && machine.apt)) advice.push(adviceLine(n, machine));
  }
  return { missing, commands, advice };
}

/** @param {Need} n @param {Machine} m */
function adviceLine(n, m) {
  if (n.fetch) {
    const how = m.bookworm ? `run \`node ${n.fetch}\` and read its errors` : n.elsewhere;
    return `[test] missing ${n.what}, needed by ${n.usedBy}: ${how}`;
  }
  const apt = `apt-get install -y --no-install-recommends ${n.packages.join(' ')}`;
  const what = `[test] missing ${n.what}, needed by ${n.usedBy}: `;
  if (m.installAttempted) return `${what}apt-get did not install it; run \`${apt}\` and read its errors`;
  if (m.apt) return `${what}run \`sudo ${apt}\` (or run npm test as root, which installs it)`;
  return `${what}${n.elsewhere} (on Debian/Ubuntu: ${n.packages.join(' ')})`;
}
