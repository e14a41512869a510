// `dynrank generate` on the bundled gpt2-tiny (CPU backend): greedy output equals generateIds through the library, a
// PEFT LoRA adapter changes it exactly as attaching the adapter does, sampling is reproducible by seed, a
// generation_config.json eos_token_id list in the model folder stops it, and classifiers and bad options are refused.

import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { attachAdapter } from '../../src/cli/train';
import { type Gpt2Model, generateIds } from '../../src/models/generate';
import { loadModel } from '../../src/models/load';
import { dirSource } from '../../src/models/node';
import { type AdapterModuleState, exportPeft } from '../../src/peft/export';
import { CpuBackend } from '../../src/tensor/cpu';
import { randArray } from '../helpers/check';
import { runCli as run } from '../helpers/cli';

const TINY = join(dirname(fileURLToPath(import.meta.url)), '../../public/models/gpt2-tiny');
const PROMPT = 'The cat sat on the';

afterEach(() => vi.restoreAllMocks());

const gen = async (extra: string[], model = 'gpt2-tiny') => {
  const r = await run(['generate', '--model', model, '--prompt', PROMPT, '--backend', 'cpu', '--json', ...extra]);
  expect(r.code, r.err).toBe(0);
  return JSON.parse(r.out) as { ids: number[]; text: string; prompt_ids: number[] };
};

/** A rank-4 PEFT LoRA adapter on every c_attn and c_fc of gpt2-tiny (C 64, inner 256, 2 layers), random A and B. */
function writeAdapter(dir: string): void {
  const modules: AdapterModuleState[] = [0, 1].flatMap((l) =>
    [
      ['attn.c_attn', 64, 192],
      ['mlp.c_fc', 64, 256],
    ].map(([n, inF, outF], i) => ({
      name: `h.${l}.${n}`,
      inF: inF as number,
      outF: outF as number,
      R0: 4,
      c: null,
      live: [true, true, true, true],
      A: randArray(4 * (inF as number), 10 + 2 * l + i, -0.1, 0.1),
      B: randArray((outF as number) * 4, 20 + 2 * l + i, -0.1, 0.1),
    })),
  );
  const { adapterConfig, adapterModel } = exportPeft({
    modelType: 'gpt2',
    task: 'CAUSAL_LM',
    baseModel: 'gpt2-tiny',
    method: 'lora',
    alpha: 8,
    scale: 2,
    useRslora: false,
    dropout: 0,
    targetTypes: ['c_attn', 'c_fc'],
    numLayers: 2,
    modules,
    head: new Map(),
  });
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'adapter_config.json'), JSON.stringify(adapterConfig));
  writeFileSync(join(dir, 'adapter_model.safetensors'), adapterModel);
}

describe('dynrank generate', () => {
  it('greedy by default: the ids generateIds gives, with and without a LoRA adapter', async () => {
    const be = new CpuBackend(),
      model = (await loadModel(dirSource(TINY), be)) as Gpt2Model;
    const ids = model.tokenizer.encode(PROMPT).ids,
      opts = { maxTokens: 8, temperature: 0, topK: 0, seed: 1 };
    const base = await gen(['--max-tokens', '8']);
    expect(base.prompt_ids).toEqual(ids);
    expect(base.ids).toEqual(await generateIds(be, model, ids, opts));
    expect(base.text).toBe(model.tokenizer.decode(base.ids));
    const dir = join(mkdtempSync(join(tmpdir(), 'dynrank-gen-')), 'adapter');
    writeAdapter(dir);
    const adapted = await gen(['--max-tokens', '8', '--adapter', dir]);
    await attachAdapter(be, model, dir);
    expect(adapted.ids).toEqual(await generateIds(be, model, ids, opts));
    expect(adapted.ids).not.toEqual(base.ids);
  });

  it('samples reproducibly for a seed; plain output is the new text', async () => {
    const opts = ['--max-tokens', '10', '--temperature', '1.2', '--top-k', '40', '--seed', '9'];
    const a = await gen(opts);
    expect((await gen(opts)).ids).toEqual(a.ids);
    expect((await gen([...opts.slice(0, -1), '10'])).ids).not.toEqual(a.ids);
    const r = await run(['generate', '--model', 'gpt2-tiny', '--prompt', PROMPT, '--backend', 'cpu', ...opts]);
    expect(r.out).toBe(a.text);
  });

  it("stops at an eos_token_id list from the model folder's generation_config.json", async () => {
    const all = (await gen(['--max-tokens', '8'])).ids;
    const dir = join(mkdtempSync(join(tmpdir(), 'dynrank-gen-')), 'gpt2-tiny');
    cpSync(TINY, dir, { recursive: true });
    writeFileSync(join(dir, 'generation_config.json'), JSON.stringify({ eos_token_id: [1023, all[2]] }));
    expect((await gen(['--max-tokens', '8'], dir)).ids).toEqual(all.slice(0, all.indexOf(all[2])));
  });

  it('refuses a classifier and bad options with exit code 2', async () => {
    const cls = await run(['generate', '--model', 'bert-tiny', '--prompt', 'x', '--backend', 'cpu']);
    expect(cls.code).toBe(2);
    expect(cls.err).toMatch(/bert classifier .*dynrank logits/);
    const bad = await run(['generate', '--model', 'gpt2-tiny', '--prompt', 'x', '--top-k', '-1']);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--top-k must be an integer >= 0/);
    expect((await run(['generate', '--model', 'gpt2-tiny'])).err).toMatch(/--prompt is required/);
  });
});
