// Format checks of model files as they arrive, shared by the parsers and the download cache: a JSON file must hold
// one JSON object (not an HTML page), a safetensors file a valid header whose tensors end at the end of the file.

import { ConfigError, ModelFormatError, TokenizerError } from './errors';
import { parseSafetensors } from './safetensorsRead';

type ErrorClass = new (file: string, field: string, message: string) => ModelFormatError;

/** Parses `text` as one JSON object; an HTML page or invalid JSON is an `Err` naming `file`. */
export function parseJsonObject(text: string, file: string, Err: ErrorClass): Record<string, unknown> {
  const head = text.trimStart().slice(0, 20).toLowerCase();
  if (head.startsWith('<!doctype') || head.startsWith('<html')) {
    throw new Err(
      file,
      '(file)',
      `${file}: got an HTML page instead of JSON; the URL or hub id is probably wrong, or the model is gated.`,
    );
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    const detail = (e as Error).message.slice(0, 200);
    throw new Err(file, '(file)', `${file}: not valid JSON (${detail}). Download the file again.`);
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) {
    const got = Array.isArray(v) ? 'a list' : JSON.stringify(v);
    throw new Err(file, '(file)', `${file}: expected a JSON object, not ${got}.`);
  }
  return v as Record<string, unknown>;
}

/** Throws the reader's typed error when `bytes` cannot be `file`; files of other kinds pass unchecked. */
export function checkModelFile(file: string, bytes: Uint8Array): void {
  if (file.endsWith('.safetensors')) parseSafetensors(bytes, file);
  else if (file.endsWith('.json')) {
    const Err = file === 'config.json' ? ConfigError : file.startsWith('tokenizer') ? TokenizerError : ModelFormatError;
    parseJsonObject(new TextDecoder().decode(bytes), file, Err);
  }
}
