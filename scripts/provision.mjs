// What the tests need from the system beyond node_modules, and what `npm test` does about what is missing: as root
// on an apt-based system it installs the missing Debian packages (one `apt-get update`, one `apt-get install`);
// otherwise it prints one line per missing thing saying what to install. The tests that need a missing thing then
// fail with their own message; none is skipped. Pure: scripts/test.mjs probes the machine and runs the commands.

/** Where Debian's libonnx-testdata puts the ONNX node tests (tests/onnx/onnxData.ts reads them from there). */
export const ONNX_NODE_DIR = '/usr/share/libonnx-testdata/data/node';
/** The interpreter the PyTorch check and the ONNX checker run (tests/peft/pytorch-check.test.ts, tests/export/). */
export const PYTHON = '/usr/bin/python3';

/**
 * @typedef {object} Need
 * @property {string} id
 * @property {string[]} packages Debian/Ubuntu packages that provide it
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
]);

/** Every Debian package the tests need, in install order. */
export const PACKAGES = Object.freeze(NEEDS.flatMap((n) => n.packages));

/**
 * @typedef {object} Machine
 * @property {boolean} root the process runs as root
 * @property {boolean} apt apt-get is there
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
  if (machine.root && machine.apt && !machine.installAttempted) {
    const env = { DEBIAN_FRONTEND: 'noninteractive' };
    const packages = missing.flatMap((n) => n.packages);
    return {
      missing,
      commands: [
        { cmd: 'apt-get', args: ['update'], env },
        { cmd: 'apt-get', args: ['install', '-y', '--no-install-recommends', ...packages], env },
      ],
      advice: [],
    };
  }
  return { missing, commands: [], advice: missing.map((n) => adviceLine(n, machine)) };
}

/** @param {Need} n @param {Machine} m */
function adviceLine(n, m) {
  const apt = `apt-get install -y --no-install-recommends ${n.packages.join(' ')}`;
  const what = `[test] missing ${n.what}, needed by ${n.usedBy}: `;
  if (m.installAttempted) return `${what}apt-get did not install it; run \`${apt}\` and read its errors`;
  if (m.apt) return `${what}run \`sudo ${apt}\` (or run npm test as root, which installs it)`;
  return `${what}${n.elsewhere} (on Debian/Ubuntu: ${n.packages.join(' ')})`;
}
