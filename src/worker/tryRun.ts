// Trying a trained run: validation loss, and text generated or classified with and without the adapters.

import type { InferenceSession } from 'onnxruntime-web';
import { decoderLayout, onnxClassProbs, onnxGreedyIds } from '../export/onnx/run';
import { classify, generate, generateIds, readEosIds } from '../models/generate';
import type { BatchSource } from '../train/data/batches';
import { evaluate } from '../train/run';
import type { Command, OnnxClassification, OnnxGeneration } from './protocol';
import type { Run } from './runStart';
import { sourceFor } from './summary';

/** Validation items evaluated at most (and at most 16 batches beyond 64 items), so the page answers quickly. */
const EVAL_CAP = 256;

/** The run's validation metrics on at most EVAL_CAP items. */
export function evaluateRun(r: Run): ReturnType<typeof evaluate> {
  const val = capped(r.data.val, r.cfg.batch);
  return evaluate(r.trainer, val, r.cfg.batch);
}

/** The prompt continued by the adapted model and by the base model. */
export async function generateBoth(
  r: Run,
  cmd: Extract<Command, { type: 'generate' }>,
): Promise<{ base: string; adapted: string }> {
  const model = r.model;
  if (model.task !== 'causal-lm') throw new Error('This model classifies text; use Classify.');
  if (!('prefill' in model.net)) {
    throw new Error(
      `${model.arch.title(model.config)} cannot generate here yet: its network has no KV-cache ` +
        'decoder. Train and export it; try it with `dynrank logits`.',
    );
  }
  const decoder = { ...model, net: model.net },
    be = r.trainer.be;
  const eosIds = await readEosIds(sourceFor(r.id.modelId), decoder);
  const opts = { maxTokens: cmd.maxTokens, temperature: cmd.temperature, topK: cmd.topK, seed: cmd.seed, eosIds };
  const adapted = await withEval(r, () => generate(be, decoder, cmd.prompt, opts));
  const base = await withoutAdapters(r, () => generate(be, decoder, cmd.prompt, opts));
  return { base, adapted };
}

/** The text's label probabilities from the adapted model and from the base model. */
export async function classifyBoth(r: Run, text: string): Promise<{ base: number[]; adapted: number[] }> {
  const model = r.model;
  if (model.task !== 'seq-cls') throw new Error('This model generates text; use Generate.');
  const be = r.trainer.be;
  const adapted = await withEval(r, () => classify(be, model, text, r.window));
  // The base model is the checkpoint as loaded: no adapters and its classification head as initialised.
  const heads = model.arch.headModules(model.task);
  const head = [...model.params.grads.keys()].filter((n) => heads.some((h) => n.startsWith(`${h}.`)));
  const trained = await Promise.all(
    head.map(async (n) => (await be.read(model.params.tensors.get(n)!)) as Float32Array),
  );
  head.forEach((n) => be.write(model.params.tensors.get(n)!, model.weights.tensors.get(n)!.data));
  let base: number[];
  try {
    base = await withoutAdapters(r, () => classify(be, model, text, r.window));
  } finally {
    head.forEach((n, i) => be.write(model.params.tensors.get(n)!, trained[i]));
  }
  return { base, adapted };
}

/** An onnxruntime-web session on an exported model.onnx (the runtime is loaded on first use). */
export async function onnxSession(model: Uint8Array): Promise<InferenceSession> {
  const { ort } = await import('./onnxRuntime');
  return ort.InferenceSession.create(model);
}

/** Agreement of two probability vectors: the same top label and every probability within this bound. */
const PROB_TOL = 1e-3;

/** The exported model's greedy continuation of the prompt in onnxruntime-web beside the adapted model's greedy one
 * (our engine, KV cache), with the same end-of-sequence ids and length. */
export async function onnxGenerateBeside(
  r: Run,
  session: InferenceSession,
  cmd: Extract<Command, { type: 'generate' }>,
  step: number,
): Promise<OnnxGeneration> {
  const model = r.model;
  const layout = decoderLayout(model.config);
  if (model.task !== 'causal-lm' || !layout || !('prefill' in model.net)) {
    throw new Error('This exported model does not generate text.');
  }
  const decoder = { ...model, net: model.net },
    be = r.trainer.be;
  const eosIds = await readEosIds(sourceFor(r.id.modelId), decoder);
  const ids = model.tokenizer.encode(cmd.prompt).ids;
  const bos = model.config.raw.bos_token_id;
  const context = ids.length ? ids : [typeof bos === 'number' ? bos : (eosIds[0] ?? 0)];
  const ours = await withEval(r, () =>
    generateIds(be, decoder, context, { maxTokens: cmd.maxTokens, temperature: 0, topK: 0, seed: 0, eosIds }),
  );
  const { ort } = await import('./onnxRuntime');
  const onnx = await onnxGreedyIds(ort, session, layout, context, { maxTokens: cmd.maxTokens, eosIds });
  const agrees = onnx.length === ours.length && onnx.every((t, i) => t === ours[i]);
  return { text: model.tokenizer.decode(onnx), ours: model.tokenizer.decode(ours), agrees, step };
}

/** The exported classifier's probabilities in onnxruntime-web beside the adapted model's (`adapted`), on the same
 * padded window. */
export async function onnxClassifyBeside(
  r: Run,
  session: InferenceSession,
  text: string,
  adapted: number[],
  step: number,
): Promise<OnnxClassification> {
  const model = r.model;
  if (model.task !== 'seq-cls') throw new Error('This exported model does not classify text.');
  const T = Math.min(r.window.T, model.arch.dims(model.config).maxPositions);
  const batch = model.arch.clsBatch(model.config, [model.tokenizer.encode(text)], T);
  const { ort } = await import('./onnxRuntime');
  const probs = await onnxClassProbs(ort, session, batch);
  const maxDiff = Math.max(...probs.map((p, i) => Math.abs(p - adapted[i])));
  const top = (p: number[]) => p.indexOf(Math.max(...p));
  return { probs, maxDiff, agrees: top(probs) === top(adapted) && maxDiff <= PROB_TOL, step };
}

/** At most EVAL_CAP items, in whole batches so the activation workspace keeps its shape. */
function capped(src: BatchSource, batch: number): BatchSource {
  const n = src.kind === 'lm' ? src.windows.length : src.examples.length;
  const cap = Math.min(EVAL_CAP, Math.max(64, 16 * batch));
  const keep = n <= batch ? n : Math.floor(Math.min(n, cap) / batch) * batch;
  return src.kind === 'lm'
    ? { ...src, windows: src.windows.slice(0, keep) }
    : { ...src, examples: src.examples.slice(0, keep) };
}

/** Runs `f` with the adapters in eval mode (no dropout). */
async function withEval<T>(r: Run, f: () => Promise<T>): Promise<T> {
  const a = r.trainer.adapters!,
    was = a.training;
  a.training = false;
  try {
    return await f();
  } finally {
    a.training = was;
  }
}

/** Runs `f` on the base model: the adapters' hooks are taken off the linears and put back afterwards. */
async function withoutAdapters<T>(r: Run, f: () => Promise<T>): Promise<T> {
  const a = r.trainer.adapters!,
    hooks = a.modules.map((m) => m.linear.adapter);
  a.detach();
  try {
    return await f();
  } finally {
    a.modules.forEach((m, i) => {
      m.linear.adapter = hooks[i];
    });
  }
}
