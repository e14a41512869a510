#!/usr/bin/env node
// Builds the bundled instruction-tuning demo public/datasets/instruct-demo.jsonl and its held-out prompts
// public/datasets/instruct-demo-heldout.jsonl, and writes their section of public/datasets/README.md. Needs nothing
// but Node: every question and answer is written here (word lists below), so the same script gives the same bytes.
//
// Every assistant answer has one fixed format, `ANSWER: <word>.` (one lower-case word, then a full stop),
// which a model pretrained on plain prose never writes after a question: a short instruction-tuning run that teaches
// it shows up as a changed format rate (src/bench/sftFormat.ts). Each fact's items are split between the two files
// (every fifth item held out), so a held-out prompt never asks a question the training file answers.
//   node tools/make_instruct_demo.mjs
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const OUT = path.join(ROOT, 'public/datasets');
const SEED = 20240805;
const SECTION = '## instruct-demo.jsonl';

// mulberry32, the same generator as src/tensor/rng.ts and tools/make_datasets.mjs.
function rng(seed) {
  let s = seed >>> 0;
  const next = () => {
    let t = (s = (s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    pick: (xs) => xs[Math.floor(next() * xs.length)],
    chance: (p) => next() < p,
    shuffle: (xs) => {
      for (let i = xs.length - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1));
        [xs[i], xs[j]] = [xs[j], xs[i]];
      }
      return xs;
    },
  };
}

const pairs = (s) => s.split(',').map((p) => p.trim().split(' '));
const OPPOSITES = pairs(
  'hot cold, big small, up down, day night, old young, fast slow, wet dry, dark light, open shut, early late, ' +
    'full empty, high low, hard soft, long short, rich poor, loud quiet, near far, strong weak, thick thin, ' +
    'happy sad, good bad, first last, in out, left right, north south, east west, black white, heavy light, ' +
    'clean dirty, deep shallow, wide narrow, sweet sour, true false, alive dead, above below, win lose, ' +
    'buy sell, push pull, give take, come go, laugh cry, begin end, before after, friend enemy, love hate',
);
const PLURALS = pairs(
  'whale whales, ship ships, boat boats, sailor sailors, captain captains, man men, woman women, child children, ' +
    'foot feet, tooth teeth, mouse mice, goose geese, knife knives, wife wives, leaf leaves, wolf wolves, ' +
    'box boxes, church churches, city cities, story stories, sea seas, wave waves, island islands, harbour harbours, ' +
    'sheep sheep, fish fish, ox oxen, hand hands, eye eyes, book books, bird birds, cloud clouds, star stars, ' +
    'glass glasses, bush bushes, baby babies, lady ladies, day days, key keys, rope ropes, sail sails, mast masts',
);
const PAST = pairs(
  'go went, see saw, eat ate, run ran, sail sailed, walk walked, swim swam, sing sang, drink drank, write wrote, ' +
    'speak spoke, take took, give gave, come came, find found, think thought, bring brought, buy bought, ' +
    'catch caught, teach taught, fly flew, know knew, grow grew, throw threw, draw drew, sleep slept, keep kept, ' +
    'feel felt, leave left, make made, hear heard, tell told, sell sold, stand stood, sit sat, win won, ' +
    'look looked, jump jumped, pull pulled, call called, fall fell, hold held, read read, cut cut',
);
const COLOURS = pairs(
  'grass green, snow white, coal black, blood red, the_sky blue, a_lemon yellow, an_orange orange, milk white, ' +
    'a_crow black, a_banana yellow, a_tomato red, a_leaf green, the_sea blue, ink black, chalk white, ' +
    'a_cherry red, butter yellow, a_frog green, night black, a_rose red, salt white, a_pea green, gold yellow, ' +
    'a_raven black, a_ruby red, ivory white, an_emerald green, a_sapphire blue, soot black, the_sun yellow',
).map(([t, c]) => [t.replace(/_/g, ' '), c]);
const KINDS = pairs(
  'whale animal, shark animal, horse animal, dog animal, cat animal, bird animal, seal animal, crab animal, ' +
    'cow animal, lion animal, bear animal, owl animal, rose plant, oak plant, pine plant, grass plant, ' +
    'fern plant, tulip plant, moss plant, palm plant, cactus plant, daisy plant, ivy plant, willow plant, ' +
    'hammer tool, saw tool, knife tool, axe tool, spade tool, chisel tool, drill tool, needle tool, ' +
    'harpoon tool, wrench tool, rake tool, file tool, bread food, cheese food, apple food, rice food, ' +
    'soup food, egg food, meat food, cake food, pie food, honey food',
);
const NUMBERS =
  'zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen ' +
  'eighteen nineteen twenty';
const NUMS = NUMBERS.split(' ');
const AFTER = NUMS.slice(0, -1).map((n, i) => [n, NUMS[i + 1]]);
const LETTER_WORDS = [...new Set([...OPPOSITES.flat(), ...PLURALS.map((p) => p[0]), ...PAST.map((p) => p[0])])]
  .filter((w) => w.length >= 3)
  .slice(0, 60)
  .map((w) => [w, w[0]]);

/** One fact each: its question phrasings ({x} the item) and its items [item, answer]. */
const FACTS = [
  {
    name: 'opposites',
    items: OPPOSITES,
    ask: [
      'What is the opposite of {x}?',
      'Give the opposite of the word "{x}".',
      'Which word means the reverse of {x}?',
    ],
  },
  {
    name: 'plurals',
    items: PLURALS,
    ask: ['What is the plural of {x}?', 'How do you write more than one {x}?', 'Give the plural form of "{x}".'],
  },
  {
    name: 'past tense',
    items: PAST,
    ask: ['What is the past tense of {x}?', 'Past tense of "{x}"?', 'Put "{x}" in the past.'],
  },
  {
    name: 'colours',
    items: COLOURS,
    ask: ['What colour is {x}?', 'Name the colour of {x}.', 'Which colour do you think of for {x}?'],
  },
  {
    name: 'kinds',
    items: KINDS,
    ask: ['Animal, plant, tool or food: {x}?', 'What kind of thing is "{x}"?', 'Sort this: {x}.'],
  },
  {
    name: 'numbers',
    items: AFTER,
    ask: ['Which number comes after {x}?', 'Count on by one from {x}.', 'What is {x} plus one, in words?'],
  },
  {
    name: 'first letters',
    items: LETTER_WORDS,
    ask: ['What is the first letter of "{x}"?', 'Which letter does the word {x} start with?'],
  },
];
const SYSTEM = ['Answer every question with one word.', 'Reply in the answer format.', 'Be brief.'];

function rows(kind, r) {
  const out = [];
  for (const f of FACTS) {
    f.items.forEach(([x, a], i) => {
      if ((i % 5 === 4) !== (kind === 'heldout')) return;
      const messages = [];
      // About a third of the training rows carry a system prompt; held-out prompts never do.
      if (kind === 'train' && r.chance(0.3)) messages.push({ role: 'system', content: r.pick(SYSTEM) });
      messages.push({ role: 'user', content: r.pick(f.ask).replace('{x}', x) });
      messages.push({ role: 'assistant', content: `ANSWER: ${a}.` });
      out.push({ fact: f.name, messages });
    });
  }
  return r.shuffle(out);
}

const r = rng(SEED);
const train = rows('train', r),
  heldout = rows('heldout', r);
const jsonl = (xs) => Buffer.from(xs.map((x) => `${JSON.stringify({ messages: x.messages })}\n`).join(''), 'utf8');
const files = { 'instruct-demo.jsonl': jsonl(train), 'instruct-demo-heldout.jsonl': jsonl(heldout) };
for (const [name, bytes] of Object.entries(files)) fs.writeFileSync(path.join(OUT, name), bytes);

const sha256 = (buf) => crypto.createHash('sha256').update(buf).digest('hex');
const byFact = (xs) => FACTS.map((f) => `${f.name} ${xs.filter((x) => x.fact === f.name).length}`).join(', ');
const section = `${SECTION} — instruction-tuning demo (answer format)

- Source: written for this repository by \`node tools/make_instruct_demo.mjs\` (no downloads; deterministic). Licence:
  CC0-1.0 (public-domain dedication); the words and facts are common English.
- Rows: JSON Lines \`{"messages": [{"role": "user", ...}, {"role": "assistant", ...}]}\`; about a third of the rows
  start with a system turn (one of ${SYSTEM.length} short instructions). Every assistant turn is \`ANSWER: <word>.\`
  (one lower-case word and a full stop): a fixed format the bundled base models never write, so a short
  instruction-tuning run visibly changes their answers (docs/results.md, "Instruction tuning").
- Questions: ${FACTS.length} kinds of simple fact, each asked in 2-3 phrasings picked with mulberry32 seed ${SEED}:
  ${FACTS.map((f) => f.name).join(', ')}. Every fifth item of each list is held out.
- instruct-demo.jsonl: ${train.length} rows for training.
  - By kind: ${byFact(train)}.
  - Size: ${files['instruct-demo.jsonl'].length} bytes.
  - sha256: \`${sha256(files['instruct-demo.jsonl'])}\`
- instruct-demo-heldout.jsonl: ${heldout.length} rows, the held-out items (no question of the training file), without
  system turns; for measuring format following, not for training.
  - By kind: ${byFact(heldout)}.
  - Size: ${files['instruct-demo-heldout.jsonl'].length} bytes.
  - sha256: \`${sha256(files['instruct-demo-heldout.jsonl'])}\`
`;
const readmePath = path.join(OUT, 'README.md');
const readme = fs.readFileSync(readmePath, 'utf8');
const at = readme.indexOf(SECTION);
// The section runs to the next "## " heading (or the end); tools/make_datasets.mjs keeps it when it rewrites the rest.
const end = at < 0 ? -1 : readme.indexOf('\n## ', at + SECTION.length);
const next =
  at < 0
    ? `${readme.trimEnd()}\n\n${section}`
    : `${readme.slice(0, at)}${section}${end < 0 ? '' : readme.slice(end + 1).replace(/^/, '\n')}`;
fs.writeFileSync(readmePath, next);
console.log(`[make_instruct_demo] ${train.length} training rows, ${heldout.length} held-out rows`);
