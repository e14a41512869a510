// `dynrank generate`: continues a prompt with a causal LM through its KV cache (greedy by default; temperature/top-k
// sampling with a seed), optionally with a PEFT LoRA adapter attached, and prints the new text.

import { type GenerativeModel, generateIds, readEosIds } from '../models/generate';
import { instantiate, readModelFiles } from '../models/load';
import { resolveModelArg } from '../models/node';
import type { Backend } from '../tensor/backend';
import { CpuBackend } from '../tensor/cpu';
import { num, parseArgs, str, UsageError, weightPrecisionOpt } from './args';
import { attachAdapter } from './train';

export const GENERATE_USAGE = `  dynrank generate --model <...> --prompt "<text>" [--adapter <dir>] [--max-tokens 50]
                 [--temperature 0] [--top-k 0] [--seed 1] [--json] [--backend webgpu|cpu]
                 [--weight-precision f32|f16]`;

const OPTS = {
  model: 'value',
  'hub-base': 'value',
  'cache-dir': 'value',
  backend: 'value',
  adapter: 'value',
  prompt: 'value',
  'max-tokens': 'value',
  temperature: 'value',
  'top-k': 'value',
  seed: 'value',
  json: 'flag',
  'weight-precision': 'value',
} as const;

async function openBackend(name: string): Promise<Backend> {
  if (name === 'cpu') return new CpuBackend();
  if (name !== 'webgpu') throw new UsageError(`--backend must be webgpu or cpu, got ${name}`);
  const [{ createNodeContext }, { GpuBackend }] = await Promise.all([import('../gpu/node'), import('../gpu/backend')]);
  return new GpuBackend(await createNodeContext());
}

function intOption(a: ReturnType<typeof parseArgs>, key: string, dflt: number, min: number): number {
  const v = num(a, key, dflt);
  if (!(Number.isInteger(v) && v >= min)) throw new UsageError(`--${key} must be an integer >= ${min}, got ${v}`);
  return v;
}

/** Runs `dynrank generate` on argv (after the command name); returns what to print. */
export async function generateCommand(argv: string[]): Promise<string> {
  const a = parseArgs(argv, OPTS);
  const prompt = str(a, 'prompt');
  const weightPrecision = weightPrecisionOpt(a);
  const maxTokens = intOption(a, 'max-tokens', 50, 0),
    topK = intOption(a, 'top-k', 0, 0);
  const seed = intOption(a, 'seed', 1, 0),
    temperature = num(a, 'temperature', 0);
  if (!(temperature >= 0)) throw new UsageError(`--temperature must be >= 0 (0 = greedy), got ${temperature}`);
  const src = resolveModelArg(str(a, 'model'), {
    hubBase: a.options.get('hub-base') as string | undefined,
    cacheDir: (a.options.get('cache-dir') as string | undefined) ?? `${process.env.HOME ?? '.'}/.cache/dynrank`,
  });
  const { config, tokenizer, weights } = await readModelFiles(src);
  if (config.task !== 'causal-lm') {
    throw new UsageError(
      `${src.name} is a ${config.kind} classifier (config.json model_type); generate needs a ` +
        'causal LM such as gpt2: use `dynrank logits` for classifiers',
    );
  }
  const be = await openBackend(str(a, 'backend', 'webgpu'));
  const model = instantiate(be, config, tokenizer, weights, src.name, { weightPrecision });
  const adapter = a.options.get('adapter');
  if (typeof adapter === 'string') await attachAdapter(be, model, adapter);
  if (!('prefill' in model.net)) {
    throw new UsageError(
      `${src.name} is a ${config.kind} model (config.json model_type) whose network has no ` +
        'KV-cache decoder yet; use `dynrank logits` on it',
    );
  }
  const m = model as GenerativeModel & typeof model;
  const promptIds = tokenizer.encode(prompt).ids;
  const eosIds = await readEosIds(src, m);
  const ids = await generateIds(be, m, promptIds, { maxTokens, temperature, topK, seed, eosIds });
  const text = tokenizer.decode(ids);
  return a.options.has('json') ? JSON.stringify({ prompt, prompt_ids: promptIds, ids, text }) : text;
}
