// `dynrank plan`: the memory plan of a run (src/train/plan.ts) from config.json and the safetensors header alone, no
// weight data read and nothing allocated: the options `dynrank train` would choose and the estimate behind them.

import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { archFor, parseModelConfig, type Task } from '../models/arch/index';
import type { Checkpoint } from '../models/arch/types';
import { resolveModelArg } from '../models/node';
import { headerLength, headerShapes } from '../models/safetensorsHeader';
import { readCheckpointFiles } from '../models/shards';
import type { ModelSource } from '../models/sources';
import { mapCheckpoint } from '../models/weights';
import { defaultR0 } from '../peft/schedule';
import type { MemoryEstimate, ModelShapes } from '../train/memory';
import { describeOptions, PlanError, type PlanOptions, type PlanRun, planMemory } from '../train/plan';
import { DEFAULT_RUN } from '../train/run';
import { num, type ParsedArgs, parseArgs, recomputeOpt, str, UsageError } from './args';
import { modelFolder } from './files';

export const PLAN_USAGE = `  dynrank plan   --model <...> [--method dora|lora|full] [--batch 8] [--seq 64] [--target <types,...>]
                 [--budget 2 --r0 3 | --rank 8] [--dropout 0.1] [--task causal-lm|seq-cls] [--memory-gib G]
                 [--micro-batch M] [--recompute none|selective|blocks] [--weight-precision f16|f32] [--json]
                 the memory plan from config.json and the weights' header (no weights read); exit 1 if nothing fits`;

const OPTS = {
  model: 'value',
  'hub-base': 'value',
  'cache-dir': 'value',
  method: 'value',
  batch: 'value',
  seq: 'value',
  target: 'value',
  targets: 'value',
  budget: 'value',
  r0: 'value',
  rank: 'value',
  dropout: 'value',
  task: 'value',
  'num-labels': 'value',
  'memory-gib': 'value',
  'micro-batch': 'value',
  recompute: 'value',
  'weight-precision': 'value',
  json: 'flag',
} as const;

const SINGLE = 'model.safetensors';
const INDEX = 'model.safetensors.index.json';

/** The header of one safetensors file on disk: its length prefix and JSON, nothing after. */
async function fileHeader(path: string, file: string): Promise<Map<string, number[]>> {
  const fh = await open(path, 'r');
  try {
    const prefix = new Uint8Array(8);
    const { bytesRead } = await fh.read(prefix, 0, 8, 0);
    const n = headerLength(prefix.subarray(0, bytesRead), file);
    const header = new Uint8Array(n);
    await fh.read(header, 0, n, 8);
    return headerShapes(header, file);
  } finally {
    await fh.close();
  }
}

function shapesOnly(into: Checkpoint, shapes: Map<string, number[]>, file: string): void {
  for (const [name, shape] of shapes)
    into.set(name, {
      shape,
      file,
      read: () => {
        throw new Error(`${file}: the memory plan reads shapes only, not "${name}"`);
      },
    });
}

/** The checkpoint of a model folder with shapes from the headers only (one file or every shard of the index). */
async function folderCheckpoint(dir: string): Promise<Checkpoint> {
  const checkpoint: Checkpoint = new Map();
  try {
    shapesOnly(checkpoint, await fileHeader(join(dir, SINGLE), SINGLE), SINGLE);
    return checkpoint;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  let index: { weight_map?: Record<string, string> };
  try {
    index = JSON.parse(await readFile(join(dir, INDEX), 'utf8'));
  } catch (e) {
    throw new UsageError(`${dir}: neither ${SINGLE} nor a readable ${INDEX} (${(e as Error).message})`);
  }
  for (const file of new Set(Object.values(index.weight_map ?? {})))
    shapesOnly(checkpoint, await fileHeader(join(dir, file), file), file);
  return checkpoint;
}

export interface ShapeSource {
  model: string;
  /** Where a URL or hub id is read from (default: resolved from `model`, hubBase and cacheDir). */
  source?: ModelSource;
  hubBase?: string;
  cacheDir?: string;
  task?: Task;
  numLabels?: number;
}

/** A model's canonical shapes from config.json and the safetensors header(s): read from disk for a folder or a
 * bundled demo; a URL or hub id is downloaded through its source (its tensors are still never converted). */
export async function readModelShapes(s: ShapeSource): Promise<ModelShapes> {
  const dir = modelFolder(s.model);
  let configText: string, checkpoint: Checkpoint;
  if (dir) {
    configText = await readFile(join(dir, 'config.json'), 'utf8');
    checkpoint = await folderCheckpoint(dir);
  } else {
    const src = s.source ?? resolveModelArg(s.model, { hubBase: s.hubBase, cacheDir: s.cacheDir });
    configText = new TextDecoder().decode((await src.get('config.json'))!);
    checkpoint = await readCheckpointFiles(src);
  }
  // The pad token sizes nothing: 0 as when the task is probed (src/cli/train.ts modelForData).
  const config = parseModelConfig(configText, { task: s.task, numLabels: s.numLabels, padTokenId: 0 });
  const mapped = mapCheckpoint(checkpoint, config);
  const weights = new Map<string, readonly number[]>();
  for (const [n, t] of mapped.tensors) weights.set(n, t.shape);
  return { arch: archFor(config), config, weights };
}

function positiveInt(a: ParsedArgs, key: string, dflt: number): number {
  const n = num(a, key, dflt);
  if (!(Number.isInteger(n) && n >= 1)) throw new UsageError(`--${key} must be a whole number of at least 1, got ${n}`);
  return n;
}

export async function planCommand(argv: string[]): Promise<{ out: string; code: number }> {
  const a = parseArgs(argv, OPTS);
  const method = str(a, 'method', 'dora');
  if (method !== 'dora' && method !== 'lora' && method !== 'full')
    throw new UsageError(`--method must be dora, lora or full, got ${method}`);
  const task = a.options.get('task');
  if (task !== undefined && task !== 'causal-lm' && task !== 'seq-cls')
    throw new UsageError(`--task must be causal-lm or seq-cls, got ${String(task)}`);
  const wp = a.options.get('weight-precision');
  if (wp !== undefined && wp !== 'f16' && wp !== 'f32')
    throw new UsageError(`--weight-precision must be f16 or f32, got ${String(wp)}`);
  const recompute = recomputeOpt(a);
  const batch = positiveInt(a, 'batch', DEFAULT_RUN.batch);
  const microBatch = a.options.has('micro-batch') ? positiveInt(a, 'micro-batch', 1) : undefined;
  if (microBatch !== undefined && batch % microBatch !== 0)
    throw new UsageError(`--micro-batch ${microBatch} must divide --batch ${batch}`);
  const memoryGiB = a.options.has('memory-gib') ? num(a, 'memory-gib') : undefined;
  if (memoryGiB !== undefined && !(memoryGiB > 0))
    throw new UsageError(`--memory-gib must be a positive number of GiB, got ${memoryGiB}`);
  const targetArg = a.options.get('targets') ?? a.options.get('target');
  const budget = num(a, 'budget', DEFAULT_RUN.budget);
  const run: PlanRun = {
    method,
    batch,
    seq: positiveInt(a, 'seq', DEFAULT_RUN.seq),
    budget,
    r0: num(a, 'r0', defaultR0(budget)),
    rank: num(a, 'rank', DEFAULT_RUN.rank),
    dropout: num(a, 'dropout', DEFAULT_RUN.dropout),
    targets:
      typeof targetArg === 'string'
        ? targetArg
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean)
        : undefined,
  };
  const modelArg = str(a, 'model');
  const shapes = await readModelShapes({
    model: modelArg,
    hubBase: a.options.get('hub-base') as string | undefined,
    cacheDir: (a.options.get('cache-dir') as string | undefined) ?? `${process.env.HOME ?? '.'}/.cache/dynrank`,
    task: task as Task | undefined,
    numLabels: a.options.has('num-labels') ? positiveInt(a, 'num-labels', 2) : undefined,
  });
  const targets = run.targets ?? [...shapes.arch.defaultTargets];
  const request = { model: modelArg, modelType: shapes.config.kind, task: shapes.config.task, ...run, targets };
  const json = a.options.has('json');
  try {
    const plan = planMemory({
      shapes,
      run,
      memoryBudgetGiB: memoryGiB,
      fixed: { microBatch, recompute, weightPrecision: wp },
    });
    if (json) return { out: JSON.stringify({ ...request, fits: true, ...plan }, null, 2), code: 0 };
    return { out: describePlan(plan.options, plan.estimate, plan.budgetBytes), code: 0 };
  } catch (e) {
    if (!(e instanceof PlanError)) throw e;
    if (!json) throw e;
    const refusal = { fits: false, error: e.message, budgetBytes: e.budgetBytes, leanest: e.estimate, fix: e.fix };
    return { out: JSON.stringify({ ...request, ...refusal }, null, 2), code: 1 };
  }
}

function describePlan(o: PlanOptions, e: MemoryEstimate, budget: number): string {
  const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
  return [
    `plan: ${describeOptions(o)}`,
    `estimate: weights ${mib(e.weights)}, activations ${mib(e.activations)}, adapters and optimizer ` +
      `${mib(e.adapterAndOptimizer)}, engine ${mib(e.engine)}, total ${mib(e.total)} of a ${mib(budget)} budget`,
  ].join('\n');
}
