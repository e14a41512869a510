// tools/check_llama_demo.ts — checks public/models/llama-demo with the app's own readers (not wired into the app):
//   node --import tsx tools/check_llama_demo.ts [model folder, default public/models/llama-demo]
// * model.safetensors parses with src/models/safetensorsRead.ts; every tensor a LlamaForCausalLM of config.json needs is
//   there (HF names, no lm_head.weight since tie_word_embeddings), F32, with the right shape, finite values, and
//   nothing else; RMSNorm weights are not all 1 (the file is trained, not an init).
// * tokenizer.json + tokenizer_config.json load with src/models/tokenizer.ts: vocab size = config.json's vocab_size,
//   eos/pad = <|end_of_text|>, encode prepends <|begin_of_text|> (= bos_token_id), text round-trips, the ChatML tokens
//   are single ids; generation_config.json names the same bos and stops at <|end_of_text|> and <|im_end|>.
// Exits 1 with the failed checks listed.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { toFloat32 } from '../src/models/safetensorsDecode';
import { parseSafetensors } from '../src/models/safetensorsRead';
import { loadTokenizer } from '../src/models/tokenizer';

const DIR = process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), '..', 'public', 'models', 'llama-demo');
const text = (f: string): string => readFileSync(join(DIR, f), 'utf8');
const failures: string[] = [];
const check = (ok: boolean, what: string): void => {
  if (!ok) failures.push(what);
};

const cfg = JSON.parse(text('config.json'));
const gen = JSON.parse(text('generation_config.json'));
check(cfg.architectures?.[0] === 'LlamaForCausalLM' && cfg.model_type === 'llama', 'config: LlamaForCausalLM / llama');
check(cfg.tie_word_embeddings === true && cfg.torch_dtype === 'float32', 'config: tied, float32');

// ---- weights
const d = cfg.hidden_size, I = cfg.intermediate_size, V = cfg.vocab_size;
const hd = cfg.head_dim ?? d / cfg.num_attention_heads;
const q = cfg.num_attention_heads * hd, kv = cfg.num_key_value_heads * hd;
const want = new Map<string, number[]>([['model.embed_tokens.weight', [V, d]], ['model.norm.weight', [d]]]);
for (let l = 0; l < cfg.num_hidden_layers; l++) {
  const p = `model.layers.${l}.`;
  want.set(`${p}input_layernorm.weight`, [d]);
  want.set(`${p}post_attention_layernorm.weight`, [d]);
  want.set(`${p}self_attn.q_proj.weight`, [q, d]);
  want.set(`${p}self_attn.k_proj.weight`, [kv, d]);
  want.set(`${p}self_attn.v_proj.weight`, [kv, d]);
  want.set(`${p}self_attn.o_proj.weight`, [d, q]);
  want.set(`${p}mlp.gate_proj.weight`, [I, d]);
  want.set(`${p}mlp.up_proj.weight`, [I, d]);
  want.set(`${p}mlp.down_proj.weight`, [d, I]);
}
const file = parseSafetensors(new Uint8Array(readFileSync(join(DIR, 'model.safetensors'))));
let params = 0;
for (const [name, t] of file.tensors) {
  const shape = want.get(name);
  check(shape !== undefined, `safetensors: unexpected tensor ${name}`);
  check(t.dtype === 'F32', `safetensors: ${name} is ${t.dtype}, not F32`);
  check(JSON.stringify(t.shape) === JSON.stringify(shape), `safetensors: ${name} shape ${t.shape} != ${shape}`);
  const x = toFloat32(t);
  check(x.every(Number.isFinite), `safetensors: ${name} has non-finite values`);
  if (name.endsWith('norm.weight')) check(x.some((v) => v !== 1), `safetensors: ${name} is still all ones`);
  params += x.length;
}
for (const name of want.keys()) check(file.tensors.has(name), `safetensors: missing ${name}`);
check(file.metadata.format === 'pt', 'safetensors: __metadata__.format = pt');

// ---- tokenizer
const tok = loadTokenizer(text('tokenizer.json'), text('tokenizer_config.json'));
const id = (s: string): number => tok.encode(s).ids.at(-1) ?? -1;
check(tok.vocabSize === V, `tokenizer: vocab ${tok.vocabSize} != config vocab_size ${V}`);
check(tok.eosId === cfg.eos_token_id && tok.padId === cfg.eos_token_id, 'tokenizer: eos and pad = eos_token_id');
const sample = 'Call me Ishmael. Some years ago—never mind how long precisely; naïve café 🤗 12,345.';
const ids = tok.encode(sample).ids;
const bosCount = ids.filter((x) => x === cfg.bos_token_id).length;
check(ids[0] === cfg.bos_token_id && bosCount === 1, 'tokenizer: one BOS, first');
check(ids.every((x) => x >= 0 && x < V), 'tokenizer: ids below vocab_size');
check(tok.decode(ids) === `<|begin_of_text|>${sample}`, 'tokenizer: decode round-trips (with the BOS)');
const specials = ['<|begin_of_text|>', '<|end_of_text|>', '<|im_start|>', '<|im_end|>'].map(id);
check(JSON.stringify(specials) === JSON.stringify([V - 4, V - 3, V - 2, V - 1]), `tokenizer: special ids ${specials}`);
const chat = '<|im_start|>user\nHi<|im_end|>\n';
check(tok.decode(tok.encode(chat).ids) === `<|begin_of_text|>${chat}`, 'tokenizer: ChatML text round-trips');
check(gen.bos_token_id === cfg.bos_token_id && JSON.stringify(gen.eos_token_id) === JSON.stringify([V - 3, V - 1]),
  'generation_config: bos, eos = [<|end_of_text|>, <|im_end|>]');

if (failures.length) {
  console.error(`llama-demo: ${failures.length} check(s) failed:\n  ${failures.join('\n  ')}`);
  process.exit(1);
}
console.log(`llama-demo OK: ${file.tensors.size} F32 tensors, ${params.toLocaleString('en')} parameters; tokenizer ` +
  `vocab ${tok.vocabSize}, "${sample.slice(0, 16)}…" -> [${ids.slice(0, 8).join(',')},…]`);
