// `npm run experiment:sft`: does a short instruction-tuning run change what llama-demo writes? Trains
// public/models/llama-demo on public/datasets/instruct-demo.jsonl with dynamic rank and with LoRA for several seeds on
// the CPU backend, and answers the held-out prompts (instruct-demo-heldout.jsonl) greedily through the chat template
// with the base model and the adapted one every --probe-every steps; reports the fraction of answers in the set's
// format (src/bench/sftFormat.ts). With --write the table replaces the "Instruction tuning" section of
// docs/results.md (between its markers); otherwise it is only printed.
//   npm run experiment:sft -- [--steps 40] [--seeds 1,2,3] [--probe-every 10] [--methods dora,lora] [--lr X] [--write]
// The format appears within 20-40 steps (docs/results.md); each run takes minutes on the CPU backend.

import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { readEosIds } from '../models/generate';
import { loadModel } from '../models/load';
import { dirSource } from '../models/node';
import { CpuBackend } from '../tensor/cpu';
import { chatTemplateFrom, loadChatTokenizer } from '../train/data/chat';
import { createTrainer, DEFAULT_RUN, prepareData, type RunConfig, runSteps, type SftChat } from '../train/run';
import { FORMAT_EXACT, FORMAT_START, type HeldOutPrompt, heldOutPrompts, trainerFormatRates } from './sftFormat';

const MODEL = 'public/models/llama-demo';
const TRAIN = 'public/datasets/instruct-demo.jsonl';
const HELD_OUT = 'public/datasets/instruct-demo-heldout.jsonl';
const RESULTS = 'docs/results.md';
const START = '<!-- sft-format:start -->';
const END = '<!-- sft-format:end -->';
const MAX_TOKENS = 12;

const METHODS: Record<string, { label: string; cfg: Partial<RunConfig> }> = {
  dora: { label: 'dynamic rank b(T)=4 (R0=6)', cfg: { method: 'dora', budget: 4, r0: 6, lr: 1e-2 } },
  lora: { label: 'LoRA r=4', cfg: { method: 'lora', rank: 4, lr: 1e-2 } },
};

const { values: args } = parseArgs({
  options: {
    steps: { type: 'string', default: '40' },
    seeds: { type: 'string', default: '1,2,3' },
    'probe-every': { type: 'string', default: '10' },
    methods: { type: 'string', default: 'dora,lora' },
    lr: { type: 'string' },
    write: { type: 'boolean', default: false },
  },
});
const STEPS = Number(args.steps),
  PROBE = Number(args['probe-every']);
const SEEDS = args.seeds.split(',').map(Number);
const methodKeys = args.methods.split(',');
for (const k of methodKeys) if (!METHODS[k]) throw new Error(`--methods: unknown method ${k}; use dora, lora`);
if (!(Number.isInteger(STEPS) && STEPS >= 1 && Number.isInteger(PROBE) && PROBE >= 1)) {
  throw new Error('--steps and --probe-every must be positive whole numbers');
}
const lrOverride = args.lr === undefined ? undefined : Number(args.lr);

const text = (f: string) => readFileSync(f, 'utf8');
const pct = (x: number) => `${(100 * x).toFixed(0)}%`;

function chatOf(): SftChat {
  const tokenizer = loadChatTokenizer(text(`${MODEL}/tokenizer.json`), text(`${MODEL}/tokenizer_config.json`));
  return { tokenizer, template: chatTemplateFrom(tokenizer.config) };
}

interface Probe {
  step: number;
  start: number;
  exact: number;
}

async function one(cfg: RunConfig, prompts: HeldOutPrompt[], chat: SftChat) {
  const be = new CpuBackend();
  const src = dirSource(MODEL);
  const model = await loadModel(src, be, { seed: cfg.seed });
  const eosIds = await readEosIds(src, model as never);
  const data = prepareData(model, text(TRAIN), TRAIN, cfg, chat);
  const { trainer, stream, steps } = createTrainer(be, model, data, cfg);
  const base = await trainerFormatRates(trainer, chat, prompts, { maxTokens: MAX_TOKENS, eosIds, base: true });
  const probes: Probe[] = [{ step: 0, start: base.start, exact: base.exact }];
  let last = base;
  while (trainer.step < steps) {
    const until = Math.min(steps, trainer.step + PROBE);
    await runSteps(
      trainer,
      stream,
      steps,
      cfg,
      () => {},
      () => trainer.step >= until,
    );
    last = await trainerFormatRates(trainer, chat, prompts, { maxTokens: MAX_TOKENS, eosIds, base: false });
    probes.push({ step: trainer.step, start: last.start, exact: last.exact });
    process.stderr.write(
      `  step ${trainer.step}: start ${pct(last.start)} exact ${pct(last.exact)}; e.g. ${JSON.stringify(last.answers[0])}\n`,
    );
  }
  return { base, adapted: last, probes, examples: data.summary.examples as number };
}

async function main(): Promise<void> {
  const t0 = performance.now();
  const chat = chatOf();
  const prompts = heldOutPrompts(text(HELD_OUT), HELD_OUT);
  const rows: string[] = [];
  const curves: string[] = [];
  let samples: { prompt: string; base: string; adapted: string }[] = [];
  const probeSteps = Array.from({ length: Math.ceil(STEPS / PROBE) }, (_, i) => Math.min(STEPS, (i + 1) * PROBE));
  for (const key of methodKeys) {
    const m = METHODS[key];
    for (const seed of SEEDS) {
      const cfg: RunConfig = {
        ...DEFAULT_RUN,
        sft: { format: 'messages', trainOnPrompt: false },
        batch: 8,
        steps: STEPS,
        pruneInterval: 5,
        logEvery: 0,
        valFraction: 0,
        seed,
        ...m.cfg,
        ...(lrOverride === undefined ? {} : { lr: lrOverride }),
      };
      process.stderr.write(`${m.label}, seed ${seed}, lr ${cfg.lr}\n`);
      const r = await one(cfg, prompts, chat);
      rows.push(
        `| ${m.label} | ${seed} | ${STEPS} | ${cfg.lr} | ${pct(r.base.start)} / ${pct(r.base.exact)} | ` +
          `${pct(r.adapted.start)} / ${pct(r.adapted.exact)} |`,
      );
      curves.push(`| ${m.label} | ${seed} | ${r.probes.map((p) => `${pct(p.start)} / ${pct(p.exact)}`).join(' | ')} |`);
      if (!samples.length) {
        samples = prompts.slice(0, 4).map((p, i) => ({
          prompt: p.messages.at(-1)!.content,
          base: r.base.answers[i],
          adapted: r.adapted.answers[i],
        }));
      }
      process.stderr.write(`  (${((performance.now() - t0) / 1000).toFixed(0)} s)\n`);
    }
  }
  const minutes = ((performance.now() - t0) / 60000).toFixed(1);
  const quote = (s: string) => `\`${JSON.stringify(s).slice(1, -1).replace(/`/g, "'")}\``;
  const section = [
    START,
    '## Instruction tuning: format following (llama-demo, instruct-demo)',
    '',
    `Generated by \`npm run experiment:sft -- --steps ${STEPS} --seeds ${SEEDS.join(',')} --probe-every ${PROBE} ` +
      `--methods ${methodKeys.join(',')}${lrOverride === undefined ? '' : ` --lr ${lrOverride}`} --write\` ` +
      `(src/bench/sftFormatExperiment.ts) on ${new Date().toISOString().slice(0, 10)}, CPU backend (faster here than ` +
      `Dawn on SwiftShader), ${minutes} min in all. llama-demo trained on all rows of ${TRAIN} ` +
      'with answer-only labels, batch 8, adapter dropout 0.1, the ChatML template of its ' +
      `tokenizer_config.json. Then the ${prompts.length} prompts of ${HELD_OUT} (items the training file never asks ` +
      `about) are answered greedily (at most ${MAX_TOKENS} tokens, stopping at <|end_of_text|> or <|im_end|>) by the ` +
      'base model (adapters off) and the adapted one.',
    '',
    `"start": the answer begins in the format (\`${FORMAT_START.source}\`); "exact": it is exactly the format and ` +
      `stops there (\`${FORMAT_EXACT.source}\`). Rates are start / exact.`,
    '',
    '| method | seed | steps | lr | base | adapted |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows,
    '',
    `Rates of the adapted model during the run (step 0 is the base model), every ${PROBE} steps:`,
    '',
    `| method | seed | 0 | ${probeSteps.join(' | ')} |`,
    `| --- | --- | --- | ${probeSteps.map(() => '---').join(' | ')} |`,
    ...curves,
    '',
    `Answers of the first run (${METHODS[methodKeys[0]].label}, seed ${SEEDS[0]}) to the first held-out prompts:`,
    '',
    '| prompt | base | adapted |',
    '| --- | --- | --- |',
    ...samples.map((s) => `| ${quote(s.prompt)} | ${quote(s.base)} | ${quote(s.adapted)} |`),
    END,
  ].join('\n');
  console.log(section);
  if (args.write) {
    const doc = text(RESULTS);
    const a = doc.indexOf(START),
      b = doc.indexOf(END);
    const next =
      a >= 0 && b > a ? doc.slice(0, a) + section + doc.slice(b + END.length) : `${doc.trimEnd()}\n\n${section}\n`;
    writeFileSync(RESULTS, next);
  }
}

await main();
