// `dynrank data`: how an instruction-tuning file will be trained on. Reads the file in its format, renders it with the
// model's chat template (or the fallback), and prints JSON: the first examples with input_ids, labels (-100 where not
// trained) and the rendered text, and the counts (examples, bad rows with their lines, truncated examples).

import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { ModelSource } from '../models/sources';
import { TokenizerError } from '../models/tokenizer';
import { chatTemplateFrom, loadChatTokenizer } from '../train/data/chat';
import { badRowReport, formatBadRowReport } from '../train/data/errors';
import { buildSftSet, readSftRecords, SFT_FORMATS, type SftExample, type SftFormat } from '../train/data/sft';
import { DEFAULT_RUN } from '../train/run';
import { num, type ParsedArgs, str, UsageError } from './args';

export const DATA_OPTS = {
  format: 'value',
  show: 'value',
  'max-length': 'value',
  'train-on-prompt': 'flag',
  'template-name': 'value',
} as const;

export const DATA_USAGE = `  dynrank data   --model <...> --data <file> [--format auto|${SFT_FORMATS.join('|')}]
                 [--show 3] [--max-length L] [--train-on-prompt] [--template-name default] [--seed 1]
                 [--val-fraction 0.1]   prints how an instruction-tuning file is rendered, masked and cut`;

const FALLBACK_MAX_LENGTH = 2048;
const text = (b: Uint8Array) => new TextDecoder().decode(b);

function whole(a: ParsedArgs, key: string, dflt: number, min: number): number {
  const n = num(a, key, dflt);
  if (!Number.isInteger(n) || n < min) {
    throw new UsageError(`--${key} must be a whole number of at least ${min}, got ${n}`);
  }
  return n;
}

/**
 * The default maximum length: the model's positions (config.json n_positions / max_position_embeddings) and the
 * tokenizer's model_max_length, the smaller of those that are set; 2048 when neither is.
 */
function defaultMaxLength(config: Record<string, unknown> | null, tokConfig: Record<string, unknown>): number {
  const limits = [config?.n_positions, config?.max_position_embeddings, tokConfig.model_max_length].filter(
    (v): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 2 && v <= 1e7,
  );
  return limits.length ? Math.min(...limits) : FALLBACK_MAX_LENGTH;
}

function objectFile(bytes: Uint8Array | null, file: string): Record<string, unknown> | null {
  if (!bytes) return null;
  try {
    const v = JSON.parse(text(bytes));
    if (v && typeof v === 'object' && !Array.isArray(v)) return v;
  } catch {
    /* reported below */
  }
  throw new TokenizerError(file, '(file)', `${file}: not a valid JSON object; fix or replace the file.`);
}

export async function dataCommand(a: ParsedArgs, src: ModelSource): Promise<string> {
  const dataFile = str(a, 'data');
  const format = str(a, 'format', 'auto');
  if (format !== 'auto' && !SFT_FORMATS.includes(format as SftFormat)) {
    throw new UsageError(`--format must be auto, ${SFT_FORMATS.join(', ')}; got ${format}`);
  }
  const show = whole(a, 'show', 3, 0);
  const [tokJson, tokConfigBytes, jinja, configBytes] = await Promise.all([
    src.get('tokenizer.json'),
    src.get('tokenizer_config.json', true),
    src.get('chat_template.jinja', true),
    src.get('config.json', true),
  ]);
  const tokConfigText = tokConfigBytes ? text(tokConfigBytes) : null;
  const modelConfig = objectFile(configBytes, 'config.json');
  const tok = loadChatTokenizer(text(tokJson!), tokConfigText, { modelConfig });
  const template = chatTemplateFrom(tok.config, {
    jinjaFile: jinja ? text(jinja) : null,
    name: a.options.get('template-name') as string | undefined,
  });
  const maxLength = whole(a, 'max-length', defaultMaxLength(modelConfig, tok.config), 2);
  if (!existsSync(dataFile)) throw new UsageError(`--data ${dataFile}: no such file; give the path of a data file.`);
  const dataText = text(new Uint8Array(await readFile(dataFile)));
  const data = readSftRecords(dataText, dataFile, { format: format as SftFormat | 'auto' });
  const set = buildSftSet(data, tok, template, {
    maxLength,
    trainOnPrompt: a.options.has('train-on-prompt'),
    seed: num(a, 'seed', DEFAULT_RUN.seed),
    valFraction: num(a, 'val-fraction', DEFAULT_RUN.valFraction),
  });
  const bad = badRowReport(set.badRows);
  process.stderr.write(formatBadRowReport(dataFile, bad));
  const tagged = [...set.train.map((e) => ['train', e] as const), ...set.val.map((e) => ['val', e] as const)].sort(
    (x, y) => x[1].line - y[1].line,
  );
  const shown = (split: string, e: SftExample) => ({
    line: e.line,
    split,
    input_ids: Array.from(e.inputIds),
    labels: Array.from(e.labels),
    text: e.text,
  });
  return JSON.stringify(
    {
      file: dataFile,
      format: set.format,
      model: src.name,
      template: { origin: template.origin, name: template.name },
      maxLength,
      counts: {
        rows: data.records.length + data.badRows.length,
        examples: set.stats.examples,
        train: set.split.train,
        val: set.split.val,
        truncated: set.stats.truncated,
        chunkedDocuments: set.stats.chunkedDocuments,
        badRows: bad.count,
        splitConversations: set.stats.splitConversations,
        boundaryFallbacks: set.stats.boundaryFallbacks,
        tokens: set.stats.tokens,
        trainableTokens: set.stats.trainableTokens,
      },
      badRows: bad.first,
      examples: tagged.slice(0, show).map(([split, e]) => shown(split, e)),
    },
    null,
    1,
  );
}
