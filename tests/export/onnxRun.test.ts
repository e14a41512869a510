// src/export/onnx/run.ts, the loops the page's try-it runs on an exported model.onnx: greedy generation through
// past_key_values gives the same ids as our generateIds (KV cache, greedy) for GPT-2 and Llama, and the classifier's
// probabilities equal our classify. onnxruntime-web's Node build (wasm) stands in for the page's.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-web';
import { describe, expect, it } from 'vitest';
import { onnxFolder } from '../../src/export/onnx/folder';
import { decoderLayout, onnxClassProbs, onnxGreedyIds } from '../../src/export/onnx/run';
import { classify, type EncoderModel, eosIds as eosIdsOf, generateIds } from '../../src/models/generate';
import { instantiate, readModelFiles } from '../../src/models/load';
import { dirSource } from '../../src/models/node';
import { CpuBackend } from '../../src/tensor/cpu';
import { chatFromSource, endOfTurnIds } from '../../src/train/data/chat';
import { expectClose } from '../helpers/check';

async function exported(model: string, numLabels?: number) {
  const dir = `public/models/${model}`;
  const files = await readModelFiles(dirSource(dir), { numLabels });
  const folder = onnxFolder({
    config: files.config,
    weights: files.weights.tensors,
    tokenizerJson: new Uint8Array(readFileSync(join(dir, 'tokenizer.json'))),
    tokenizerConfig: null,
  });
  ort.env.wasm.numThreads = 1;
  const session = await ort.InferenceSession.create(folder.get('onnx/model.onnx')!);
  const be = new CpuBackend();
  return { ...files, session, be, m: instantiate(be, files.config, files.tokenizer, files.weights, model) };
}

describe('running an exported model in onnxruntime-web', () => {
  for (const model of ['llama-demo', 'gpt2-tiny']) {
    it(`${model}: greedy ids through past_key_values equal our KV-cache greedy generation`, async () => {
      const { session, be, m, config, tokenizer } = await exported(model);
      if (m.task !== 'causal-lm') throw new Error('decoder expected');
      const layout = decoderLayout(config)!;
      const prompt = tokenizer.encode('My fellow Americans, the state of the union').ids;
      const eosIds = eosIdsOf(null, config.raw, tokenizer);
      const opts = { maxTokens: 24, temperature: 0, topK: 0, seed: 1, eosIds };
      const ours = await generateIds(be, { ...m, net: m.net }, prompt, opts);
      const onnx = await onnxGreedyIds(ort, session, layout, prompt, { maxTokens: 24, eosIds });
      expect(ours.length).toBeGreaterThan(0);
      expect(onnx).toEqual(ours);
      // maxTokens and the model's positions bound the output as generateIds does.
      expect(await onnxGreedyIds(ort, session, layout, prompt, { maxTokens: 3, eosIds: [] })).toEqual(
        (await generateIds(be, { ...m, net: m.net }, prompt, { ...opts, maxTokens: 3, eosIds: [] })).slice(0, 3),
      );
      const near = { ...layout, maxPositions: prompt.length + 2 };
      expect((await onnxGreedyIds(ort, session, near, prompt, { maxTokens: 10, eosIds: [] })).length).toBe(3);
    });
  }

  it('llama-demo: a chat message through the chat template, ended at the end of the turn, gets our greedy answer', async () => {
    const { session, be, m, config } = await exported('llama-demo');
    if (m.task !== 'causal-lm') throw new Error('decoder expected');
    const chat = await chatFromSource(dirSource('public/models/llama-demo'));
    const prompt = chat.template.render([{ role: 'user', content: 'Capital of France?' }], {
      addGenerationPrompt: true,
    });
    const ids = chat.tokenizer.encode(prompt);
    const stop = [...new Set([...eosIdsOf(null, config.raw, m.tokenizer), ...endOfTurnIds(chat)])];
    const opts = { maxTokens: 12, temperature: 0, topK: 0, seed: 0, eosIds: stop };
    const ours = await generateIds(be, { ...m, net: m.net }, ids, opts);
    const onnx = await onnxGreedyIds(ort, session, decoderLayout(config)!, ids, { maxTokens: 12, eosIds: stop });
    expect(ours.length).toBeGreaterThan(0);
    expect(onnx).toEqual(ours);
  });

  it('bert-tiny: class probabilities equal our classify', async () => {
    const { session, be, m, config, tokenizer } = await exported('bert-tiny', 3);
    const text = 'Win money now! Reply to claim your prize.';
    const ours = await classify(be, m as EncoderModel, text);
    const batch = m.arch.clsBatch(config, [tokenizer.encode(text)]);
    const onnx = await onnxClassProbs(ort, session, batch);
    expect(onnx.length).toBe(3);
    expectClose(onnx, ours, 1e-5, 0, 'probabilities');
    expect(decoderLayout(config)).toBeNull();
  });

  it('refuses an empty prompt', async () => {
    const { session, config } = await exported('gpt2-tiny');
    await expect(onnxGreedyIds(ort, session, decoderLayout(config)!, [], { maxTokens: 2, eosIds: [] })).rejects.toThrow(
      /the prompt has no tokens/,
    );
  });
});
