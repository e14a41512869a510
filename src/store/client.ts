// The page's end of the worker: starts it, sends typed commands, and hands every event to the store.

import type { Command, WorkerEvent } from '../worker/protocol';

/** What the store needs from a worker; tests pass a fake. */
export interface Transport {
  postMessage(cmd: Command): void;
  onmessage: ((e: MessageEvent<WorkerEvent>) => void) | null;
  onerror: ((e: ErrorEvent) => void) | null;
}

let transport: Transport | null = null;

function createWorker(): Transport {
  return new Worker(new URL('../worker/worker.ts', import.meta.url), {
    type: 'module',
    name: 'dynrank training',
  }) as unknown as Transport;
}

/** Starts the worker (once) and routes its events to `onEvent`. */
export function connect(
  onEvent: (ev: WorkerEvent) => void,
  onFailure: (message: string) => void,
  make: () => Transport = createWorker,
): void {
  if (transport) return;
  transport = make();
  transport.onmessage = (e) => onEvent(e.data);
  transport.onerror = (e) => {
    e.preventDefault?.();
    onFailure(e.message || 'the training worker could not be started');
  };
}

export function send(cmd: Command): void {
  if (!transport) throw new Error('the worker is not connected');
  transport.postMessage(cmd);
}
