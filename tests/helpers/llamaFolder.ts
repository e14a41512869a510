// A loadable model folder from a tests/fixtures/llama/<name> fixture: its config.json and model.safetensors copied to
// a temporary folder with a tiny byte-level tokenizer written next to them (ids 0-2 <pad> <s> </s>, 3-258 the bytes,
// `<s>` prepended by the post-processor as Llama 3's), since the fixtures' vocab_size is 300.

import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** GPT-2's bytes_to_unicode(): the printable stand-in of every byte, as ByteLevel pre-tokenizers use. */
function byteChars(): string[] {
  const keep: number[] = [];
  for (let b = 33; b <= 126; b++) keep.push(b);
  for (let b = 161; b <= 172; b++) keep.push(b);
  for (let b = 174; b <= 255; b++) keep.push(b);
  const out: string[] = new Array(256);
  let n = 0;
  for (let b = 0; b < 256; b++) out[b] = String.fromCodePoint(keep.includes(b) ? b : 256 + n++);
  return out;
}

/** tokenizer.json and tokenizer_config.json of the tiny byte-level tokenizer. */
export function tinyTokenizerFiles(): { json: string; config: string } {
  const vocab: Record<string, number> = { '<pad>': 0, '<s>': 1, '</s>': 2 };
  byteChars().forEach((c, b) => {
    vocab[c] = 3 + b;
  });
  const special = (id: number, content: string) => ({
    id,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  });
  const json = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [special(0, '<pad>'), special(1, '<s>'), special(2, '</s>')],
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [
        { SpecialToken: { id: '<s>', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '<s>', type_id: 1 } },
        { Sequence: { id: 'B', type_id: 1 } },
      ],
      special_tokens: { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] } },
    },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges: [],
    },
  };
  const config = { bos_token: '<s>', eos_token: '</s>', pad_token: '<pad>', model_max_length: 2048 };
  return { json: JSON.stringify(json), config: JSON.stringify(config) };
}

/** A temporary folder holding fixture `name`'s config.json and model.safetensors plus the tiny tokenizer. */
export function llamaFolder(name: string): string {
  const src = new URL(`../fixtures/llama/${name}/`, import.meta.url).pathname;
  const dir = mkdtempSync(join(tmpdir(), `dynrank-${name}-`));
  for (const f of ['config.json', 'model.safetensors']) copyFileSync(join(src, f), join(dir, f));
  const tok = tinyTokenizerFiles();
  writeFileSync(join(dir, 'tokenizer.json'), tok.json);
  writeFileSync(join(dir, 'tokenizer_config.json'), tok.config);
  return dir;
}
