// Trying a trained run: validation loss, and text generated or classified with and without the adapters.

import type { InferenceSession } from 'onnxruntime-web';
import { decoderLayout, type OnnxDecoderLayout, onnxClassProbs, onnxGreedyIds } from '../export/onnx/run';
import { classify, type GenerativeModel, generate, generateIds, readEosIds } from '../models/generate';
import type { BatchSource } from '../train/data/batches';
import { endOfTurnIds } from '../train/data/chat';
import { evaluate } from '../train/run';
import type { Command, EvalResult, OnnxClassification, OnnxGeneration } from './protocol';
import type { Run } from './runStart';
import { chatFor } from './sftData';
import { sourceFor } from './summary';

/** Validation items evaluated at most (and at most 16 batches beyond 64 items), so the page answers quickly. */
const EVAL_CAP = 256;

/**
 * The run's validation metrics on at most EVAL_CAP items. An instruction-tuning run's labels are -100 outside the
 * answers (unless it trains on the prompt too), so its loss and perplexity are over the answers' tokens only.
 */
export async function evaluateRun(r: Run): Promise<Omit<EvalResult, 'step'>> {
  const val = capped(r.data.val, r.cfg.batch);
  const m = await evaluate(r.trainer, val, r.cfg.batch);
  return r.cfg.sft && !r.cfg.sft.trainOnPrompt ? { ...m, answerTokensOnly: true } : m;
}

/** The run's causal decoder, or an error saying why this model cannot generate here. */
function decoderOf(r: Run): GenerativeModel {
  const model = r.model;
  if (model.task !== 'causal-lm') throw new Error('This model classifies text; use Classify.');
  if (!('prefill' in model.net)) {
    throw new Error(
      `${model.arch.title(model.config)} cannot generate here yet: its network has no KV-cache ` +
        'decoder. Train and export it; try it with `dynrank logits`.',
    );
  }
  return { ...model, net: model.net };
}

/** The prompt continued by the adapted model and by the base model. */
export async function generateBoth(
  r: Run,
  cmd: Extract<Command, { type: 'generate' }>,
): Promise<{ base: string; adapted: string }> {
  const decoder = decoderOf(r),
    be = r.trainer.be;
  const eosIds = await readEosIds(sourceFor(r.id.modelId), decoder);
  const opts = { maxTokens: cmd.maxTokens, temperature: cmd.temperature, topK: cmd.topK, seed: cmd.seed, eosIds };
  const adapted = await withEval(r, () => generate(be, decoder, cmd.prompt, opts));
  const base = await withoutAdapters(r, () => generate(be, decoder, cmd.prompt, opts));
  return { base, adapted };
}

/**
 * One user message answered by the adapted and by the base model: the message rendered with the model's chat template
 * and its generation prompt, then greedy decoding until an end of sequence or of the turn, or `maxTokens`.
 */
export async function chatBoth(r: Run, cmd: Extract<Command, { type: 'chat' }>): Promise<ChatAnswers> {
  const decoder = decoderOf(r),
    be = r.trainer.be;
  const turn = await chatTurn(r, decoder, cmd.message);
  const opts = { maxTokens: cmd.maxTokens, temperature: 0, topK: 0, seed: 0, eosIds: turn.stop };
  const answerIds = () => generateIds(be, decoder, turn.ids, opts);
  const adaptedIds = await withEval(r, answerIds);
  const base = turn.decode(await withoutAdapters(r, answerIds));
  return { base, adapted: turn.decode(adaptedIds), turn, adaptedIds };
}

/** Both chat answers, and the adapted one's turn and greedy ids, which the ONNX check compares against. */
export interface ChatAnswers {
  base: string;
  adapted: string;
  turn: GreedyTurn;
  adaptedIds: number[];
}

/** A greedy continuation to compare: the context's ids, the ids that end it (not output) and how its ids read. */
interface GreedyTurn {
  ids: readonly number[];
  stop: number[];
  decode(ids: number[]): string;
}

/**
 * One user message rendered with the model's chat template and its generation prompt, ended by an end of sequence or
 * of the turn, and read with the chat tokenizer.
 */
async function chatTurn(r: Run, decoder: GenerativeModel, message: string): Promise<GreedyTurn> {
  const chat = await chatFor(r.id.modelId);
  const prompt = chat.template.render([{ role: 'user', content: message }], { addGenerationPrompt: true });
  const stop = new Set([...(await readEosIds(sourceFor(r.id.modelId), decoder)), ...endOfTurnIds(chat)]);
  return { ids: chat.tokenizer.encode(prompt), stop: [...stop], decode: (ids) => chat.tokenizer.decode(ids) };
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

/** The run's decoder and the past_key_values layout of its ONNX graph, or an error when it does not generate text. */
function onnxDecoderOf(r: Run): { decoder: GenerativeModel; layout: OnnxDecoderLayout } {
  const layout = decoderLayout(r.model.config);
  if (r.model.task !== 'causal-lm' || !layout || !('prefill' in r.model.net)) {
    throw new Error('This exported model does not generate text.');
  }
  return { decoder: decoderOf(r), layout };
}

/**
 * The exported model's greedy continuation of the prompt in onnxruntime-web beside the adapted model's greedy one
 * (our engine, KV cache), with the same end-of-sequence ids and length.
 */
export async function onnxGenerateBeside(
  r: Run,
  session: InferenceSession,
  cmd: Extract<Command, { type: 'generate' }>,
  step: number,
): Promise<OnnxGeneration> {
  const { decoder, layout } = onnxDecoderOf(r);
  const model = r.model;
  const eosIds = await readEosIds(sourceFor(r.id.modelId), decoder);
  const ids = model.tokenizer.encode(cmd.prompt).ids;
  const bos = model.config.raw.bos_token_id;
  const context = ids.length ? ids : [typeof bos === 'number' ? bos : (eosIds[0] ?? 0)];
  const turn: GreedyTurn = { ids: context, stop: eosIds, decode: (t) => model.tokenizer.decode(t) };
  return greedyBeside(r, session, { decoder, layout, turn, maxTokens: cmd.maxTokens, step });
}

/**
 * The exported model's greedy answer to a chat message (rendered with the chat template, ended by the end of the turn)
 * in onnxruntime-web beside the adapted model's greedy answer, as the chat box gives it.
 */
export async function onnxChatBeside(
  r: Run,
  session: InferenceSession,
  chat: ChatAnswers,
  maxTokens: number,
  step: number,
): Promise<OnnxGeneration> {
  const { decoder, layout } = onnxDecoderOf(r);
  return greedyBeside(r, session, { decoder, layout, turn: chat.turn, maxTokens, step, ours: chat.adaptedIds });
}

interface GreedyBesideOptions {
  decoder: GenerativeModel;
  layout: OnnxDecoderLayout;
  turn: GreedyTurn;
  maxTokens: number;
  /** The step of the adapter that was exported. */
  step: number;
  /** The adapted model's greedy ids for `turn` when they are already known (the chat box computed them). */
  ours?: number[];
}

/** `turn` continued greedily by the adapted model (our engine) and by the exported graph; agreement is equal ids. */
async function greedyBeside(r: Run, session: InferenceSession, o: GreedyBesideOptions): Promise<OnnxGeneration> {
  const { turn, maxTokens } = o;
  const ours =
    o.ours ??
    (await withEval(r, () =>
      generateIds(r.trainer.be, o.decoder, turn.ids, {
        maxTokens,
        temperature: 0,
        topK: 0,
        seed: 0,
        eosIds: turn.stop,
      }),
    ));
  const { ort } = await import('./onnxRuntime');
  const onnx = await onnxGreedyIds(ort, session, o.layout, turn.ids, { maxTokens, eosIds: turn.stop });
  const agrees = onnx.length === ours.length && onnx.every((t, i) => t === ours[i]);
  return { text: turn.decode(onnx), ours: turn.decode(ours), agrees, step: o.step };
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
