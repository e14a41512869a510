// Which bundled model is chosen and what the worker reported about it.

import type { StateCreator } from 'zustand';
import type { Task } from '../models/arch/index';
import type { ModelSummary } from '../worker/protocol';
import type { AppState } from './index';

export interface BundledModel {
  id: string;
  /** What the model does: generation (causal LM) or classification; picks the demo data. */
  task: Task;
  label: string;
}

/** Demo checkpoints under public/models, in the order the picker lists them; only those present are offered. */
export const BUNDLED_MODELS: BundledModel[] = [
  { id: 'gpt2-tiny', task: 'causal-lm', label: 'gpt2-tiny · GPT-2, text generation' },
  { id: 'bert-tiny', task: 'seq-cls', label: 'bert-tiny · BERT, classification' },
  { id: 'gpt2-demo', task: 'causal-lm', label: 'gpt2-demo · GPT-2, text generation' },
  { id: 'bert-demo', task: 'seq-cls', label: 'bert-demo · BERT, classification' },
  { id: 'llama-demo', task: 'causal-lm', label: 'llama-demo · Llama, text generation' },
];

export interface ModelSlice {
  models: BundledModel[];
  modelId: string;
  summary: ModelSummary | null;
  modelLoading: boolean;
  /** The file being downloaded for a hub or URL model, or null. */
  modelProgress: { file: string; loaded: number; total: number | null } | null;
  /** Base URL of the Hugging Face hub (a mirror or a local server also works). */
  hubBase: string;
}

export const createModelSlice: StateCreator<AppState, [], [], ModelSlice> = () => ({
  models: BUNDLED_MODELS.slice(0, 2),
  modelId: BUNDLED_MODELS[0].id,
  summary: null,
  modelLoading: false,
  modelProgress: null,
  hubBase: 'https://huggingface.co',
});
