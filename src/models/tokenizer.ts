// Tokenizers from tokenizer.json + tokenizer_config.json through @huggingface/tokenizers (pure JS, no fetch).

import { Tokenizer } from '@huggingface/tokenizers';
import { ModelFormatError } from './errors';

export class TokenizerError extends ModelFormatError {}

export interface TextTokenizer {
  /** Token ids with the model's special tokens (BERT: [CLS] … [SEP]; GPT-2: none). */
  encode(text: string, pair?: string): { ids: number[]; typeIds: number[] };
  decode(ids: number[]): string;
  /** Padding id for encoder batches; end-of-text id for causal LMs (also their separator between documents). */
  padId: number;
  eosId: number | null;
  vocabSize: number;
}

function parseJson(text: string, file: string): Record<string, unknown> {
  const head = text.trimStart().slice(0, 20).toLowerCase();
  if (head.startsWith('<!doctype') || head.startsWith('<html')) {
    throw new TokenizerError(file, '(file)', `${file}: got an HTML page instead of JSON; check the URL or hub id.`);
  }
  try {
    const v = JSON.parse(text);
    if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error('not an object');
    return v;
  } catch (e) {
    throw new TokenizerError(file, '(file)', `${file}: not a valid JSON object (${(e as Error).message}).`);
  }
}

/** Builds the tokenizer; `configText` (tokenizer_config.json) is optional as in transformers. */
export function loadTokenizer(jsonText: string, configText: string | null): TextTokenizer {
  const json = parseJson(jsonText, 'tokenizer.json');
  const config = configText ? parseJson(configText, 'tokenizer_config.json') : {};
  if (!json.model || typeof json.model !== 'object') {
    throw new TokenizerError('tokenizer.json', 'model', 'tokenizer.json: the "model" section is missing; this is not a Hugging Face fast-tokenizer file.');
  }
  let tok: Tokenizer;
  try {
    tok = new Tokenizer(json, config);
  } catch (e) {
    throw new TokenizerError('tokenizer.json', 'model', `tokenizer.json: could not be loaded (${(e as Error).message}).`);
  }
  const vocab = (json.model as { vocab?: Record<string, number> | unknown[] }).vocab;
  const added = (json.added_tokens as { id: number }[] | undefined) ?? [];
  const vocabSize = Math.max(vocab ? (Array.isArray(vocab) ? vocab.length : Object.keys(vocab).length) : 0, ...added.map((a) => a.id + 1));
  const idOf = (key: string): number | null => {
    const t = config[key];
    const content = typeof t === 'string' ? t : (t as { content?: string } | undefined)?.content;
    return content ? tok.token_to_id(content) ?? null : null;
  };
  const eosId = idOf('eos_token') ?? idOf('sep_token');
  const padId = idOf('pad_token') ?? eosId ?? 0;
  return {
    encode(text, pair) {
      const e = tok.encode(text, { text_pair: pair ?? null, return_token_type_ids: true });
      return { ids: e.ids, typeIds: e.token_type_ids ?? e.ids.map(() => 0) };
    },
    decode: (ids) => (ids.length ? tok.decode(ids, { skip_special_tokens: false }) : ''),
    padId, eosId, vocabSize,
  };
}
