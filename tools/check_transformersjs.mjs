#!/usr/bin/env node
// tools/check_transformersjs.mjs — loads a folder written by `dynrank export --format onnx` (or the page's ONNX zip,
// unpacked) with transformers.js itself and prints its greedy continuation in the shape of `dynrank generate --json`,
// so the two can be compared id for id. This repo's @huggingface/transformers serves the browser e2e only: its
// onnxruntime-node and sharp are empty stubs (package.json overrides), so its Node build cannot run from here. Install
// it outside the repo (with onnxruntime-node, ~475 MB) and name that folder:
//   npm i --ignore-scripts --prefix /tmp/tjs @huggingface/transformers@4.3.2
//   node tools/check_transformersjs.mjs --tjs /tmp/tjs --folder run1-onnx --prompt "Call me Ishmael." --max-tokens 20
//   npx dynrank generate --model llama-demo --adapter run1 --prompt "Call me Ishmael." --max-tokens 20 \
//     --temperature 0 --json
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const { values: a } = parseArgs({
  options: {
    tjs: { type: 'string' },
    folder: { type: 'string' },
    prompt: { type: 'string' },
    'max-tokens': { type: 'string', default: '20' },
  },
});
for (const k of ['tjs', 'folder', 'prompt']) {
  if (!a[k]) {
    console.error(`check_transformersjs: --${k} is required (see the comment at the top of this file)`);
    process.exit(2);
  }
}
const entry = path.resolve(a.tjs, 'node_modules/@huggingface/transformers/dist/transformers.node.mjs');
const { AutoModelForCausalLM, AutoTokenizer, env } = await import(pathToFileURL(entry).href);
const folder = path.resolve(a.folder);
env.allowRemoteModels = false;
env.allowLocalModels = true;
env.localModelPath = `${path.dirname(folder)}/`;
const name = path.basename(folder);
const tokenizer = await AutoTokenizer.from_pretrained(name);
const model = await AutoModelForCausalLM.from_pretrained(name, { dtype: 'fp32' });
const enc = tokenizer(a.prompt);
const promptIds = Array.from(enc.input_ids.data, Number);
const out = await model.generate({ ...enc, max_new_tokens: Number(a['max-tokens']), do_sample: false });
const ids = Array.from(out.data, Number).slice(promptIds.length);
// transformers.js keeps the end-of-sequence id it stopped at; `dynrank generate` does not print it.
const eos = [model.generation_config.eos_token_id].flat();
if (ids.length && eos.includes(ids.at(-1))) ids.pop();
console.log(
  JSON.stringify({
    prompt: a.prompt,
    prompt_ids: promptIds,
    ids,
    text: tokenizer.decode(ids, { skip_special_tokens: false }),
  }),
);
