// Training that survives losing the GPU: checkpoints are kept in memory (and handed to the caller to persist) every
// N steps; when the device is lost, a new backend is opened, the model reloaded, the last checkpoint restored and
// the run continues. The page's worker and the CLI both use this.

import type { LoadedModel } from '../models/load';
import type { Backend } from '../tensor/backend';
import { type RunInputs, restoreCheckpoint, saveCheckpoint } from './checkpoint';
import { BatchStream } from './data/batches';
import { createTrainer, type PreparedData, type RunConfig, runSteps, type StepHooks, type StepMetrics } from './run';
import type { Trainer } from './trainer';

export interface ResilientHooks {
  /** A fresh backend with the model loaded on it: at the start and after each device loss. */
  open(): Promise<{ be: Backend; model: LoadedModel }>;
  onMetrics(m: StepMetrics): void | Promise<void>;
  /** Called with each checkpoint (persist it to survive a reload). */
  onCheckpoint?(bytes: Uint8Array, step: number): void | Promise<void>;
  onRecovered?(info: { step: number; reason: string }): void;
  /** A step's loss or gradient norm was not finite (its update skipped, the learning rate halved). */
  onSkipped?: StepHooks['onSkipped'];
  /** The kernels were tuned on the device (after the first step on each new device). */
  onTuned?: StepHooks['onTuned'];
  shouldStop?(): boolean;
  /** Fault injection for tests: called with each new trainer. */
  onTrainer?(trainer: Trainer): void;
}

export interface ResilientOptions {
  /** Steps between checkpoints, counted on their own (not tied to the config's logEvery); 0: none. */
  checkpointEvery: number;
  maxRecoveries: number;
  /** Resume from these checkpoint bytes (a reload of the page, a restart of the CLI). */
  resumeFrom?: Uint8Array | null;
  run?: Record<string, unknown>;
  /** The base weights' and the data's hashes, recorded in every checkpoint. */
  inputs?: RunInputs | null;
}

const isDeviceLoss = (e: unknown) => e instanceof Error && e.name === 'DeviceLostError';

export async function trainResilient(
  data: PreparedData,
  cfg: RunConfig,
  hooks: ResilientHooks,
  opts: ResilientOptions,
): Promise<{ trainer: Trainer; model: LoadedModel; stream: BatchStream }> {
  let last = opts.resumeFrom ?? null,
    recoveries = 0;
  for (;;) {
    const { be, model } = await hooks.open();
    const { trainer, steps } = createTrainer(be, model, data, cfg);
    let stream = new BatchStream(data.train, cfg.batch, cfg.seed);
    if (last) stream = BatchStream.restore(data.train, restoreCheckpoint(trainer, last).stream);
    hooks.onTrainer?.(trainer);
    try {
      await runSteps(
        trainer,
        stream,
        steps,
        cfg,
        (m) => hooks.onMetrics(m),
        () => hooks.shouldStop?.() ?? false,
        {
          onSkipped: hooks.onSkipped,
          onTuned: hooks.onTuned,
          checkpointEvery: opts.checkpointEvery,
          onCheckpoint: async (step) => {
            last = await saveCheckpoint(trainer, stream.state(), cfg, opts.run ?? {}, opts.inputs ?? null);
            await hooks.onCheckpoint?.(last, step);
          },
        },
      );
      return { trainer, model, stream };
    } catch (e) {
      if (!isDeviceLoss(e) || recoveries >= opts.maxRecoveries) throw e;
      recoveries++;
      hooks.onRecovered?.({ step: trainer.step, reason: (e as Error).message });
    }
  }
}
