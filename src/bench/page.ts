// Bench page entry (bench/engine.html, served by Vite): the engine's WebGPU backend in the page, on the adapter the
// peers' pages get in the same Chromium. scripts/bench.mjs calls window.runEngine(job) once per fresh page, as the
// peers' runner does; the device is acquired as the training worker acquires it (acquireDevice(browserGpu())).

import { GpuBackend } from '../gpu/backend';
import { GpuContext } from '../gpu/context';
import { acquireDevice, browserGpu } from '../gpu/device';
import {
  benchMatmul,
  benchStep,
  engineStepContender,
  type MatmulOptions,
  type MatmulResult,
  type PairedResult,
  pairedMatmul,
  type StepResult,
  type StepVariant,
} from './engine';
import { jaxGptStep, jaxWebGpu } from './jaxPeer';
import { benchLlamaStep, type LlamaStepPlan, type LlamaStepResult } from './llama';
import { type ContenderFactory, engineContender } from './matmul';
import { type PairedStepOptions, type PairedStepResult, pairedSteps, type StepContenderFactory } from './pairedStep';

export type EngineJob =
  | { kind: 'matmul'; shapes: [number, number, number][]; reps?: number; opts?: MatmulOptions }
  /** Ours and jax-js timed alternately in this page (pairedMatmul). */
  | { kind: 'matmulPaired'; shapes: [number, number, number][]; rounds?: number; opts?: MatmulOptions }
  | { kind: 'step'; variant: StepVariant; liveFraction?: number; steps?: number; warmup?: number }
  /** Our tiny GPT-2 step and jax-js's timed in turns in this page (pairedSteps). */
  | ({ kind: 'stepPaired'; variant: 'full' | 'lora' } & PairedStepOptions)
  | ({ kind: 'llamaStep' } & LlamaStepPlan);

export interface EngineReply {
  adapter?: GpuContext['info'];
  crossOriginIsolated: boolean;
  matmul?: MatmulResult[];
  paired?: PairedResult[];
  step?: StepResult;
  pairedStep?: PairedStepResult;
  llamaStep?: LlamaStepResult;
  error?: string;
}

async function runEngine(job: EngineJob): Promise<EngineReply> {
  const reply: EngineReply = { crossOriginIsolated: globalThis.crossOriginIsolated ?? false };
  let ctx: GpuContext | null = null;
  try {
    ctx = new GpuContext(await acquireDevice(browserGpu(), { label: 'dynrank bench' }));
    reply.adapter = ctx.info;
    const be = new GpuBackend(ctx);
    if (job.kind === 'matmul') reply.matmul = await benchMatmul(be, job.shapes, job.reps ?? 3, job.opts ?? {});
    else if (job.kind === 'matmulPaired') {
      // Without jax-js the engine's timings still come back, with the peer's error at every shape.
      const peer = await jaxWebGpu().catch(
        (e: unknown): ContenderFactory =>
          () =>
            Promise.reject(e),
      );
      reply.paired = await pairedMatmul(engineContender(be), peer, job.shapes, job.rounds ?? 5, () => job.opts ?? {});
    } else if (job.kind === 'stepPaired') {
      const variant: StepVariant = job.variant === 'full' ? 'full' : 'lora r=8 (c_attn)';
      const peer = await jaxGptStep(job.variant).catch(
        (e: unknown): StepContenderFactory =>
          () =>
            Promise.reject(e),
      );
      const { rounds, steps, warmup } = job;
      reply.pairedStep = await pairedSteps(variant, engineStepContender(be, variant), peer, { rounds, steps, warmup });
    } else if (job.kind === 'llamaStep') reply.llamaStep = await benchLlamaStep(be, job);
    else
      reply.step = await benchStep(be, job.variant, job.liveFraction ?? 1, job.steps ?? 10, {
        warmup: job.warmup ?? 3,
      });
  } catch (e) {
    reply.error = String((e as Error)?.stack ?? e).slice(0, 1500);
  } finally {
    ctx?.destroy();
  }
  const out = document.getElementById('out');
  if (out) out.textContent = JSON.stringify(reply, null, 1);
  return reply;
}

declare global {
  interface Window {
    runEngine?: (job: EngineJob) => Promise<EngineReply>;
    ready?: boolean;
  }
}

window.runEngine = runEngine;
window.ready = true;
