// The architecture registry (model_type -> descriptor), the module-type rule of every family, and sharded checkpoints
// (model.safetensors.index.json) read from a Llama fixture split in two.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { adaptableModules, archFor, MODEL_KINDS, parseModelConfig } from '../../src/models/arch/index';
import { ConfigError } from '../../src/models/config';
import { readModelFiles } from '../../src/models/load';
import { toFloat32 } from '../../src/models/safetensorsDecode';
import { parseSafetensors } from '../../src/models/safetensorsRead';
import { writeSafetensors } from '../../src/models/safetensorsWrite';
import { ShardIndexError } from '../../src/models/shards';
import { DownloadError, type ModelSource } from '../../src/models/sources';
import { moduleType } from '../../src/peft/adapters';
import { tinyTokenizerFiles } from '../helpers/llamaFolder';

const fixture = (name: string, file: string) =>
  readFileSync(new URL(`../fixtures/llama/${name}/${file}`, import.meta.url));

function memorySource(files: Record<string, Uint8Array | string>): ModelSource {
  return {
    name: 'memory',
    async get(file, optional) {
      const f = files[file];
      if (f === undefined) {
        if (optional) return null;
        throw new DownloadError(file, '(file)', `${file} is missing from memory.`);
      }
      return typeof f === 'string' ? new TextEncoder().encode(f) : f;
    },
  };
}

/** llama-gqa's tensors split over two shards (embeddings and layer 0 / the rest) with their index. */
function shardedGqa(): Record<string, Uint8Array | string> {
  const st = parseSafetensors(new Uint8Array(fixture('llama-gqa', 'model.safetensors')));
  const names = [...st.tensors.keys()].sort();
  const shardOf = (n: string) => (n.startsWith('model.layers.0.') || n.startsWith('model.embed') ? 1 : 2);
  const shard = (k: number) =>
    writeSafetensors(
      names
        .filter((n) => shardOf(n) === k)
        .map((n) => {
          const e = st.tensors.get(n)!;
          return { name: n, dtype: 'F32' as const, shape: e.shape, data: toFloat32(e) };
        }),
      { format: 'pt' },
    );
  const file = (k: number) => `model-0000${k}-of-00002.safetensors`;
  const tok = tinyTokenizerFiles();
  return {
    'config.json': fixture('llama-gqa', 'config.json').toString('utf8'),
    'tokenizer.json': tok.json,
    'tokenizer_config.json': tok.config,
    'model.safetensors.index.json': JSON.stringify({
      metadata: { total_size: 0 },
      weight_map: Object.fromEntries(names.map((n) => [n, file(shardOf(n))])),
    }),
    [file(1)]: shard(1),
    [file(2)]: shard(2),
  };
}

describe('architecture registry', () => {
  it('lists every supported model_type once and maps each to its descriptor', () => {
    expect(MODEL_KINDS).toEqual(['gpt2', 'bert', 'roberta', 'llama', 'qwen2', 'qwen3']);
    expect(archFor('roberta').layerLead).toBe('encoder.layer.N.');
    expect(archFor('qwen3').defaultTargets).toHaveLength(7);
  });

  it('refuses an unknown model_type naming config.json, the field and the supported types', () => {
    let err: unknown;
    try {
      parseModelConfig('{"model_type": "mistral", "hidden_size": 8}');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const msg = (err as Error).message;
    for (const s of ['config.json', 'model_type', '"mistral"', '"gpt2"', '"bert"', '"llama"', '"qwen2"', '"qwen3"']) {
      expect(msg).toContain(s);
    }
    expect(() => parseModelConfig('{"hidden_size": 8}')).toThrow(
      /config\.json: model_type \(missing\) is not supported/,
    );
  });

  it("module types strip each family's layer lead", () => {
    expect(moduleType('h.3.attn.c_attn')).toBe('attn.c_attn');
    expect(moduleType('encoder.layer.0.attention.self.query')).toBe('attention.self.query');
    expect(moduleType('model.layers.11.self_attn.q_proj')).toBe('self_attn.q_proj');
    expect(moduleType('model.layers.2.mlp.down_proj')).toBe('mlp.down_proj');
  });

  it('a Llama config lists its seven linears per layer with their GQA sizes', () => {
    const cfg = parseModelConfig(fixture('llama-gqa', 'config.json').toString('utf8'));
    expect(cfg.kind).toBe('llama');
    const mods = adaptableModules(cfg);
    expect(mods).toHaveLength(2 * 7);
    expect(mods.slice(0, 7).map((m) => [m.name, m.inF, m.outF])).toEqual([
      ['model.layers.0.self_attn.q_proj', 32, 32],
      ['model.layers.0.self_attn.k_proj', 32, 16],
      ['model.layers.0.self_attn.v_proj', 32, 16],
      ['model.layers.0.self_attn.o_proj', 32, 32],
      ['model.layers.0.mlp.gate_proj', 32, 64],
      ['model.layers.0.mlp.up_proj', 32, 64],
      ['model.layers.0.mlp.down_proj', 64, 32],
    ]);
  });
});

describe('sharded checkpoints', () => {
  it('reads every shard of model.safetensors.index.json: the same tensors as the single file', async () => {
    const tok = tinyTokenizerFiles();
    const single = await readModelFiles(
      memorySource({
        'config.json': fixture('llama-gqa', 'config.json').toString('utf8'),
        'tokenizer.json': tok.json,
        'tokenizer_config.json': tok.config,
        'model.safetensors': new Uint8Array(fixture('llama-gqa', 'model.safetensors')),
      }),
    );
    const sharded = await readModelFiles(memorySource(shardedGqa()));
    expect([...sharded.weights.tensors.keys()].sort()).toEqual([...single.weights.tensors.keys()].sort());
    for (const [n, t] of single.weights.tensors) expect(sharded.weights.tensors.get(n)!.data).toEqual(t.data);
  });

  it('refuses a missing shard naming the file and the index', async () => {
    const files = shardedGqa();
    delete files['model-00002-of-00002.safetensors'];
    await expect(readModelFiles(memorySource(files))).rejects.toThrow(DownloadError);
    await expect(readModelFiles(memorySource(files))).rejects.toThrow(
      /model-00002-of-00002\.safetensors is missing from memory: model\.safetensors\.index\.json/,
    );
  });

  it('refuses an index that puts a tensor in the wrong shard, or a shard path outside the folder', async () => {
    const files = shardedGqa();
    const index = JSON.parse(files['model.safetensors.index.json'] as string);
    index.weight_map['model.norm.weight'] = 'model-00001-of-00002.safetensors';
    files['model.safetensors.index.json'] = JSON.stringify(index);
    await expect(readModelFiles(memorySource(files))).rejects.toThrow(ShardIndexError);
    await expect(readModelFiles(memorySource(files))).rejects.toThrow(
      /weight_map puts "model\.norm\.weight" in model-00001/,
    );
    index.weight_map['model.norm.weight'] = '../x.safetensors';
    files['model.safetensors.index.json'] = JSON.stringify(index);
    await expect(readModelFiles(memorySource(files))).rejects.toThrow(
      /must name a \.safetensors file in the same folder/,
    );
  });
});

describe('activation memory of the LM head', () => {
  // The logits of a Qwen3-0.6B-shaped model at 4 x 256 tokens: 1024 x 151,936 floats are 594 MiB, twice that with
  // their gradient; the head in row chunks keeps one chunk's (at most 64 MiB).
  const qwen3 = (vocab: number) =>
    parseModelConfig({
      model_type: 'qwen3',
      vocab_size: vocab,
      hidden_size: 1024,
      intermediate_size: 3072,
      num_hidden_layers: 28,
      num_attention_heads: 16,
      num_key_value_heads: 8,
      head_dim: 128,
      max_position_embeddings: 40960,
      tie_word_embeddings: true,
    });
  const gpt2 = (vocab: number) =>
    parseModelConfig({
      model_type: 'gpt2',
      vocab_size: vocab,
      n_positions: 1024,
      n_embd: 768,
      n_layer: 12,
      n_head: 12,
    });
  it.each([
    ['qwen3', qwen3],
    ['gpt2', gpt2],
  ] as const)('%s: a 151,936-token vocabulary adds at most 64 MiB over a 1,000-token one at 4 x 256', (_, cfg) => {
    const big = cfg(151936),
      small = cfg(1000);
    const grow = archFor(big).activationBytes(big, 4, 256) - archFor(small).activationBytes(small, 4, 256);
    expect(grow).toBeGreaterThan(0);
    expect(grow).toBeLessThanOrEqual(64 * 2 ** 20);
  });
});
