// scripts/provision.mjs: the system packages `npm test` provisions, and what it does on root/non-root, apt/non-apt
// machines.

import { describe, expect, it } from 'vitest';
import { type Machine, NEEDS, ONNX_NODE_DIR, PACKAGES, provisionPlan } from '../../scripts/provision.mjs';
import { ONNX_NODE_DIR as ONNX_TESTS_DIR } from '../onnx/onnxData';

const all = (present: boolean): Record<string, boolean> => Object.fromEntries(NEEDS.map((n) => [n.id, present]));
const machine = (o: Partial<Machine>): Machine => ({ root: false, apt: true, present: all(true), ...o });

describe('provisioning the test machine', () => {
  it('needs exactly the packages the CI recipe installed', () => {
    expect([...PACKAGES].sort()).toEqual([
      'chromium',
      'libonnx-testdata',
      'libopenblas0-pthread',
      'libvulkan1',
      'python3-onnx',
      'python3-torch',
    ]);
    expect(ONNX_NODE_DIR).toBe(ONNX_TESTS_DIR);
  });

  it('does nothing where everything is present, root or not', () => {
    for (const root of [true, false]) {
      for (const apt of [true, false]) {
        expect(provisionPlan(machine({ root, apt }))).toEqual({ missing: [], commands: [], advice: [] });
      }
    }
  });

  it('as root with apt: one update, then one install of only the missing packages', () => {
    const p = provisionPlan(machine({ root: true, present: { ...all(true), onnx: false, torch: false } }));
    expect(p.commands.map((c) => [c.cmd, ...c.args])).toEqual([
      ['apt-get', 'update'],
      [
        'apt-get',
        'install',
        '-y',
        '--no-install-recommends',
        'libonnx-testdata',
        'python3-torch',
        'libopenblas0-pthread',
      ],
    ]);
    expect(p.commands.every((c) => c.env.DEBIAN_FRONTEND === 'noninteractive')).toBe(true);
    expect(p.advice).toEqual([]);
  });

  it('on a fresh root apt machine installs every package', () => {
    const p = provisionPlan(machine({ root: true, present: all(false) }));
    expect(p.commands[1].args.slice(3)).toEqual([...PACKAGES]);
  });

  it('not root: installs nothing and says, per missing thing, which apt-get command provides it', () => {
    const p = provisionPlan(machine({ root: false, present: { ...all(true), chromium: false, torch: false } }));
    expect(p.commands).toEqual([]);
    expect(p.advice).toHaveLength(2);
    expect(p.advice[0]).toMatch(
      /^\[test\] missing a Chromium.*e2e.*`sudo apt-get install -y --no-install-recommends chromium`/,
    );
    expect(p.advice[1]).toMatch(/PyTorch for \/usr\/bin\/python3.*pytorch-check.*python3-torch libopenblas0-pthread/);
  });

  it('without apt, even as root: installs nothing and says what to install on any system', () => {
    const p = provisionPlan(machine({ root: true, apt: false, present: { ...all(true), onnx: false, vulkan: false } }));
    expect(p.commands).toEqual([]);
    expect(p.advice).toHaveLength(2);
    expect(p.advice[0]).toMatch(/Vulkan loader.*vulkan-loader.*on Debian\/Ubuntu: libvulkan1/);
    expect(p.advice[1]).toContain(`onnx/backend/test/data/node to ${ONNX_NODE_DIR}`);
    expect(p.advice.join('\n')).not.toContain('sudo');
  });

  it('the ONNX checker: python3-onnx, installed as root, advised otherwise', () => {
    const root = provisionPlan(machine({ root: true, present: { ...all(true), pythonOnnx: false } }));
    expect(root.commands[1].args).toEqual(['install', '-y', '--no-install-recommends', 'python3-onnx']);
    const user = provisionPlan(machine({ root: false, present: { ...all(true), pythonOnnx: false } }));
    expect(user.advice).toEqual([
      expect.stringMatching(
        /ONNX checker.*\/usr\/bin\/python3.*tests\/export.*sudo apt-get install -y --no-install-recommends python3-onnx/,
      ),
    ]);
  });

  it('after apt-get ran, what is still missing is reported, not installed again', () => {
    const p = provisionPlan(machine({ root: true, installAttempted: true, present: { ...all(true), onnx: false } }));
    expect(p.commands).toEqual([]);
    expect(p.advice).toEqual([expect.stringMatching(/ONNX operator test data.*apt-get did not install it/)]);
  });

  it("Mesa's lavapipe: fetched by its script on Debian 12, root or not, after any apt-get install", () => {
    const need = NEEDS.find((n) => n.id === 'lavapipe')!;
    expect(need.packages).toEqual([]);
    for (const root of [true, false]) {
      const p = provisionPlan(machine({ root, bookworm: true, present: { ...all(true), lavapipe: false } }));
      expect(p.commands.map((c) => [c.cmd, ...c.args])).toEqual([['node', 'scripts/fetch-lavapipe.mjs']]);
      expect(p.advice).toEqual([]);
    }
    const both = provisionPlan(machine({ root: true, bookworm: true, present: { ...all(false) } }));
    expect(both.commands.map((c) => c.cmd)).toEqual(['apt-get', 'apt-get', 'node']);
    expect(both.commands[1].args).not.toContain('scripts/fetch-lavapipe.mjs');
  });

  it('lavapipe elsewhere: says which Mesa to install and which variable names it', () => {
    const p = provisionPlan(machine({ root: true, bookworm: false, present: { ...all(true), lavapipe: false } }));
    expect(p.commands).toEqual([]);
    expect(p.advice).toEqual([
      expect.stringMatching(/lavapipe >= 24.*shaderF16\.test\.ts.*Mesa >= 24.*DYNRANK_LAVAPIPE_ICD/),
    ]);
    const failed = provisionPlan(
      machine({ root: true, bookworm: true, installAttempted: true, present: { ...all(true), lavapipe: false } }),
    );
    expect(failed.advice).toEqual([
      expect.stringMatching(/run `node scripts\/fetch-lavapipe\.mjs` and read its errors/),
    ]);
  });

  it('refuses a machine whose needs were not all probed', () => {
    const partly = { root: true, apt: true, present: { chromium: true } };
    expect(() => provisionPlan(partly)).toThrow(/machine\.present\.vulkan/);
  });
});
