// Checkpoints that let a run continue exactly where it stopped: trained parameters, AdamW moments, the step (which
// also fixes the learning rate, the schedule position and every dropout seed), the allocator's scores, EMA and mask,
// the compacted live lists, and the data stream's order and position. One safetensors file; the non-tensor state is
// JSON in its metadata, so the same bytes go to a folder (Node) or IndexedDB (page).

import { parseSafetensors, toFloat32, writeSafetensors } from '../models/safetensors';
import { ModelFormatError } from '../models/errors';
import type { BatchStreamState } from './data/batches';
import type { RunConfig } from './run';
import type { Trainer } from './trainer';

export class CheckpointError extends ModelFormatError {}

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
}

const FILE = 'checkpoint.safetensors';

/** Reads the trainer's state (a handful of readbacks, between steps) into checkpoint bytes. */
export async function saveCheckpoint(trainer: Trainer, stream: BatchStreamState, config: RunConfig, run: Record<string, unknown>): Promise<Uint8Array> {
  const be = trainer.be, tensors: { name: string; dtype: 'F32' | 'I32'; shape: number[]; data: Float32Array | Int32Array }[] = [];
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
    version: 1, step: trainer.step, totalSteps: trainer.optim.totalSteps, config, stream, finalReached: alloc?.finalReached ?? false,
    liveCounts: trainer.adapters ? trainer.adapters.modules.map((m) => m.liveCount) : null, compacted: trainer.adapters?.compacted ?? false, run,
  };
  return writeSafetensors(tensors, { format: 'pt', dynrank: JSON.stringify(meta) });
}

/** The checkpoint's JSON state, without touching a trainer (to list checkpoints or rebuild the run's config). */
export function readCheckpointMeta(bytes: Uint8Array): CheckpointMeta {
  const st = parseSafetensors(bytes, FILE);
  const raw = st.metadata.dynrank;
  if (!raw) throw new CheckpointError(FILE, '__metadata__.dynrank', `${FILE}: not a dynrank checkpoint (no run state in its metadata).`);
  const meta = JSON.parse(raw) as CheckpointMeta;
  if (meta.version !== 1) throw new CheckpointError(FILE, 'version', `${FILE}: checkpoint version ${meta.version} is not supported by this dynrank.`);
  return meta;
}

/** Loads the state into a trainer built with the same model, method and data (checked by shapes and names). */
export function restoreCheckpoint(trainer: Trainer, bytes: Uint8Array): CheckpointMeta {
  const meta = readCheckpointMeta(bytes), st = parseSafetensors(bytes, FILE), be = trainer.be;
  const put = (name: string, t: { shape: readonly number[]; size: number }) => {
    const e = st.tensors.get(name);
    if (!e) throw new CheckpointError(FILE, name, `${FILE}: tensor ${name} is missing; the checkpoint belongs to another run configuration.`);
    const n = e.shape.reduce((a, b) => a * b, 1);
    if (n !== t.size) throw new CheckpointError(FILE, name, `${FILE}: tensor ${name} has ${n} values, this run needs ${t.size}; the checkpoint belongs to another model or method.`);
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
    if (meta.liveCounts) trainer.adapters.modules.forEach((m, i) => { m.liveCount = meta.liveCounts![i]; });
    trainer.adapters.compacted = meta.compacted;
  }
  trainer.step = meta.step;
  return meta;
}
