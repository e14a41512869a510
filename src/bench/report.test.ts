// The bench report's targets and tables (src/bench/report*.ts), on a fabricated run: no GPU, no timing.

import { describe, expect, it } from 'vitest';
import type { StepResult } from './engine';
import type { LlamaStepResult } from './llama';
import type { PairedStepResult } from './pairedStep';
import { overloaded, renderReport, responsiveSection } from './report';
import { matmulTarget } from './reportMatmul';
import { adapterSlug, type BenchRun } from './reportRun';
import { countersVerdict, flopsVerdict, pairedStepTargets, stepTargets } from './reportSteps';

const step = (variant: string, ms: number, extra: Partial<StepResult> = {}): StepResult => ({
  variant,
  msPerStep: ms,
  tokensPerSecond: 512 / (ms / 1000),
  trainable: 4096,
  adapterFlops: null,
  bytesLive: 2 ** 20,
  estimateBytes: 2 ** 21,
  perStep: {
    submissions: 1,
    dispatches: 68,
    bufferCreations: 0,
    readbacks: 0,
    pipelineCreations: 0,
    bytesAllocated: 0,
  },
  liveFraction: 1,
  ...extra,
});

function fakeRun(): BenchRun {
  return {
    date: '2026-11-28T16:00:00.000Z',
    wallS: 700,
    browser: '156.0',
    host: { cores: 2, loadStart: '1.0 1.0 1.0', loadEnd: '2.0 2.0 2.0' },
    adapters: { page: { vendor: 'google', architecture: 'swiftshader', description: 'SwiftShader Device' } },
    engine: {
      matmul: [
        { shape: '512x64x192', ms: 4, gflops: 3.15, maxAbsErr: 1e-6 },
        { shape: '512x64x256', ms: 50, gflops: 0.34 },
      ],
      steps: [
        step('full', 400),
        step('lora r=8 (c_attn)', 500),
        step('dynamic rank b=8 (c_attn)', 600, { adapterFlops: 12e6 }),
        step('dynamic rank b=8 (c_attn), 50% live', 590, { adapterFlops: 6e6, liveFraction: 0.5 }),
      ],
    },
    peers: {
      mm: {
        'jax-webgpu': {
          results: [
            { shape: '512x64x192', ms: 5.6, gflops: 2.25, err: { maxAbs: 3e-5 } },
            { shape: '512x64x256', ms: 7.4, gflops: 2.27 },
          ],
        },
        'tfjs-webgl': { results: [{ shape: '512x64x192', ms: 3.6, gflops: 3.52 }] },
      },
      gpt: {
        'jax-webgpu': {
          full: { stepMs: { median: 452, min: 440, max: 500, n: 10 }, losses: [6.94785, 5.8361] },
          lora: { stepMs: { median: 809, min: 790, max: 870, n: 10 } },
        },
      },
    },
    node: null,
    log: [{ name: 'engine-mm', wallS: 30, load: '1.0 1.0 1.0' }],
  };
}

describe('bench targets', () => {
  it('compares our matmul with the fastest WebGPU peer only', () => {
    expect(matmulTarget(3.0, { 'jax-webgpu': 2.25, 'tfjs-webgpu': 0.44, 'tfjs-webgl': 3.5 })).toEqual({
      best: 'jax-webgpu',
      bestGflops: 2.25,
      verdict: 'met',
    });
    expect(matmulTarget(2.0, { 'jax-webgpu': 2.25, 'tfjs-webgpu': 0.44 }).verdict).toBe('missed');
    expect(matmulTarget(2.25, { 'jax-webgpu': 2.25 }).verdict).toBe('met');
    expect(matmulTarget(2.0, { 'jax-wasm': 30 }).verdict).toBe('n/a');
    expect(matmulTarget(undefined, { 'jax-webgpu': 2.25 }).verdict).toBe('n/a');
  });

  it('holds full steps under jax-js full and LoRA steps to half of jax-js LoRA', () => {
    expect(stepTargets({ full: 451, lora: 404.5 }, { full: 452, lora: 809 })).toEqual({ full: 'met', lora: 'met' });
    expect(stepTargets({ full: 452, lora: 405 }, { full: 452, lora: 809 })).toEqual({ full: 'missed', lora: 'missed' });
    expect(stepTargets({ full: 100 }, { lora: 809 })).toEqual({ full: 'n/a', lora: 'n/a' });
  });

  it('wants jax-js / ours above 1 for full steps and at least 2 for LoRA, on the median of the rounds', () => {
    expect(pairedStepTargets(1.01, 2)).toEqual({ full: 'met', lora: 'met' });
    expect(pairedStepTargets(1, 1.99)).toEqual({ full: 'missed', lora: 'missed' });
    expect(pairedStepTargets(null, undefined)).toEqual({ full: 'n/a', lora: 'n/a' });
  });

  it('wants one submission, no buffer creation and no readback per step', () => {
    const p = step('x', 1).perStep;
    expect(countersVerdict(p)).toBe('met');
    expect(countersVerdict({ ...p, submissions: 2 })).toBe('missed');
    expect(countersVerdict({ ...p, bufferCreations: 1 })).toBe('missed');
    expect(countersVerdict({ ...p, readbacks: 1 })).toBe('missed');
  });

  it('checks adapter FLOPs are proportional to the live fraction', () => {
    expect(flopsVerdict(6e6, 12e6, 0.5)).toBe('met');
    expect(flopsVerdict(3e6, 12e6, 0.25)).toBe('met');
    expect(flopsVerdict(12e6, 12e6, 0.5)).toBe('missed');
    expect(flopsVerdict(null, 12e6, 0.5)).toBe('n/a');
  });

  it('flags a run whose load average went above the core count', () => {
    const run = fakeRun();
    expect(overloaded(run)).toBe(false);
    run.log.push({ name: 'mm-tfjs-webgpu', wallS: 60, load: '2.63 2.28 2.98' });
    expect(overloaded(run)).toBe(false); // the bench's own processes on 2 cores
    run.log.push({ name: 'mm-tfjs-webgpu', wallS: 60, load: '7.52 7.31 6.96' });
    expect(overloaded(run)).toBe(true);
    expect(renderReport(run)).toContain('inflated and noisy');
  });

  it('names result files after the adapter', () => {
    expect(adapterSlug({ vendor: 'google', architecture: 'swiftshader' })).toBe('google-swiftshader');
    expect(adapterSlug({ vendor: 'NVIDIA Corp', architecture: '' })).toBe('NVIDIA_Corp-unknown');
    expect(adapterSlug(null)).toBe('no-adapter');
  });
});

describe('bench report', () => {
  const md = renderReport(fakeRun());
  const line = (start: string) => md.split('\n').find((l) => l.startsWith(start)) ?? '';

  it('puts ours, each peer and the verdict on one row per shape', () => {
    expect(line('| M×K×N')).toBe(
      '| M×K×N | ours (page) | jax-js webgpu | tfjs webgl (context) | target: ours ≥ fastest WebGPU peer |',
    );
    expect(line('| 512x64x192')).toBe(
      '| 512x64x192 | **3.15** (4.0 ms) | **2.25** (5.6 ms) | **3.52** (3.6 ms) | met (jax-js webgpu 2.25) |',
    );
    expect(line('| 512x64x256')).toContain('missed (jax-js webgpu 2.27)');
    expect(md).not.toContain('| 512x768x768');
  });

  it('labels jax-js timed in turns with ours and lists the ratio of every round', () => {
    const run = fakeRun();
    run.engine.matmul = [{ shape: '512x64x192', ms: 4, gflops: 2.2, rounds: [2.0, 2.2, 2.4] }];
    run.peers.mm['jax-webgpu'] = {
      paired: true,
      results: [{ shape: '512x64x192', ms: 5, gflops: 2.1, rounds: [2.0, 2.0, 2.0] }],
    };
    const m = renderReport(run);
    expect(m).toContain('| jax-js webgpu (same page, in turns) |');
    expect(m).toContain('take turns, one timing each per round, 3 rounds');
    expect(m).toContain('Ours / jax-js GFLOP/s, round by round: 512x64x192 1.00, 1.10, 1.20 (median 1.10).');
    expect(m.split('\n').find((l) => l.startsWith('| 512x64x192'))).toContain('met (jax-js webgpu 2.10)');
  });

  it('puts jax-js in turns with ours in the Node section, with a verdict per shape', () => {
    const run = fakeRun();
    run.node = {
      adapter: { vendor: 'google', architecture: 'swiftshader' },
      matmul: [
        { shape: '512x64x192', ms: 10, gflops: 1.2, rounds: [1.2, 1.1] },
        { shape: '512x64x256', ms: 20, gflops: 0.9 },
      ],
      jaxMatmul: [
        { shape: '512x64x192', ms: 12, gflops: 1.0, rounds: [1.0, 1.1] },
        { shape: '512x64x256', error: 'jax-js: no WebGPU device\nstack' },
      ],
      steps: [],
    };
    const m = renderReport(run);
    expect(m).toContain(
      '| M×K×N | ours, Node + Dawn | jax-js webgpu, Node (in turns) | target: ours ≥ jax-js | ours, page (above) |',
    );
    expect(m).toContain('| 512x64x192 | **1.20** (10.0 ms) | **1.00** (12.0 ms) | met | **3.15** (4.0 ms) |');
    expect(m).toContain('| 512x64x256 | **0.90** (20.0 ms) | – | n/a (jax-js: no WebGPU device) |');
    expect(m).toContain('Ours / jax-js GFLOP/s, round by round: 512x64x192 1.20, 1.00 (median 1.10).');
  });

  it('reports step ms with tokens/s and both step targets', () => {
    expect(line('| full fine-tuning')).toBe(
      '| full fine-tuning | **400** (1280 tok/s) | **452** (1133 tok/s) | < jax-js webgpu full (452 ms) | met |',
    );
    expect(line('| LoRA r=8 on c_attn')).toMatch(/≤ 0\.5 × jax-js webgpu LoRA \(405 ms\) \| missed \|$/);
  });

  it('takes the step verdict from the median ratio of the rounds in turns, and prints every round', () => {
    const paired = (variant: string, ours: number[], peer: number[]): PairedStepResult => {
      const ratios = ours.map((ms, i) => peer[i] / ms);
      const mid = (xs: number[]) => [...xs].sort((a, b) => a - b)[1];
      return {
        variant,
        rounds: ours.length,
        steps: 5,
        warmup: 3,
        ratios,
        medianRatio: mid(ratios),
        ours: { rounds: ours, msPerStep: [...ours].sort((a, b) => a - b)[1], firstStepMs: 900, losses: [6.94, 6.5] },
        peer: { rounds: peer, msPerStep: [...peer].sort((a, b) => a - b)[1], firstStepMs: 3000, losses: [6.95, 6.6] },
      };
    };
    const run = fakeRun();
    // The verdict reads the median of the per-round ratios (full: 0.84, 1.40, 1.05; LoRA: 2.40, 1.83, 2.08).
    run.engine.pairedSteps = [
      paired('full', [500, 300, 400], [420, 420, 420]),
      paired('lora r=8 (c_attn)', [300, 400, 350], [720, 730, 729]),
    ];
    const m = renderReport(run);
    const row = (start: string) => m.split('\n').find((l) => l.startsWith(start)) ?? '';
    expect(row('| step (tiny GPT-2')).toContain('| jax-js webgpu (jit, same page, in turns) |');
    expect(row('| full fine-tuning')).toBe(
      '| full fine-tuning | **400** (1280 tok/s) | **420** (1219 tok/s) | ' +
        'median over rounds of jax-js / ours > 1 (1.05) | met |',
    );
    expect(row('| LoRA r=8 on c_attn')).toMatch(/\| median over rounds of jax-js \/ ours ≥ 2 \(2\.08\) \| met \|$/);
    expect(m).toContain(
      '- in turns, full (5 steps per timing after 3 warm-up, 3 rounds, ours first in odd rounds): ' +
        'ours 500, 300, 400 ms; ' +
        'jax-js 420, 420, 420 ms; jax-js / ours 0.84, 1.40, 1.05 (median 1.05)',
    );
    expect(m).toContain('take turns');
    const error = 'jax-js: no WebGPU device\nstack';
    run.engine.pairedSteps[1] = { ...run.engine.pairedSteps[1], peer: { error }, ratios: [], medianRatio: null };
    const failed = renderReport(run);
    expect(failed.split('\n').find((l) => l.startsWith('| LoRA r=8 on c_attn'))).toMatch(/\| n\/a \|$/);
    expect(failed).toContain('- in turns, LoRA: ours 300, 400, 350 ms; jax-js error jax-js: no WebGPU device');
  });

  it('has a row per Llama step with its time, GPU work and peak memory', () => {
    const run = fakeRun();
    const s: LlamaStepResult = {
      variant: 'SmolLM2-135M shape, B=1 T=32, LoRA r=8 (7 module types)',
      msPerStep: 12000,
      tokensPerSecond: 32 / 12,
      perStep: {
        submissions: 1,
        dispatches: 2400,
        bufferCreations: 0,
        readbacks: 0,
        pipelineCreations: 0,
        bytesAllocated: 0,
      },
      trainable: 2442240,
      adapterFlops: 1,
      peakBytes: 700 * 2 ** 20,
      estimateBytes: 650 * 2 ** 20,
      setupS: 9,
      parameters: 134515008,
      firstStepMs: 60000,
      losses: [10.9, 10.8],
      plan: { variant: 'lora', layers: 30, B: 1, T: 32, warmup: 1, steps: 2 },
    };
    run.engine.llamaSteps = [s];
    const m = renderReport(run);
    expect(m).toContain('### Llama step, SmolLM2-135M shape, synthetic weights (page)');
    expect(m).toContain(
      '| SmolLM2-135M shape, B=1 T=32, LoRA r=8 (7 module types) | 12000 | 2.7 | 1 | 2400 | 0 | 700 ' +
        '| 650 | 1.077 met | 2442240 | 2 (+1 warm-up; first 60000 ms) |',
    );
    expect(renderReport(fakeRun())).not.toContain('Llama step');
  });

  it('has the counters, live-fraction and memory tables', () => {
    expect(line('| dynamic rank b=8 (c_attn), 50% live | 1 | 68')).toMatch(/\| met \|$/);
    expect(line('| 50% live')).toBe('| 50% live | 590 | 868 | 6.0 | 0.500 | met |');
    expect(line('| lora r=8 (c_attn) | 4096')).toBe('| lora r=8 (c_attn) | 4096 | 1.0 | 2.0 | 0.50 |');
    expect(md).toContain('google swiftshader (SwiftShader Device)');
  });
});

describe('bench report, responsiveness section', () => {
  const task = (cpuMs: number, wallMs: number) => ({
    cpuMs,
    wallMs,
    task: `@1 wall ${wallMs} ms, cpu ${cpuMs} (paint ${cpuMs})`,
  });
  const responsive = {
    cores: 2,
    loadStart: [1.5, 1.25, 1],
    items: [
      {
        what: 'training 20 steps',
        seconds: 14,
        tasks: 568,
        busyCpuMs: 187.4,
        longestCpu: task(9, 20),
        longestWall: task(3, 156),
        longTasks: 1,
        load: [5.88, 3.22, 1.4],
      },
      {
        what: 'a 15.8 MiB CSV upload',
        seconds: 1.2,
        tasks: 87,
        busyCpuMs: 142,
        longestCpu: task(49, 77),
        longestWall: task(49, 77),
        longTasks: 0,
        load: [6, 3, 1.5],
      },
    ],
  };

  it('gives, per scenario, the longest task in CPU and in wall time with the load beside them', () => {
    const md = responsiveSection(responsive);
    expect(md).toContain('2 cores; load average 1.50 1.25 1.00 at the start');
    const row = md.split('\n').find((l) => l.startsWith('| training 20 steps')) ?? '';
    expect(row.split(' | ')).toEqual([
      '| training 20 steps',
      '**9** (@1 wall 20 ms, cpu 9 (paint 9))',
      '**156** (@1 wall 156 ms, cpu 3 (paint 3))',
      '1',
      '187 ms in 14.0 s (568 tasks)',
      '5.88 3.22 1.40 |',
    ]);
    const failed = responsiveSection({ cores: 2, loadStart: [1, 1, 1], items: [], error: 'no WebGPU' });
    expect(failed).toContain('error: no WebGPU');
  });

  it('appears in a run that measured it, without an empty browser section', () => {
    const run: BenchRun = {
      ...fakeRun(),
      engine: { matmul: [], steps: [] },
      peers: { mm: {}, gpt: {} },
      responsive,
      log: [{ name: 'responsive', wallS: 25, load: '5.88 3.22 1.40' }],
    };
    const md = renderReport(run);
    expect(md).toContain('## Responsiveness of the page (production build)');
    expect(md).not.toContain('## Browser');
    expect(renderReport(fakeRun())).not.toContain('Responsiveness');
  });
});
