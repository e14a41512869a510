// Tokenizers from tokenizer.json + tokenizer_config.json through @huggingface/tokenizers (pure JS, no fetch).

import { Tokenizer } from '@huggingface/tokenizers';
import { TokenizerError } from './errors';
import { parseJsonObject } from './files';

export { TokenizerError };

export interface TextTokenizer {
  /** Token ids with the model's special tokens (BERT: [CLS] … [SEP]; GPT-2: none). */
  encode(text: string, pair?: string): { ids: number[]; typeIds: number[] };
  decode(ids: number[]): string;
  /** Padding id for encoder batches; end-of-text id for causal LMs (also their separator between documents). */
  padId: number;
  eosId: number | null;
  vocabSize: number;
}

const parseJson = (text: string, file: string) => parseJsonObject(text, file, TokenizerError);

const isId = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;

/** One more than the largest id the tokenizer can produce: ids of model.vocab (a map, or Unigram's list) and of
 * added_tokens. The model must have an embedding row for each. */
function idCount(json: Record<string, unknown>): number {
  const vocab = (json.model as { vocab?: unknown }).vocab;
  let n = 0;
  if (Array.isArray(vocab)) n = vocab.length;
  else if (vocab && typeof vocab === 'object') {
    for (const [token, id] of Object.entries(vocab)) {
      if (!isId(id)) {
        throw new TokenizerError(
          'tokenizer.json',
          'model.vocab',
          `tokenizer.json: token ${JSON.stringify(token).slice(0, 40)} has id ${JSON.stringify(id)}, ` +
            'not a non-negative integer. Use an unmodified tokenizer.json.',
        );
      }
      if (id >= n) n = id + 1;
    }
  }
  const added = json.added_tokens ?? [];
  if (!Array.isArray(added)) {
    throw new TokenizerError(
      'tokenizer.json',
      'added_tokens',
      'tokenizer.json: "added_tokens" is not a list. Use an unmodified tokenizer.json.',
    );
  }
  for (const a of added) {
    const id = (a as { id?: unknown } | null)?.id;
    if (!isId(id)) {
      throw new TokenizerError(
        'tokenizer.json',
        'added_tokens',
        `tokenizer.json: an added token has id ${JSON.stringify(id)}, not a non-negative integer. ` +
          'Use an unmodified tokenizer.json.',
      );
    }
    if (id >= n) n = id + 1;
  }
  return n;
}

/** Refuses a tokenizer that can produce ids the model has no embedding for (a tokenizer from another model). */
export function checkTokenizerFits(
  tokenizer: Pick<TextTokenizer, 'vocabSize'>,
  model: { vocabSize: number; embedding: string; rows: number },
): void {
  if (tokenizer.vocabSize <= model.vocabSize) return;
  throw new TokenizerError(
    'tokenizer.json',
    'model.vocab',
    `tokenizer.json: produces token ids up to ${tokenizer.vocabSize - 1} (${tokenizer.vocabSize} ids), ` +
      `but the model knows only ${model.vocabSize}: config.json gives vocab_size ${model.vocabSize} and ` +
      `model.safetensors' ${model.embedding} has ${model.rows} rows. ` +
      'The tokenizer belongs to another model: use the tokenizer.json that came with these weights.',
  );
}

/** Builds the tokenizer; `configText` (tokenizer_config.json) is optional as in transformers. */
export function loadTokenizer(jsonText: string, configText: string | null): TextTokenizer {
  const json = parseJson(jsonText, 'tokenizer.json');
  const config = configText ? parseJson(configText, 'tokenizer_config.json') : {};
  if (!json.model || typeof json.model !== 'object') {
    throw new TokenizerError(
      'tokenizer.json',
      'model',
      'tokenizer.json: the "model" section is missing; this is not a Hugging Face fast-tokenizer file.',
    );
  }
  let tok: Tokenizer;
  try {
    tok = new Tokenizer(json, config);
  } catch (e) {
    throw new TokenizerError(
      'tokenizer.json',
      'model',
      `tokenizer.json: could not be loaded (${(e as Error).message}).`,
    );
  }
  const vocabSize = idCount(json);
  const idOf = (key: string): number | null => {
    const t = config[key];
    const content = typeof t === 'string' ? t : (t as { content?: string } | undefined)?.content;
    return content ? (tok.token_to_id(content) ?? null) : null;
  };
  const eosId = idOf('eos_token') ?? idOf('sep_token');
  const padId = idOf('pad_token') ?? eosId ?? 0;
  return {
    encode(text, pair) {
      const e = tok.encode(text, { text_pair: pair ?? null, return_token_type_ids: true });
      return { ids: e.ids, typeIds: e.token_type_ids ?? e.ids.map(() => 0) };
    },
    decode: (ids) => (ids.length ? tok.decode(ids, { skip_special_tokens: false }) : ''),
    padId,
    eosId,
    vocabSize,
  };
}
