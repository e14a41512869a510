// The instruction-tuning preview: while instruction tuning is on, the worker renders the data file with the model's
// chat template (it has the tokenizer); the page asks again whenever the model, the file, the format, trainOnPrompt
// or the sequence length change, and takes the answer to its newest request only.

import type { SftFormat } from '../train/data/sft';
import type { DataFile, SftSettings } from '../worker/protocol';
import { send } from './client';
import { sftActive } from './derived';
import { type AppState, useStore } from './index';

/** The formats the set-up panel offers (train/data/sft.ts SFT_FORMATS, listed here so the page loads no tokenizer). */
export const SFT_FORMAT_CHOICES = ['messages', 'prompt-completion', 'alpaca', 'text'] as const satisfies SftFormat[];

interface SftPreviewRequest {
  model: string;
  data: DataFile;
  sft: SftSettings;
  maxLength: number;
}

/** What the preview renders for state `s`: null when there is no model or data yet, or instruction tuning is off. */
function sftRequestOf(s: AppState): SftPreviewRequest | null {
  if (!s.summary || !s.dataFile || !s.settings.sft || !sftActive(s)) return null;
  return {
    model: s.modelId,
    data: s.dataFile,
    sft: s.settings.sft,
    maxLength: Math.min(s.settings.seq, s.summary.maxPositions),
  };
}

const sameRequest = (a: SftPreviewRequest | null, b: SftPreviewRequest | null) =>
  a === b ||
  (a !== null &&
    b !== null &&
    a.model === b.model &&
    a.data === b.data &&
    a.sft.format === b.sft.format &&
    a.sft.trainOnPrompt === b.sft.trainOnPrompt &&
    a.maxLength === b.maxLength);

let nextId = 1;
let pendingId: number | null = null;
let last: SftPreviewRequest | null = null;

/** Asks for a new preview when what it depends on changed; clears it when instruction tuning no longer applies. */
export function refreshSftPreview(s: AppState = useStore.getState()): void {
  const req = sftRequestOf(s);
  if (sameRequest(req, last)) return;
  last = req;
  if (!req) {
    pendingId = null;
    useStore.setState({ sftPreview: null, sftPreviewLoading: false, sftPreviewError: null });
    return;
  }
  pendingId = nextId++;
  useStore.setState({ sftPreviewLoading: true, sftPreviewError: null });
  send({ type: 'sftPreview', id: pendingId, ...req });
}

/** Whether an answer belongs to the newest request (then it is no longer pending). */
export function takeSftAnswer(id: number): boolean {
  if (id !== pendingId) return false;
  pendingId = null;
  return true;
}

/** Keeps the preview in step with the store; returns the unsubscribe function. */
export function watchSftPreview(): () => void {
  return useStore.subscribe((s) => refreshSftPreview(s));
}
