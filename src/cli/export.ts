// `dynrank export --format onnx`: the model with an optional PEFT LoRA adapter merged in, written as a folder that
// transformers.js loads (onnx/model.onnx, config.json, tokenizer files, generation_config.json for decoders).

import { existsSync, readdirSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { mergeImportedAdapter } from '../export/merge';
import { ONNX_MODEL_TYPES, onnxSupportedText } from '../export/onnx/families';
import { onnxFolder } from '../export/onnx/folder';
import { archFor } from '../models/arch/index';
import { eosIds } from '../models/generate';
import { readModelFiles } from '../models/load';
import { resolveModelArg } from '../models/node';
import type { ModelType } from '../peft/export';
import { type ImportedAdapter, importPeft } from '../peft/import';
import { parseArgs, str, UsageError } from './args';
import { modelFolder, writeAtomic } from './files';

export const EXPORT_USAGE = `  dynrank export --model <...> [--adapter <dir>] --format onnx --out <dir> [--force]
                 the merged model as a transformers.js folder (onnx/model.onnx, config.json, tokenizer files)`;

const OPTS = {
  model: 'value',
  'hub-base': 'value',
  'cache-dir': 'value',
  adapter: 'value',
  format: 'value',
  out: 'value',
  force: 'flag',
} as const;

const dec = (b: Uint8Array) => new TextDecoder().decode(b);

function notOnnx(kind: string | undefined): UsageError {
  return new UsageError(`config.json: model_type ${kind} cannot be exported to ONNX yet; ${onnxSupportedText()}`);
}

/** Class names of a dynrank training run (dynrank.json beside the adapter), or null. */
async function runLabels(dir: string): Promise<string[] | null> {
  const file = join(dir, 'dynrank.json');
  if (!existsSync(file)) return null;
  const labels = (JSON.parse(await readFile(file, 'utf8')) as { labels?: unknown }).labels;
  return Array.isArray(labels) && labels.every((l) => typeof l === 'string') ? labels : null;
}

/** Runs `dynrank export` on argv (after the command name); returns what to print. */
export async function exportCommand(argv: string[]): Promise<string> {
  const a = parseArgs(argv, OPTS);
  const format = str(a, 'format', 'onnx');
  if (format !== 'onnx') throw new UsageError(`--format must be onnx, got ${format}`);
  const out = str(a, 'out');
  const modelArg = str(a, 'model');
  if (existsSync(out) && readdirSync(out).length > 0 && !a.options.has('force')) {
    throw new UsageError(`--out ${out} is not empty; pass an empty or new folder, or --force to overwrite its files`);
  }
  const own = modelFolder(modelArg);
  if (own !== null && existsSync(out) && modelFolder(out) === own)
    throw new UsageError('--out must not be the model folder');
  const src = resolveModelArg(modelArg, {
    hubBase: a.options.get('hub-base') as string | undefined,
    cacheDir: (a.options.get('cache-dir') as string | undefined) ?? `${process.env.HOME ?? '.'}/.cache/dynrank`,
  });

  const kind = (JSON.parse(dec((await src.get('config.json'))!)) as { model_type?: string }).model_type;
  const adapterDir = a.options.get('adapter');
  let adapter: ImportedAdapter | null = null,
    labels: string[] | null = null;
  if (typeof adapterDir === 'string') {
    if (!ONNX_MODEL_TYPES.includes(kind ?? '')) throw notOnnx(kind);
    for (const f of ['adapter_config.json', 'adapter_model.safetensors']) {
      if (!existsSync(join(adapterDir, f))) {
        throw new UsageError(
          `--adapter ${adapterDir}: ${f} is missing; pass the folder of a PEFT LoRA adapter ` +
            '(what dynrank train writes: adapter_config.json and adapter_model.safetensors)',
        );
      }
    }
    const cfgText = await readFile(join(adapterDir, 'adapter_config.json'), 'utf8');
    const bytes = new Uint8Array(await readFile(join(adapterDir, 'adapter_model.safetensors')));
    adapter = importPeft(cfgText, bytes, kind as ModelType);
    labels = await runLabels(adapterDir);
  }
  // A classifier head saved with the adapter sizes the head (a head trained on N labels).
  const head = adapter?.head.get('classifier.weight') ?? adapter?.head.get('classifier.out_proj.weight');
  const { config, weights, tokenizer } = await readModelFiles(src, { numLabels: head?.shape[0] });
  if (!ONNX_MODEL_TYPES.includes(config.kind)) throw notOnnx(config.kind);
  if (config.task === 'seq-cls') {
    const head = archFor(config).headModules('seq-cls');
    const isHead = (n: string) => n.endsWith('.weight') && head.some((m) => n.startsWith(`${m}.`));
    const fresh = weights.initialized.filter((n) => isHead(n) && !adapter?.head.has(n));
    if (fresh.length > 0) {
      throw new UsageError(
        `${src.name} has no trained classification head (${fresh.join(', ')}); ` +
          'pass --adapter with the folder of a sequence-classification run, whose adapter saves the head',
      );
    }
  }
  const merged = adapter ? mergeImportedAdapter(weights.tensors, adapter, config.kind) : weights.tensors;
  const generation = config.task === 'causal-lm' ? await src.get('generation_config.json', true) : null;
  const files = onnxFolder({
    config,
    eosIds: generation ? eosIds(dec(generation), config.raw, tokenizer) : undefined,
    weights: merged,
    tokenizerJson: (await src.get('tokenizer.json'))!,
    tokenizerConfig: (await src.get('tokenizer_config.json', true)) ?? null,
    labels:
      labels !== null && config.task === 'seq-cls' && labels.length === config.arch.numLabels ? labels : undefined,
  });
  for (const [rel, bytes] of files) {
    const path = join(out, rel);
    await mkdir(dirname(path), { recursive: true });
    await writeAtomic(path, bytes);
  }
  return JSON.stringify({ out, format, files: [...files.keys()], adapter: adapterDir ?? null }, null, 2);
}
