// The training Web Worker: owns the engine (WebGPU, or the CPU fallback) and the run, so the page stays responsive.
// Commands are handled one at a time in arrival order, except pause and stop, which act between two training steps.

import { previewOf } from '../train/data/preview';
import { describeError } from './errors';
import type { Command, WorkerEvent } from './protocol';
import { rememberUpload } from './runData';
import { Session } from './session';
import { sftPreviewFor } from './sftData';
import { modelLabel, registerModel, summarize } from './summary';

const scope = self as unknown as {
  postMessage(ev: WorkerEvent, transfer?: Transferable[]): void;
  onmessage: ((e: MessageEvent<Command>) => void) | null;
};
const post = (ev: WorkerEvent, transfer: Transferable[] = []) => scope.postMessage(ev, transfer);

let session: Session | null = null;
let queue: Promise<void> = Promise.resolve();

scope.onmessage = (e) => {
  const cmd = e.data;
  if (cmd.type === 'init') {
    if (session) return;
    const s = (session = new Session(post, cmd.backend));
    queue = queue.then(() => s.init()).catch((err) => post({ type: 'error', ...describeError(err, 'engine') }));
    return;
  }
  if (!session) {
    post({ type: 'error', area: 'engine', code: 'NotStarted', message: 'The worker got a command before init.' });
    return;
  }
  if (session.interrupt(cmd)) return;
  if (cmd.type === 'inspect') {
    // Reading model files does not touch the engine, so it need not wait for a running loop.
    summarize(cmd.model).then(
      (summary) => post({ type: 'loaded', summary }),
      (err) => post({ type: 'error', ...describeError(err, 'model') }),
    );
    return;
  }
  if (cmd.type === 'preview') {
    // Like 'inspect', not queued behind a running loop: it touches neither the engine nor the run.
    const { id, data } = cmd;
    if (data.origin === 'upload') rememberUpload(data);
    try {
      post({ type: 'preview', id, preview: previewOf(data.text, data.name), error: null });
    } catch (err) {
      const d = describeError(err, 'data');
      post({
        type: 'preview',
        id,
        preview: null,
        error: {
          code: d.code,
          message: d.area === 'data' ? d.message : `${data.name} could not be read: ${d.message}`,
        },
      });
    }
    return;
  }
  if (cmd.type === 'sftPreview') {
    // Not queued either: it reads the model's tokenizer files, never the engine or the run.
    sftPreviewFor(cmd).then(
      (preview) => post({ type: 'sftPreview', id: cmd.id, preview, error: null }),
      (err) => {
        const { code, message } = describeError(err, 'data');
        post({ type: 'sftPreview', id: cmd.id, preview: null, error: { code, message } });
      },
    );
    return;
  }
  if (cmd.type === 'addModel') {
    Promise.resolve()
      .then(async () => {
        const id = registerModel(cmd.ref, (p) => post({ type: 'modelProgress', ...p }));
        const summary = await summarize(id);
        post({ type: 'modelAdded', modelId: id, label: modelLabel(cmd.ref), task: summary.task });
        post({ type: 'loaded', summary });
      })
      .catch((err) => post({ type: 'error', ...describeError(err, 'model') }));
    return;
  }
  if (cmd.type === 'listCheckpoints' || cmd.type === 'deleteCheckpoint') {
    session.postCheckpoints(cmd.type === 'deleteCheckpoint' ? cmd.id : undefined).catch((err) =>
      post({
        type: 'error',
        area: 'training',
        code: 'CheckpointStore',
        message: `Saved checkpoints could not be read: ${(err as Error).message}`,
      }),
    );
    return;
  }
  const s = session;
  queue = queue.then(() => s.handle(cmd));
};
