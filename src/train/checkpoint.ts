// Checkpoints that let a run continue exactly where it stopped: trained parameters, AdamW moments, the step (which
// also fixes the learning rate, the schedule position and every dropout seed), the allocator's scores, EMA and mask,
// the compacted live lists, the data stream's order and position, the learning-rate scale left by non-finite steps,
// and the sha256 of the base weights and the data. One safetensors file; the non-tensor state is JSON in its
// metadata, so the same bytes go to a folder (Node) or IndexedDB (page).

import { ModelFormatError } from '../models/errors';
import { toFloat32 } from '../models/safetensorsDecode';
import { parseSafetensors } from '../models/safetensorsRead';
import { writeSafetensors } from '../models/safetensorsWrite';
import type { ModelSource } from '../models/sources';
import { recomputeMode } from '../nn/recompute';
import type { BatchStreamState } from './data/batches';
import { DEFAULT_RUN, type RunConfig } from './run';
import type { Trainer } from './trainer';

class CheckpointError extends ModelFormatError {}

/** A file a run was trained from, identified by its contents. */
export interface InputHash {
  file: string;
  sha256: string;
}

/** The base model's weights and the training data of a run, so a resume can refuse other ones. */
export interface RunInputs {
  weights: InputHash;
  data: InputHash;
}

/** A resume found other base weights or other data than the checkpoint was trained on. */
export class InputMismatchError extends Error {
  override name = 'InputMismatchError';
  readonly input: 'model weights' | 'data';
  readonly saved: InputHash;
  readonly current: InputHash;
  constructor(o: { input: 'model weights' | 'data'; saved: InputHash; current: InputHash }) {
    const short = (h: InputHash) => `${h.file} (sha256 ${h.sha256.slice(0, 12)}…)`;
    const what = o.input === 'data' ? 'data file' : 'model';
    super(
      `the ${o.input} differ from the ones this run was trained on: the checkpoint was made with ` +
        `${short(o.saved)}, this resume has ${short(o.current)}. Resume with the original ${what}, or start a new run ` +
        'on the changed one.',
    );
    this.input = o.input;
    this.saved = o.saved;
    this.current = o.current;
  }
}

/** Refuses a resume on other weights or data than the checkpoint's (checkpoints without hashes are not checked). */
export function checkInputs(saved: RunInputs | null | undefined, current: RunInputs): void {
  if (!saved) return;
  if (saved.weights.sha256 !== current.weights.sha256) {
    throw new InputMismatchError({ input: 'model weights', saved: saved.weights, current: current.weights });
  }
  if (saved.data.sha256 !== current.data.sha256) {
    throw new InputMismatchError({ input: 'data', saved: saved.data, current: current.data });
  }
}

/** Hex sha256 with Web Crypto (the page's worker; Node has it too). */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

const WEIGHTS = 'model.safetensors';

/** Wraps a model source so the weights' sha256 is taken as the loader reads them (no second read). */
export function hashingSource(src: ModelSource, hash: (bytes: Uint8Array) => string | Promise<string> = sha256Hex) {
  let digest: string | null = null;
  const source: ModelSource = {
    name: src.name,
    get: async (file, optional) => {
      const bytes = await src.get(file, optional);
      if (bytes && file === WEIGHTS) digest = await hash(bytes);
      return bytes;
    },
  };
  const weights = (): InputHash => {
    if (digest === null) throw new Error(`${WEIGHTS} of ${src.name} has not been read yet`);
    return { file: `${src.name}/${WEIGHTS}`, sha256: digest };
  };
  return { source, weights };
}

export interface CheckpointMeta {
  version: 1;
  step: number;
  totalSteps: number;
  config: RunConfig;
  stream: BatchStreamState;
  finalReached: boolean;
  liveCounts: number[] | null;
  compacted: boolean;
  /** Free-form: model name, data file name, labels, so a resume can check it continues the same run. */
  run: Record<string, unknown>;
  /** The trainer's learning-rate scale and non-finite step counts (absent in older checkpoints: 1, 0, 0, 0). */
  lrScale?: number;
  lrHalvingsPending?: number;
  skippedSteps?: number;
  consecutiveSkips?: number;
  /** sha256 of the base weights and the data (absent in older checkpoints: a resume does not check them). */
  inputs?: RunInputs | null;
}

const FILE = 'checkpoint.safetensors';

/** Reads the trainer's state (a handful of readbacks, between steps) into checkpoint bytes. */
export async function saveCheckpoint(
  trainer: Trainer,
  stream: BatchStreamState,
  config: RunConfig,
  run: Record<string, unknown>,
  inputs: RunInputs | null = null,
): Promise<Uint8Array> {
  const be = trainer.be,
    tensors: { name: string; dtype: 'F32' | 'I32'; shape: number[]; data: Float32Array | Int32Array }[] = [];
  const add = async (name: string, t: { shape: readonly number[] }) => {
    const data = await be.read(t as never);
    tensors.push({ name, dtype: data instanceof Int32Array ? 'I32' : 'F32', shape: [...t.shape], data });
  };
  for (const g of trainer.groups) {
    await add(`param/${g.name}`, g.param);
    await add(`adam_m/${g.name}`, g.m);
    await add(`adam_v/${g.name}`, g.v);
  }
  const alloc = trainer.allocator;
  if (alloc) {
    await add('allocator/scores', alloc.scores);
    await add('allocator/ema', alloc.ema);
    await add('allocator/mask', alloc.mask);
  }
  if (trainer.adapters) await add('adapters/live', trainer.adapters.live);
  const meta: CheckpointMeta = {
    version: 1,
    step: trainer.step,
    totalSteps: trainer.optim.totalSteps,
    config,
    stream,
    finalReached: alloc?.finalReached ?? false,
    liveCounts: trainer.adapters ? trainer.adapters.modules.map((m) => m.liveCount) : null,
    compacted: trainer.adapters?.compacted ?? false,
    run,
    lrScale: trainer.lrScale,
    lrHalvingsPending: trainer.lrHalvingsPending,
    skippedSteps: trainer.skippedSteps,
    consecutiveSkips: trainer.consecutiveSkips,
    inputs,
  };
  return writeSafetensors(tensors, { format: 'pt', dynrank: JSON.stringify(meta) });
}

/** The checkpoint's JSON state, without touching a trainer (to list checkpoints or rebuild the run's config). */
export function readCheckpointMeta(bytes: Uint8Array): CheckpointMeta {
  const st = parseSafetensors(bytes, FILE);
  const raw = st.metadata.dynrank;
  if (!raw)
    throw new CheckpointError(
      FILE,
      '__metadata__.dynrank',
      `${FILE}: not a dynrank checkpoint (no run state in its metadata).`,
    );
  const meta = JSON.parse(raw) as CheckpointMeta;
  if (meta.version !== 1)
    throw new CheckpointError(
      FILE,
      'version',
      `${FILE}: checkpoint version ${meta.version} is not supported by this dynrank.`,
    );
  // Settings added since the checkpoint was written take their defaults.
  meta.config = { ...DEFAULT_RUN, ...meta.config, recompute: recomputeMode(meta.config.recompute) };
  return meta;
}

/** Loads the state into a trainer built with the same model, method and data (checked by shapes and names). */
export function restoreCheckpoint(trainer: Trainer, bytes: Uint8Array): CheckpointMeta {
  const meta = readCheckpointMeta(bytes),
    st = parseSafetensors(bytes, FILE),
    be = trainer.be;
  const put = (name: string, t: { shape: readonly number[]; size: number }) => {
    const e = st.tensors.get(name);
    if (!e)
      throw new CheckpointError(
        FILE,
        name,
        `${FILE}: tensor ${name} is missing; the checkpoint belongs to another run configuration.`,
      );
    const n = e.shape.reduce((a, b) => a * b, 1);
    if (n !== t.size)
      throw new CheckpointError(
        FILE,
        name,
        `${FILE}: tensor ${name} has ${n} values, this run needs ${t.size}; the checkpoint belongs to another model or method.`,
      );
    be.write(t as never, e.dtype === 'I32' ? new Int32Array(e.data.slice().buffer) : toFloat32(e, FILE).slice());
  };
  for (const g of trainer.groups) {
    put(`param/${g.name}`, g.param);
    put(`adam_m/${g.name}`, g.m);
    put(`adam_v/${g.name}`, g.v);
  }
  const alloc = trainer.allocator;
  if (alloc) {
    put('allocator/scores', alloc.scores);
    put('allocator/ema', alloc.ema);
    put('allocator/mask', alloc.mask);
    alloc.finalReached = meta.finalReached;
  }
  if (trainer.adapters) {
    put('adapters/live', trainer.adapters.live);
    if (meta.liveCounts)
      trainer.adapters.modules.forEach((m, i) => {
        m.liveCount = meta.liveCounts![i];
      });
    trainer.adapters.compacted = meta.compacted;
  }
  trainer.step = meta.step;
  trainer.lrScale = meta.lrScale ?? 1;
  trainer.lrHalvingsPending = meta.lrHalvingsPending ?? 0;
  trainer.skippedSteps = meta.skippedSteps ?? 0;
  trainer.consecutiveSkips = meta.consecutiveSkips ?? 0;
  return meta;
}
