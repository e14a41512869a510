// Chat templates and the tokenizer view instruction tuning needs. A conversation is rendered with the model's Jinja
// `chat_template` (tokenizer_config.json or chat_template.jinja) through @huggingface/jinja, with the variables
// transformers' `apply_chat_template` passes, and tokenized without adding special tokens again (the template writes
// them). A model without a template gets FALLBACK_CHAT_TEMPLATE.

import { Template } from '@huggingface/jinja';
import { Tokenizer } from '@huggingface/tokenizers';
import { DownloadError, type ModelSource } from '../../models/sources';
import { TokenizerError } from '../../models/tokenizer';

export type ChatRole = 'system' | 'user' | 'assistant';

export interface ChatMessage {
  role: ChatRole;
  content: string;
}

/**
 * The template used when the model has none: a system message as plain text, then `### User:\n…` and
 * `### Assistant:\n…` blocks separated by a blank line; an assistant turn ends with the eos token (none when the
 * tokenizer has no eos). The generation prompt is `\n\n### Assistant:\n` (without the blank line when nothing precedes
 * it), so the trainable part of an assistant turn is exactly its content followed by eos.
 */
export const FALLBACK_CHAT_TEMPLATE =
  '{% for message in messages %}' +
  "{% if not loop.first %}{{ '\\n\\n' }}{% endif %}" +
  "{% if message['role'] == 'system' %}{{ message['content'] }}" +
  "{% elif message['role'] == 'user' %}{{ '### User:\\n' + message['content'] }}" +
  "{% elif message['role'] == 'assistant' %}" +
  "{{ '### Assistant:\\n' + message['content'] }}{% if eos_token is defined %}{{ eos_token }}{% endif %}" +
  "{% else %}{{ raise_exception('Unknown role: ' + message['role']) }}{% endif %}" +
  '{% endfor %}' +
  "{% if add_generation_prompt %}{% if messages | length > 0 %}{{ '\\n\\n' }}{% endif %}" +
  "{{ '### Assistant:\\n' }}{% endif %}";

/** Where the template in use came from. */
type TemplateOrigin = 'chat_template.jinja' | 'tokenizer_config.json' | 'fallback';

export interface ChatTemplate {
  source: string;
  origin: TemplateOrigin;
  /** The entry of a named-template list that was picked ('default' unless asked otherwise); null for a single one. */
  name: string | null;
  /** Renders `messages`; throws TemplateRenderError when the template raises or fails on them. */
  render(messages: ChatMessage[], opts: { addGenerationPrompt: boolean }): string;
}

/** The template raised (raise_exception) or failed on one conversation; the conversation is bad, not the model. */
export class TemplateRenderError extends Error {
  override name = 'TemplateRenderError';
}

const SPECIAL_KEYS = ['bos_token', 'eos_token', 'unk_token', 'sep_token', 'pad_token', 'cls_token', 'mask_token'];

function tokenContent(t: unknown): string | null {
  if (typeof t === 'string') return t;
  if (t && typeof t === 'object' && typeof (t as { content?: unknown }).content === 'string') {
    return (t as { content: string }).content;
  }
  return null;
}

/**
 * The special-token variables transformers passes to a template (its `special_tokens_map`): each of bos/eos/unk/sep/
 * pad/cls/mask_token that tokenizer_config.json sets, as a string, and `additional_special_tokens` as a list.
 */
export function specialTokenVariables(config: Record<string, unknown>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const k of SPECIAL_KEYS) {
    const c = tokenContent(config[k]);
    if (c !== null) out[k] = c;
  }
  const extra = config.additional_special_tokens;
  if (Array.isArray(extra) && extra.length) {
    out.additional_special_tokens = extra.map(tokenContent).filter((c): c is string => c !== null);
  }
  return out;
}

export interface TemplateOptions {
  /** The text of a `chat_template.jinja` file next to the tokenizer; it wins over tokenizer_config.json. */
  jinjaFile?: string | null;
  /** Which entry of a named-template list to use; default 'default' (as transformers without tools). */
  name?: string;
}

/**
 * The model's chat template: chat_template.jinja if given, else tokenizer_config.json's `chat_template` (a string,
 * or a list of `{name, template}` from which `opts.name` or 'default' is picked, as transformers does), else the
 * fallback. A list without the wanted name is a TokenizerError naming the names there are.
 */
export function chatTemplateFrom(config: Record<string, unknown>, opts: TemplateOptions = {}): ChatTemplate {
  const file = 'tokenizer_config.json';
  let source: string,
    origin: TemplateOrigin,
    name: string | null = null;
  const raw = config.chat_template;
  if (typeof opts.jinjaFile === 'string' && opts.jinjaFile.trim() !== '') {
    source = opts.jinjaFile;
    origin = 'chat_template.jinja';
  } else if (typeof raw === 'string' && raw.trim() !== '') {
    source = raw;
    origin = file;
  } else if (Array.isArray(raw)) {
    const named = new Map<string, string>();
    for (const e of raw) {
      const n = (e as { name?: unknown })?.name,
        t = (e as { template?: unknown })?.template;
      if (typeof n !== 'string' || typeof t !== 'string') {
        throw new TokenizerError(
          file,
          'chat_template',
          `${file}: "chat_template" is a list whose entries must be ` +
            '{"name": ..., "template": ...} objects; fix the entry or replace the list with one template string.',
        );
      }
      named.set(n, t);
    }
    name = opts.name ?? 'default';
    const picked = named.get(name);
    if (picked === undefined) {
      throw new TokenizerError(
        file,
        'chat_template',
        `${file}: the model has chat templates named ` +
          `${[...named.keys()].map((k) => `"${k}"`).join(', ')} but none named "${name}"; pick one of them by name.`,
      );
    }
    source = picked;
    origin = file;
  } else if (raw === undefined || raw === null || raw === '') {
    source = FALLBACK_CHAT_TEMPLATE;
    origin = 'fallback';
  } else {
    throw new TokenizerError(
      file,
      'chat_template',
      `${file}: "chat_template" must be a string or a list of ` +
        `{"name", "template"} objects, not ${typeof raw}; fix or remove it.`,
    );
  }
  let compiled: Template;
  try {
    compiled = new Template(source);
  } catch (e) {
    throw new TokenizerError(
      origin === 'fallback' ? '(fallback)' : origin,
      'chat_template',
      `${origin}: the chat template cannot be parsed (${(e as Error).message}); fix the template.`,
    );
  }
  const specials = specialTokenVariables(config);
  return {
    source,
    origin,
    name,
    render(messages, { addGenerationPrompt }) {
      try {
        return compiled.render({
          ...specials,
          messages: messages.map((m) => ({ role: m.role, content: m.content })),
          add_generation_prompt: addGenerationPrompt,
          tools: null,
          documents: null,
        });
      } catch (e) {
        // @huggingface/jinja defines raise_exception (and strftime_now) itself; what it raises lands here too.
        throw new TemplateRenderError(`the chat template rejected this conversation: ${(e as Error).message}`);
      }
    },
  };
}

/** A tokenizer for rendered chat text: special tokens are only those the text spells out. */
export interface ChatTokenizer {
  encode(text: string): number[];
  decode(ids: number[]): string;
  /** pad_token, else eos_token, else 0 (as the encoder batches do). */
  padId: number;
  eosId: number | null;
  bosId: number | null;
  /** tokenizer_config.json as an object ({} when there is none). */
  config: Record<string, unknown>;
}

function parseObject(text: string, file: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new TokenizerError(file, '(file)', `${file}: not valid JSON (${(e as Error).message}).`);
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) {
    throw new TokenizerError(file, '(file)', `${file}: expected a JSON object.`);
  }
  return v as Record<string, unknown>;
}

export interface ChatTokenizerOptions {
  /** The model's config.json as an object: its eos_token_id names the eos when tokenizer_config.json does not. */
  modelConfig?: Record<string, unknown> | null;
}

/** The first id of config.json's `eos_token_id` (an integer or a list of them), or null. */
function modelEosId(modelConfig: Record<string, unknown> | null | undefined): number | null {
  const v = modelConfig?.eos_token_id;
  const id = Array.isArray(v) ? v[0] : v;
  return typeof id === 'number' && Number.isInteger(id) && id >= 0 ? id : null;
}

/**
 * Builds the chat tokenizer from tokenizer.json and the optional tokenizer_config.json. When tokenizer_config.json
 * sets no eos_token (GPT-2's hub files, or no tokenizer_config.json at all), the token that config.json's
 * eos_token_id names is the eos, for the template's `eos_token` as well: it ends each answer of the fallback template,
 * as transformers' GPT-2 tokenizer has <|endoftext|> as its eos by default.
 */
export function loadChatTokenizer(
  jsonText: string,
  configText: string | null,
  opts: ChatTokenizerOptions = {},
): ChatTokenizer {
  const json = parseObject(jsonText, 'tokenizer.json');
  let config = configText ? parseObject(configText, 'tokenizer_config.json') : {};
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
  const modelEos = modelEosId(opts.modelConfig);
  const modelEosToken = modelEos === null ? null : (tok.id_to_token(modelEos) ?? null);
  if (tokenContent(config.eos_token) === null && modelEosToken !== null) {
    config = { ...config, eos_token: modelEosToken };
  }
  const idOf = (key: string): number | null => {
    const c = tokenContent(config[key]);
    return c === null ? null : (tok.token_to_id(c) ?? null);
  };
  const eosId = idOf('eos_token');
  return {
    encode: (text) => (text ? tok.encode(text, { add_special_tokens: false }).ids : []),
    decode: (ids) =>
      ids.length ? tok.decode(ids, { skip_special_tokens: false, clean_up_tokenization_spaces: false }) : '',
    padId: idOf('pad_token') ?? eosId ?? 0,
    eosId,
    bosId: idOf('bos_token'),
    config,
  };
}

/** What instruction tuning renders with: the model's chat tokenizer and template. */
export interface ModelChat {
  tokenizer: ChatTokenizer;
  template: ChatTemplate;
}

/**
 * The model's chat tokenizer and template from its files: tokenizer.json (required), tokenizer_config.json,
 * chat_template.jinja and config.json (optional; a server that answers for a missing one with its HTML page counts as
 * absent; config.json gives the eos when tokenizer_config.json has none). `templateName` picks an entry of a
 * named-template list.
 */
export async function chatFromSource(src: ModelSource, templateName?: string): Promise<ModelChat> {
  const optional = async (file: string): Promise<string | null> => {
    try {
      const bytes = await src.get(file, true);
      const text = bytes ? new TextDecoder().decode(bytes) : null;
      return text !== null && /^\uFEFF?\s*<(!doctype\s+html|html[\s>])/i.test(text) ? null : text;
    } catch (e) {
      if (e instanceof DownloadError && /HTML page/.test(e.message)) return null;
      throw e;
    }
  };
  const [json, config, jinja, modelConfig] = await Promise.all([
    src.get('tokenizer.json'),
    optional('tokenizer_config.json'),
    optional('chat_template.jinja'),
    optional('config.json'),
  ]);
  const tokenizer = loadChatTokenizer(new TextDecoder().decode(json!), config, {
    modelConfig: modelConfig === null ? null : parseObject(modelConfig, 'config.json'),
  });
  return { tokenizer, template: chatTemplateFrom(tokenizer.config, { jinjaFile: jinja, name: templateName }) };
}

/** Whether `content` is a special token of tokenizer_config.json's added_tokens_decoder. */
function isSpecialToken(config: Record<string, unknown>, content: string): boolean {
  const added = config.added_tokens_decoder;
  if (!added || typeof added !== 'object') return false;
  return Object.values(added as Record<string, unknown>).some(
    (t) => tokenContent(t) === content && (t as { special?: unknown }).special === true,
  );
}

/**
 * The ids that end an assistant's answer: the tokenizer's eos token, and the template's end-of-turn token, the first
 * token the template writes after an assistant's content when it is a special token (ChatML's <|im_end|>).
 */
export function endOfTurnIds(chat: ModelChat): number[] {
  const ids = new Set<number>();
  if (chat.tokenizer.eosId !== null) ids.add(chat.tokenizer.eosId);
  const marker = '\u0001answer\u0001';
  let rendered: string;
  try {
    rendered = chat.template.render(
      [
        { role: 'user', content: 'question' },
        { role: 'assistant', content: marker },
      ],
      { addGenerationPrompt: false },
    );
  } catch (e) {
    if (e instanceof TemplateRenderError) return [...ids];
    throw e;
  }
  const at = rendered.indexOf(marker);
  const after = at < 0 ? [] : chat.tokenizer.encode(rendered.slice(at + marker.length));
  if (after.length && isSpecialToken(chat.tokenizer.config, chat.tokenizer.decode([after[0]]))) ids.add(after[0]);
  return [...ids];
}
