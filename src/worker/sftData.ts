// Instruction tuning in the worker: the model's chat tokenizer and template (read once per model source), and the
// set-up panel's preview of an instruction file rendered with them.

import type { ModelSource } from '../models/sources';
import { chatFromSource, type ModelChat } from '../train/data/chat';
import { type SftPreview, sftPreviewOf } from '../train/data/sftPreview';
import type { Command } from './protocol';
import { sourceFor } from './summary';

const chats = new WeakMap<ModelSource, Promise<ModelChat>>();

/** Model `id`'s chat tokenizer and template; a model registered again under the same id is read again. */
export function chatFor(id: string): Promise<ModelChat> {
  const src = sourceFor(id);
  let chat = chats.get(src);
  if (!chat) {
    chat = chatFromSource(src);
    chats.set(src, chat);
    // A failed read (a download cut short) is tried again next time.
    chat.catch(() => chats.delete(src));
  }
  return chat;
}

/** The instruction file rendered with the model's chat template, as training will read it. */
export async function sftPreviewFor(cmd: Extract<Command, { type: 'sftPreview' }>): Promise<SftPreview> {
  const chat = await chatFor(cmd.model);
  return sftPreviewOf({ text: cmd.data.text, fileName: cmd.data.name }, chat, {
    format: cmd.sft.format,
    trainOnPrompt: cmd.sft.trainOnPrompt,
    maxLength: cmd.maxLength,
  });
}
