// The `dynrank` command line: model inspection and logits now; training and evaluation build on the same loop.

import { adaptableModules, archFor } from '../models/arch/index';
import type { SeqClsNet } from '../models/arch/types';
import { uploadEncoderBatch } from '../models/batch';
import { instantiate, parameterCount, readModelFiles } from '../models/load';
import { resolveModelArg } from '../models/node';
import type { Backend } from '../tensor/backend';
import { CpuBackend } from '../tensor/cpu';
import { SFT_FORMATS } from '../train/data/sft';
import { num, type ParsedArgs, parseArgs, str, UsageError } from './args';
import { DATA_OPTS, DATA_USAGE, dataCommand } from './data';
import { EXPORT_USAGE, exportCommand } from './export';
import { writeAtomic } from './files';
import { GENERATE_USAGE, generateCommand } from './generate';
import { PLAN_USAGE, planCommand } from './plan';
import { attachAdapter, evalCommand, TRAIN_OPTS, train } from './train';

const USAGE = `usage:
  dynrank info   --model <dir|demo-name|url|hub-id> [--hub-base URL]
  dynrank logits --model <...> --text "<text>" [--adapter <dir>] [--num-labels N] [--out f.json] [--backend webgpu|cpu]
  dynrank train  --model <...> --data <file> [--task causal-lm|seq-cls|sft] [--method dora|lora|full]
                 [with --task sft: --format auto|${SFT_FORMATS.join('|')} --max-length L --train-on-prompt
                  --template-name NAME (an entry of tokenizer_config.json's named chat templates; default: default)]
                 [--budget 2 --r0 3 | --rank 8] [--target <types,...>] [--steps N | --epochs E] [--batch 8] [--seq 64]
                 [--micro-batch N (divides --batch)] [--recompute none|selective|blocks] [--no-tune-kernels]
                 [--lr X] [--seed 1] [--prune-interval 10] [--eta 0.1] [--alpha 8] [--no-model-dropout] [--merged]
                 [--checkpoint-every 50] [--log-every 10] [--max-skipped-steps 5] [--memory-gib G] --out <dir> [--force]
                 [--backend webgpu|cpu] [--weight-precision f32|f16 (frozen base weights; f16 not with full)]
                 --out must be empty or hold a run of the same settings (--force: overwrite; never the model folder)
  dynrank train  --resume <dir>       continue an interrupted run from its checkpoint
  dynrank eval   --model <...> [--adapter <dir>] --data <file> [--backend webgpu|cpu] [--val-fraction F --seed S]
                 [--weight-precision f32|f16] [--task sft [--format F] [--max-length L] [--template-name NAME]]
                 with --task sft: loss and perplexity over the answer (assistant) tokens only
${GENERATE_USAGE}
${PLAN_USAGE}
${EXPORT_USAGE}
${DATA_USAGE}`;

const MODEL_OPTS = {
  model: 'value',
  'hub-base': 'value',
  'cache-dir': 'value',
  backend: 'value',
  text: 'value',
  'num-labels': 'value',
  help: 'flag',
  ...TRAIN_OPTS,
  ...DATA_OPTS,
} as const;

async function backendFor(name: string): Promise<Backend> {
  if (name === 'cpu') return new CpuBackend();
  if (name !== 'webgpu') throw new UsageError(`--backend must be webgpu or cpu, got ${name}`);
  const [{ createNodeContext }, { GpuBackend }] = await Promise.all([import('../gpu/node'), import('../gpu/backend')]);
  return new GpuBackend(await createNodeContext());
}

function source(a: ParsedArgs) {
  return resolveModelArg(str(a, 'model'), {
    hubBase: a.options.get('hub-base') as string | undefined,
    cacheDir: (a.options.get('cache-dir') as string | undefined) ?? `${process.env.HOME ?? '.'}/.cache/dynrank`,
    onProgress: (p) =>
      process.stderr.write(
        `\rdownloading ${p.file}: ${(p.loaded / 2 ** 20).toFixed(1)} MiB${p.total ? ` of ${(p.total / 2 ** 20).toFixed(1)}` : ''}`,
      ),
  });
}

async function info(a: ParsedArgs): Promise<string> {
  const { config, weights, tokenizer } = await readModelFiles(source(a));
  const arch = archFor(config);
  const modules = adaptableModules(config).map((m) => [m.name, m.inF, m.outF]);
  const dims = { ...arch.dims(config), ...(config.task === 'seq-cls' ? { labels: config.labels } : {}) };
  return JSON.stringify(
    {
      modelType: config.kind,
      task: config.task,
      ...dims,
      parameters: parameterCount(weights),
      tokenizerVocab: tokenizer.vocabSize,
      initialized: weights.initialized,
      adaptableModules: (modules as [string, number, number][]).map(([name, inF, outF]) => ({
        name,
        in: inF,
        out: outF,
      })),
    },
    null,
    2,
  );
}

async function logits(a: ParsedArgs): Promise<string> {
  const src = source(a);
  const text = str(a, 'text');
  const be = await backendFor(str(a, 'backend', 'webgpu'));
  // --num-labels sizes a classifier head like the adapter's (a head trained on N labels); default: config.json's.
  const numLabels = a.options.has('num-labels') ? num(a, 'num-labels') : undefined;
  if (numLabels !== undefined && !(Number.isInteger(numLabels) && numLabels >= 1))
    throw new UsageError(`--num-labels must be a positive integer, got ${numLabels}`);
  const { config, tokenizer, weights } = await readModelFiles(src, { numLabels });
  const m = instantiate(be, config, tokenizer, weights, src.name);
  const adapter = a.options.get('adapter');
  if (typeof adapter === 'string') await attachAdapter(be, m, adapter);
  const enc = tokenizer.encode(text);
  if (enc.ids.length === 0) throw new UsageError('--text tokenizes to nothing');
  let rows: number[][];
  if (m.task === 'causal-lm') {
    const T = enc.ids.length,
      V = m.arch.dims(m.config).vocab;
    const ids = be.fromArray(Int32Array.from(enc.ids), [T], 'ids');
    const out = (await be.read(m.net.forward(ids, 1, T))) as Float32Array;
    rows = Array.from({ length: T }, (_, t) => Array.from(out.subarray(t * V, (t + 1) * V)));
  } else {
    const batch = uploadEncoderBatch(be, m.arch.clsBatch(m.config, [enc]));
    const out = (await be.read((m.net as SeqClsNet).forward(batch))) as Float32Array;
    rows = [Array.from(out)];
  }
  const json = JSON.stringify({ input_ids: enc.ids, logits: rows });
  const outFile = a.options.get('out');
  if (typeof outFile === 'string') {
    await writeAtomic(outFile, json);
    return `wrote ${outFile}`;
  }
  return json;
}

/** Runs the CLI; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    if (!cmd || cmd === '--help' || cmd === 'help') {
      console.log(USAGE);
      return cmd ? 0 : 2;
    }
    if (cmd === 'generate') {
      console.log(await generateCommand(rest));
      return 0;
    }
    if (cmd === 'plan') {
      const { out, code } = await planCommand(rest);
      console.log(out);
      return code;
    }
    if (cmd === 'export') {
      console.log(await exportCommand(rest));
      return 0;
    }
    const a = parseArgs(rest, MODEL_OPTS);
    if (cmd === 'info') console.log(await info(a));
    else if (cmd === 'logits') console.log(await logits(a));
    else if (cmd === 'train') {
      const open = () => backendFor(str(a, 'backend', 'webgpu'));
      console.log(await train(a, await open(), a.options.has('resume') ? null : source(a), open));
    } else if (cmd === 'data') console.log(await dataCommand(a, source(a)));
    else if (cmd === 'eval')
      console.log(await evalCommand(a, await backendFor(str(a, 'backend', 'webgpu')), source(a)));
    else throw new UsageError(`unknown command ${cmd}`);
    return 0;
  } catch (e) {
    const err = e as Error;
    console.error(`dynrank ${cmd}: ${err.name === 'Error' ? '' : `${err.name}: `}${err.message}`);
    if (e instanceof UsageError) console.error(USAGE);
    return e instanceof UsageError ? 2 : 1;
  }
}
