#!/usr/bin/env node
// tools/tokenize.mjs — stdin JSON {dir, texts, add_special_tokens} -> stdout JSON [Encoding...]
//                      or {dir, decode: [[ids...]...]} -> stdout JSON [string...]
// Encodes with @huggingface/tokenizers (the library the app uses) from public/models/<dir>/tokenizer{,_config}.json.
// Used by the Python tools (common.tokenize) so golden inputs are tokenized exactly as in the browser.
import fs from 'node:fs';
import path from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const req = JSON.parse(fs.readFileSync(0, 'utf8'));
const dir = path.isAbsolute(req.dir) ? req.dir : path.join(ROOT, 'public/models', req.dir);
const tok = new Tokenizer(
  JSON.parse(fs.readFileSync(path.join(dir, 'tokenizer.json'), 'utf8')),
  JSON.parse(fs.readFileSync(path.join(dir, 'tokenizer_config.json'), 'utf8')),
);
const out = req.decode
  ? req.decode.map((ids) => tok.decode(ids, { skip_special_tokens: false }))
  : req.texts.map((t) =>
      tok.encode(t, { add_special_tokens: req.add_special_tokens ?? true, return_token_type_ids: true }),
    );
process.stdout.write(JSON.stringify(out));
