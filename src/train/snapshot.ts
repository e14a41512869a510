// Reads a trainer's adapter state back to the host (a few small readbacks, outside the training step) and turns it
// into the PEFT export input: per-module A, B, c and live flags, plus the trained classification head.

import type { LoadedModel } from '../models/load';
import type { HostTensor } from '../models/weights';
import { moduleType } from '../peft/adapters';
import type { AdapterExportInput, AdapterModuleState } from '../peft/export';
import type { Trainer } from './trainer';

/**
 * Per-module A, B, c and live flags as the model computes now. Dynamic rank: before the final pruning event a
 * component is live when its c != 0 (read from the current parameters: components pruned at the last event regrow
 * until the next one); once the final event has passed, the frozen allocation (the final mask), on which c is held
 * at 0. LoRA: every component.
 */
export async function adapterModules(trainer: Trainer): Promise<AdapterModuleState[]> {
  const a = trainer.adapters;
  if (!a) throw new Error('full fine-tuning has no adapter to export; export the merged model instead');
  const theta = (await trainer.be.read(a.theta)) as Float32Array;
  const al = trainer.allocator;
  const final = al?.finalReached ? ((await trainer.be.read(al.mask)) as Float32Array) : null;
  const R0 = a.opts.R0;
  return a.modules.map((m) => {
    const { inF, outF, offA, offB, offC } = m.slot;
    const c = offC >= 0 ? theta.slice(offC, offC + R0) : null;
    return {
      name: m.linear.name,
      inF,
      outF,
      R0,
      A: theta.slice(offA, offA + R0 * inF),
      B: theta.slice(offB, offB + outF * R0),
      c,
      live: Array.from({ length: R0 }, (_, i) => (final ? final[m.index * R0 + i] !== 0 : c === null || c[i] !== 0)),
    };
  });
}

/** Whether the export is provisional: dynamic rank before the schedule's final pruning event (the allocation can
 * still change), with the step of that event. */
function provisionalExport(trainer: Trainer): { provisional: boolean; finalStep: number | null } {
  const al = trainer.allocator;
  return al ? { provisional: !al.finalReached, finalStep: al.finalStep() } : { provisional: false, finalStep: null };
}

/** The trained head (modules_to_save) by canonical name; empty for causal LMs. */
async function headTensors(model: LoadedModel): Promise<Map<string, HostTensor>> {
  const out = new Map<string, HostTensor>();
  const heads = model.arch.headModules(model.task);
  for (const name of model.params.grads.keys()) {
    if (!heads.some((h) => name.startsWith(`${h}.`))) continue;
    const t = model.params.tensors.get(name)!;
    out.set(name, { shape: [...t.shape], data: (await model.params.be.read(t)) as Float32Array });
  }
  return out;
}

/** The export input of the trainer's adapter as it is now; target types are those of the adapted modules. */
export async function exportInput(trainer: Trainer, model: LoadedModel): Promise<AdapterExportInput> {
  const a = trainer.adapters!;
  return {
    modelType: model.kind,
    task: model.task === 'causal-lm' ? 'CAUSAL_LM' : 'SEQ_CLS',
    baseModel: model.name,
    method: a.opts.method,
    alpha: a.opts.alpha,
    scale: a.scale,
    useRslora: Boolean(a.opts.rslora),
    dropout: a.opts.dropout,
    targetTypes: [...new Set(a.modules.map((m) => moduleType(m.linear.name)))],
    numLayers: model.arch.dims(model.config).layers,
    modules: await adapterModules(trainer),
    provisional: provisionalExport(trainer).provisional,
    head: await headTensors(model),
  };
}
