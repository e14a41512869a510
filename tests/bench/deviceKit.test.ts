// scripts/device-kit.mjs: the kit a bare GPU machine runs bench:gpu from. Built here without Node (the tests use the
// `node` on PATH), then run.sh runs the bundled benchmark's smoke mode from outside the repository on lavapipe, so the
// bundle needs nothing but the kit (shaders inlined, `webgpu` beside it) and exercises the shader-f16 sections.

import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { GpuBenchReport } from '../../src/bench/gpuBenchCommon';
import { lavapipeProcessEnv } from '../helpers/gpu';

const dir = mkdtempSync(join(tmpdir(), 'dynrank-devkit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the device kit', () => {
  it('builds a self-contained bench:gpu that runs from outside the repository', () => {
    const kit = join(dir, 'kit'),
      out = join(dir, 'out');
    const b = spawnSync(process.execPath, ['scripts/device-kit.mjs', '--out', kit, '--no-node'], {
      encoding: 'utf8',
      timeout: 180_000,
    });
    expect(b.status, b.stderr).toBe(0);
    expect(b.stdout).toMatch(/\[device-kit\] .*MiB.*bash \.devkit\/run\.sh/);
    expect(existsSync(join(kit, 'run.sh'))).toBe(true);
    expect(existsSync(join(kit, 'node_modules/webgpu/dist/linux-x64/dawn.node.xz'))).toBe(true);
    expect(existsSync(join(kit, 'lib/libvulkan.so.1'))).toBe(true);
    // glvnd's libGLdispatch (NVIDIA's Vulkan driver needs it), carried whenever the building machine has it.
    const ldconfig = spawnSync('ldconfig', ['-p'], { encoding: 'utf8' }).stdout ?? '';
    expect(existsSync(join(kit, 'lib-gl/libGLdispatch.so.0'))).toBe(ldconfig.includes('libGLdispatch.so.0'));
    // Small enough to travel beside the ~30 MB working tree within the 64 MiB a device call carries (Node adds ~24 MB).
    expect(statSync(join(kit, 'bench.mjs')).size).toBeLessThan(2 << 20);

    // As on a machine without a Vulkan loader: an ldconfig that lists nothing makes run.sh use the kit's copy.
    const stub = join(dir, 'bin');
    mkdirSync(stub);
    writeFileSync(join(stub, 'ldconfig'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
    const r = spawnSync('sh', [join(kit, 'run.sh'), out, '--smoke'], {
      cwd: dir,
      encoding: 'utf8',
      timeout: 240_000,
      env: {
        ...process.env,
        PATH: `${stub}:${process.env.PATH}`,
        ...lavapipeProcessEnv(),
        BENCH_DEVICE_NAME: 'kit',
        BENCH_PEAK_TFLOPS: '0.05',
        BENCH_LARGE_TILE: '',
      },
    });
    expect(r.status, r.stderr).toBe(0);
    const json = readdirSync(out).find((f) => f.endsWith('-kit-issue14-smoke.json'));
    expect(json).toBeDefined();
    const report = JSON.parse(readFileSync(join(out, json!), 'utf8')) as GpuBenchReport;
    expect(report.shaderF16).toBe(true);
    expect(report.problems).toEqual([]);
    expect(report.steps.length).toBeGreaterThan(0);
    // run.sh turns Dawn's timestamp quantization off (beside the adapter flag given): the profile's kernel times are
    // not all multiples of the 65.536 us quantum.
    expect(report.timestampsExact).toBe(true);
    if (report.timestampQuery) {
      const times = report.steps.flatMap((s) => (s.profile ?? []).map((k) => k.ms));
      expect(times.length).toBeGreaterThan(0);
      expect(times.some((ms) => Math.abs(ms / 0.065536 - Math.round(ms / 0.065536)) > 1e-6)).toBe(true);
    }
    // The tuned rows run from the kit too: each LoRA model's, with its tuning table in the markdown.
    const tuned = report.steps.filter((s) => s.tuning);
    expect(tuned.map((s) => s.model)).toEqual(['GPT-2 small', 'SmolLM2-135M']);
    for (const s of tuned) expect(s.tuning!.kernels.length).toBeGreaterThan(0);
    const md = readFileSync(join(out, json!.replace(/\.json$/, '.md')), 'utf8');
    expect(md).toContain(`${tuned[0].tuning!.summary}.`);
    expect(md).toContain('| shape (batch×M×K×N, flags, b) | GFLOP | calls/step | rule | chosen |');
  });
});
