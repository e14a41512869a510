#!/usr/bin/env node
// tools/check_tokenizers.mjs — loads every public/models/*/tokenizer.json with @huggingface/tokenizers (as the app does)
// and checks vocab size against config.json, special ids, encode/decode round-trips. Fast; no corpora needed.
//   node tools/check_tokenizers.mjs
import fs from 'node:fs';
import path from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const M = path.join(ROOT, 'public/models');
const read = (...p) => JSON.parse(fs.readFileSync(path.join(M, ...p), 'utf8'));
let fail = 0;
const check = (c, msg) => {
  if (!c) {
    fail++;
    console.error('FAIL', msg);
  }
};
for (const name of fs.readdirSync(M).sort()) {
  if (!fs.existsSync(path.join(M, name, 'tokenizer.json'))) continue;
  const tok = new Tokenizer(read(name, 'tokenizer.json'), read(name, 'tokenizer_config.json'));
  const cfg = fs.existsSync(path.join(M, name, 'config.json')) ? read(name, 'config.json') : null;
  const V = tok.get_vocab(true).size;
  if (cfg) check(cfg.vocab_size === V, `${name}: config vocab_size ${cfg.vocab_size} == tokenizer ${V}`);
  const samples = [
    'Call me Ishmael. Some years ago—never mind how long precisely.',
    'naïve café 🤗 “quoted” it’s 12,345.',
  ];
  if (read(name, 'tokenizer.json').model.type === 'BPE') {
    for (const s of samples) {
      check(tok.decode(tok.encode(s, { add_special_tokens: false }).ids) === s, `${name}: round-trip ${s}`);
    }
    // the end-of-text token is one id, config.json's eos_token_id (gpt2: <|endoftext|> = V - 1)
    const eos = read(name, 'tokenizer_config.json').eos_token;
    const eosId = cfg ? cfg.eos_token_id : V - 1;
    check(tok.encode(`end${eos}`, { add_special_tokens: false }).ids.at(-1) === eosId, `${name}: ${eos} = ${eosId}`);
    // a BOS added by the post-processor (Llama 3 style) must be config.json's bos_token_id; GPT-2 adds nothing
    const withSpecials = tok.encode(samples[0]).ids;
    const bosAdded = withSpecials.length !== tok.encode(samples[0], { add_special_tokens: false }).ids.length;
    if (bosAdded) check(cfg && withSpecials[0] === cfg.bos_token_id, `${name}: encode prepends bos_token_id`);
    const e = tok.encode(samples[0]);
    console.log(
      `${name}: BPE vocab ${V}; "${samples[0]}" -> ${e.ids.length} ids [${e.ids.slice(0, 12).join(',')},...]`,
    );
  } else {
    const e = tok.encode('Call me Ishmael.', { text_pair: 'The whale!', return_token_type_ids: true });
    check(
      e.ids[0] === 2 && e.ids.at(-1) === 3 && tok.token_to_id('[PAD]') === 0 && tok.token_to_id('[MASK]') === 4,
      `${name}: specials`,
    );
    const e1 = tok.encode(samples[1]);
    check(
      e1.tokens.join(' ') === '[CLS] na ##ive ca ##fe [UNK] “ quo ##ted ” it ’ s 12 , 3 ##4 ##5 . [SEP]',
      `${name}: ${e1.tokens.join(' ')}`,
    );
    check(
      tok.decode(e1.ids, { skip_special_tokens: true }) === 'naive cafe “ quoted ” it ’ s 12, 345.',
      `${name}: decode (accents stripped)`,
    );
    console.log(
      `${name}: WordPiece vocab ${V}; ${e.tokens.join(' ')} -> ${e.ids.join(',')} types ${e.token_type_ids.join('')}`,
    );
  }
}
if (fail) process.exit(1);
console.log('all tokenizers OK');
