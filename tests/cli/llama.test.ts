// The dynrank CLI on local Llama-family folders (tests/fixtures/llama with a tiny tokenizer): info lists the seven
// linears per layer under their HF names, train writes a PEFT adapter and a merged model in HF layout that loads back
// and computes the adapter's logits, eval scores a classifier with its adapter.

import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseSafetensors } from '../../src/models/safetensorsRead';
import { runCli as run } from '../helpers/cli';
import { llamaFolder } from '../helpers/llamaFolder';

afterEach(() => vi.restoreAllMocks());

const tmp = mkdtempSync(join(tmpdir(), 'dynrank-cli-llama-'));
const text = join(tmp, 'fox.txt');
writeFileSync(text, 'the quick brown fox jumps over the lazy dog. '.repeat(20));
const csv = join(tmp, 'tiny.csv');
writeFileSync(
  csv,
  `text,label\n${Array.from(
    { length: 30 },
    (_, i) => `${['good fun day', 'bad sad night', 'so so'][i % 3]} ${i},${['pos', 'neg', 'mid'][i % 3]}`,
  ).join('\n')}\n`,
);
const SHORT = ['--steps', '6', '--batch', '2', '--seq', '16', '--backend', 'cpu'];

describe('dynrank on a Llama-family folder', () => {
  it.each([
    ['llama-gqa', 'llama', 16],
    ['qwen3-headdim', 'qwen3', 32],
  ])('info %s', async (name, type, kOut) => {
    const r = await run(['info', '--model', llamaFolder(name)]);
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out);
    expect([j.modelType, j.task, j.layers]).toEqual([type, 'causal-lm', 2]);
    expect(j.adaptableModules).toHaveLength(14);
    expect(j.adaptableModules[1]).toEqual({ name: 'model.layers.0.self_attn.k_proj', in: j.hidden, out: kOut });
  });

  it.each(['llama-gqa', 'qwen2-bias', 'qwen3-headdim', 'llama-bf16'])(
    'generate %s: greedy tokens through the KV cache, BOS first as the tokenizer adds it',
    async (name) => {
      const r = await run(['generate', '--model', llamaFolder(name), '--prompt', 'the quick', '--max-tokens', '4']);
      expect(r.code, r.err).toBe(0);
      const j = JSON.parse(
        (await run(['generate', '--model', llamaFolder(name), '--prompt', 'the quick', '--max-tokens', '4', '--json']))
          .out,
      );
      expect(j.prompt_ids[0]).toBe(1); // <s>, the tiny tokenizer's BOS
      expect(j.ids.length).toBeGreaterThan(0);
      expect(j.ids.length).toBeLessThanOrEqual(4);
      expect(r.out).toBe(j.text);
    },
  );

  it('train --merged: adapter with HF module paths, and a merged HF-layout model with the adapted logits', async () => {
    const model = llamaFolder('llama-gqa'),
      out = join(tmp, 'gqa-run');
    const r = await run([
      'train',
      '--model',
      model,
      '--data',
      text,
      '--method',
      'dora',
      '--budget',
      '1',
      '--prune-interval',
      '1',
      '--merged',
      ...SHORT,
      '--out',
      out,
    ]);
    expect(r.code, r.err).toBe(0);
    const cfg = JSON.parse(readFileSync(join(out, 'adapter_config.json'), 'utf8'));
    expect(cfg.target_modules.every((t: string) => t.startsWith('model.layers.'))).toBe(true);
    const rankMap = JSON.parse(readFileSync(join(out, 'rank_map.json'), 'utf8'));
    expect(rankMap.total).toBe(14);
    const merged = parseSafetensors(new Uint8Array(readFileSync(join(out, 'model.safetensors'))));
    expect(merged.tensors.get('model.layers.1.mlp.down_proj.weight')!.shape).toEqual([32, 64]);

    // The merged weights in a copy of the model folder give the logits of base + adapter.
    const mergedDir = join(tmp, 'gqa-merged');
    cpSync(model, mergedDir, { recursive: true });
    cpSync(join(out, 'model.safetensors'), join(mergedDir, 'model.safetensors'));
    const logits = async (args: string[]) => {
      const l = await run(['logits', ...args, '--text', 'a lazy fox', '--backend', 'cpu']);
      expect(l.code, l.err).toBe(0);
      return JSON.parse(l.out) as { input_ids: number[]; logits: number[][] };
    };
    const adapted = await logits(['--model', model, '--adapter', out]);
    const fromMerged = await logits(['--model', mergedDir]);
    expect(fromMerged.input_ids).toEqual(adapted.input_ids);
    expect(adapted.input_ids[0]).toBe(1); // <s>, as the tokenizer's post-processor adds it
    const diff = Math.max(...adapted.logits.flat().map((v, i) => Math.abs(v - fromMerged.logits.flat()[i])));
    expect(diff).toBeLessThan(1e-4);
  });

  it('--task seq-cls on a Qwen3 causal LM: a fresh score head, kept when the run is resumed', async () => {
    const model = llamaFolder('qwen3-headdim'),
      out = join(tmp, 'qwen3-cls');
    const args = [
      'train',
      '--model',
      model,
      '--data',
      csv,
      '--task',
      'seq-cls',
      '--method',
      'dora',
      '--budget',
      '1',
      '--prune-interval',
      '1',
      ...SHORT,
      '--out',
      out,
    ];
    const first = await run([...args, '--stop-after', '3']);
    expect(first.code, first.err).toBe(0);
    expect(JSON.parse(first.out).interrupted).toBe(true);
    const resumed = await run(['train', '--resume', out, '--backend', 'cpu']);
    expect(resumed.code, resumed.err).toBe(0);
    const cfg = JSON.parse(readFileSync(join(out, 'adapter_config.json'), 'utf8'));
    expect([cfg.task_type, cfg.modules_to_save]).toEqual(['SEQ_CLS', ['score']]);
  });

  it('a classifier: train with LoRA, then eval with the adapter prints classification metrics', async () => {
    const model = llamaFolder('llama-seqcls'),
      out = join(tmp, 'cls-run');
    const r = await run([
      'train',
      '--model',
      model,
      '--data',
      csv,
      '--method',
      'lora',
      '--rank',
      '2',
      ...SHORT,
      '--out',
      out,
    ]);
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(readFileSync(join(out, 'adapter_config.json'), 'utf8')).modules_to_save).toEqual(['score']);
    const ev = await run([
      'eval',
      '--model',
      model,
      '--adapter',
      out,
      '--data',
      csv,
      '--seq',
      '16',
      '--backend',
      'cpu',
    ]);
    expect(ev.code, ev.err).toBe(0);
    const m = JSON.parse(ev.out);
    for (const k of ['accuracy', 'f1', 'mcc', 'loss']) expect(Number.isFinite(m[k]), k).toBe(true);
  });
});
