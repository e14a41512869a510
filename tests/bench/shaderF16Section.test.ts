// The shader-f16 matmul section of bench:gpu on Mesa's lavapipe, which has the feature (SwiftShader does not): its
// check against the f32 path and its timings, with the f16 arithmetic really running (tests/bench/hardwareSmoke.test.ts
// runs the whole script there). A mismatch is rendered loudly in the report.

import { describe, expect, it } from 'vitest';
import type { GpuBenchReport, MatmulShape } from '../../src/bench/gpuBenchCommon';
import { shaderF16Section } from '../../src/bench/gpuBenchMatmul';
import { renderGpuBench } from '../../src/bench/gpuBenchReport';
import { GpuBackend } from '../../src/gpu/backend';
import { f16GpuContext } from '../helpers/gpu';

const shape = (layer: string, M: number, K: number, N: number, transB: boolean): MatmulShape => ({
  model: 'tiny',
  layer,
  M,
  K,
  N,
  transB,
});

describe('bench:gpu shader-f16 matmul section', () => {
  it('on lavapipe (shader-f16): checks each shape against the f32 path, then times f32, f16 weights and f16 arithmetic', async () => {
    const be = new GpuBackend(await f16GpuContext());
    const st = { name: 'shader-f16 matmul', seconds: 0, notes: [] };
    const rows = await shaderF16Section(
      be,
      [shape('conv1d', 32, 48, 40, false), shape('linear', 32, 40, 48, true)],
      { smoke: true, peak: null, shared: be },
      st,
    );
    expect(st.notes).toEqual([]);
    expect(rows.map((r) => [r.layer, r.check])).toEqual([
      ['conv1d', 'ok'],
      ['linear', 'ok'],
    ]);
    for (const r of rows) {
      expect(r.errF32Path).toBeLessThan(1e-4);
      // The f16 arithmetic ran (a CPU adapter takes the tiled kernel here): it rounds, within the section's bound.
      expect(r.errVsF32Path).toBeGreaterThan(1e-5);
      expect(r.errVsF32Path).toBeLessThan(5e-3);
      expect([r.msF32Weights, r.msF16Weights, r.msF16Arithmetic].every((x) => x !== null && x > 0)).toBe(true);
    }
  });

  it('renders a mismatch as MISMATCH with its errors and no times', () => {
    const report: GpuBenchReport = {
      date: '2026-12-03T00:00:00.000Z',
      smoke: false,
      adapter: { description: 'test' },
      deviceName: 'test-gpu',
      shaderF16: true,
      timestampQuery: false,
      timestampsExact: false,
      peak: { tflops: 67, source: 'NVIDIA H200 data sheet' },
      budgetSeconds: 480,
      wallSeconds: 1,
      sections: [{ name: 'shader-f16 matmul', seconds: 1, notes: [] }],
      largeTile: 64,
      matmul: [],
      shaderF16Matmul: [
        {
          model: 'm',
          layer: 'l',
          M: 4,
          K: 4,
          N: 4,
          errF32Path: 0,
          errF16Path: 0.5,
          errVsF32Path: 0.4,
          check: 'MISMATCH',
          msF32Weights: null,
          msF16Weights: null,
          msF16Arithmetic: null,
        },
      ],
      steps: [],
      dynrank: [],
      moreTokens: [],
      problems: ['shader-f16 matmul m l: MISMATCH'],
    };
    const md = renderGpuBench(report);
    expect(md).toContain('| m | l | 4×4×4 | **MISMATCH** (5.0e-1 / 4.0e-1) | – | – | – |');
    expect(md).toContain('**PROBLEMS (1)**: shader-f16 matmul m l: MISMATCH');
    expect(md).toContain('Peak used for % of peak: 67 TFLOP/s float32 (NVIDIA H200 data sheet)');
  });
});
