// The training loop's side of a run: a step's metrics and prunes reported (and kept in the run's history), and
// the run's state saved as a checkpoint.

import { saveCheckpoint } from '../train/checkpoint';
import { estimateMemory } from '../train/memory';
import type { StepMetrics } from '../train/run';
import { putCheckpoint } from './checkpointStore';
import type { Post, Run } from './runStart';
import { savedRefOf } from './summary';

/** Lets queued messages (pause, stop) in between training steps: a zero-delay macrotask. */
export function yieldToEvents(): Promise<void> {
  return new Promise((resolve) => {
    const ch = new MessageChannel();
    ch.port1.onmessage = () => {
      ch.port1.close();
      resolve();
    };
    ch.port2.postMessage(null);
  });
}

/** Posts a step's metrics (and a prune when the live components changed) and records them in the run's history. */
export function reportMetrics(
  r: Run,
  m: StepMetrics,
  post: Post,
  gpuBytes: number | null,
  peakBytes: number | null = null,
): void {
  const liveByModule = m.liveByModule ?? r.trainer.adapters!.modules.map((x) => x.liveCount);
  const live = liveByModule.reduce((a, b) => a + b, 0);
  const target = r.targetAt[Math.min(m.step, r.steps)];
  post({
    type: 'step',
    step: m.step,
    loss: m.loss,
    lr: m.lr,
    live,
    target,
    liveByModule,
    tokensPerSecond: m.tokensPerSecond,
    importance: m.importance,
    gpuBytes,
    estimateBytes: estimateMemory(r.model, r.cfg).total,
    peakBytes,
  });
  r.history.points.push({ step: m.step, loss: m.loss, lr: m.lr, live, target, tokensPerSecond: m.tokensPerSecond });
  if (liveByModule.some((v, i) => v !== r.lastLive[i])) {
    let removed = 0,
      revived = 0;
    liveByModule.forEach((v, i) => {
      if (v < r.lastLive[i]) removed += r.lastLive[i] - v;
      else revived += v - r.lastLive[i];
    });
    post({ type: 'prune', step: m.step, removed, revived, live, liveByModule });
    r.history.prunes.push({ step: m.step, removed, revived, live, liveByModule });
    r.lastLive = liveByModule;
  }
}

/** Saves the run's state to IndexedDB, warning once when dropped model files could not be kept with it. */
export async function saveRunCheckpoint(r: Run, post: Post): Promise<void> {
  const { runId, runName, modelId, data, dataKey, dataSha256, settings } = r.id;
  const run = { runId, modelId, data: data.name };
  const bytes = await saveCheckpoint(r.trainer, r.stream.state(), r.cfg, run, r.inputs);
  const modelRef = await savedRefOf(modelId);
  if (modelRef.kind === 'files' && !modelRef.stored && !r.warnedUnstored) {
    r.warnedUnstored = true;
    post({
      type: 'error',
      area: 'training',
      code: 'ModelNotStored',
      message: `The dropped model files (${modelRef.name}) could not be kept with the checkpoints (is the browser's storage full?): after a reload, drop the same files again before you press Resume.`,
    });
  }
  await putCheckpoint({
    id: `${runId}@${r.trainer.step}`,
    runId,
    runName,
    modelId,
    dataName: data.name,
    method: settings.method,
    step: r.trainer.step,
    totalSteps: r.steps,
    time: Date.now(),
    bytes: bytes.byteLength,
    settings,
    modelRef,
    dataKey,
    dataOrigin: data.origin ?? 'demo',
    dataSha256,
    history: r.history,
    data: bytes,
  });
}
