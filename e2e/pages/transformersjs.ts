// The e2e's test-only page for transformers.js (e2e/transformersjs.e2e.test.ts): loads a folder written by
// `dynrank export --format onnx` with @huggingface/transformers' web build and reports its greedy ids or class
// logits on window.tjs. The app never imports transformers.js; the dev server serves this page from e2e/pages/.
// Nothing comes from the network: local models only, and onnxruntime-web's .wasm is the one vite serves.

import {
  AutoModelForCausalLM,
  AutoModelForSequenceClassification,
  AutoTokenizer,
  env,
  type Tensor,
} from '@huggingface/transformers';
import wasmUrl from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.wasm?url';

/** What one prompt generated: the prompt's ids and the new ids, without the end-of-sequence id it stopped at. */
export interface TjsGeneration {
  prompt: string;
  promptIds: number[];
  ids: number[];
  text: string;
}

/** One text's class logits and the label transformers.js picks from config.json's id2label. */
export interface TjsClassification {
  text: string;
  inputIds: number[];
  logits: number[];
  label: string;
}

interface TjsApi {
  /** transformers.js's version and the onnxruntime-web version it runs on. */
  versions(): { transformers: string; onnxruntimeWeb: string | undefined };
  generate(o: { model: string; prompts: string[]; maxNewTokens: number }): Promise<TjsGeneration[]>;
  classify(o: { model: string; texts: string[] }): Promise<TjsClassification[]>;
}

declare global {
  interface Window {
    tjs: TjsApi;
  }
}

/** Where the test serves exported folders: `${MODEL_ROOT}<name>/config.json`, ... */
const MODEL_ROOT = '/tjs-models/';

env.allowRemoteModels = false;
env.allowLocalModels = true;
env.localModelPath = MODEL_ROOT;
env.useBrowserCache = false;
env.useWasmCache = false;
const onnx = env.backends.onnx;
if (!onnx.wasm) throw new Error('transformers.js exposes no onnxruntime-web wasm settings (env.backends.onnx.wasm)');
onnx.wasm.wasmPaths = { wasm: wasmUrl };
onnx.wasm.numThreads = 1;

const ints = (t: Tensor) => Array.from(t.data as ArrayLike<number | bigint>, Number);

/** Appends a titled block of lines to the page's results, for the screenshot. */
function show(title: string, lines: string[]): void {
  const out = document.getElementById('results');
  if (out) out.textContent += `${title}\n${lines.map((l) => `  ${l}`).join('\n')}\n\n`;
}

window.tjs = {
  versions: () => ({ transformers: env.version, onnxruntimeWeb: onnx.versions?.web }),

  async generate({ model, prompts, maxNewTokens }) {
    const tokenizer = await AutoTokenizer.from_pretrained(model);
    const lm = await AutoModelForCausalLM.from_pretrained(model, { dtype: 'fp32', device: 'wasm' });
    const eos = [lm.generation_config?.eos_token_id ?? []].flat();
    const results: TjsGeneration[] = [];
    for (const prompt of prompts) {
      const enc = tokenizer(prompt);
      const promptIds = ints(enc.input_ids);
      const out = (await lm.generate({ ...enc, max_new_tokens: maxNewTokens, do_sample: false })) as Tensor;
      const ids = ints(out).slice(promptIds.length);
      if (ids.length && eos.includes(ids[ids.length - 1])) ids.pop();
      results.push({ prompt, promptIds, ids, text: tokenizer.decode(ids, { skip_special_tokens: false }) });
    }
    await lm.dispose();
    show(
      `${model}: greedy, ${maxNewTokens} new tokens at most`,
      results.flatMap((r) => [`${JSON.stringify(r.prompt)} -> ${JSON.stringify(r.text)}`, `  ids ${r.ids.join(' ')}`]),
    );
    return results;
  },

  async classify({ model, texts }) {
    const tokenizer = await AutoTokenizer.from_pretrained(model);
    const cls = await AutoModelForSequenceClassification.from_pretrained(model, { dtype: 'fp32', device: 'wasm' });
    const id2label = (cls.config as { id2label?: Record<string, string> }).id2label ?? {};
    const results: TjsClassification[] = [];
    for (const text of texts) {
      const enc = tokenizer(text);
      const { logits } = (await cls(enc)) as { logits: Tensor };
      const row = Array.from(logits.data as Float32Array);
      const best = row.indexOf(Math.max(...row));
      results.push({ text, inputIds: ints(enc.input_ids), logits: row, label: id2label[best] ?? String(best) });
    }
    await cls.dispose();
    show(
      `${model}: class logits`,
      results.map((r) => `${JSON.stringify(r.text)} -> ${r.label} [${r.logits.map((v) => v.toFixed(6)).join(', ')}]`),
    );
    return results;
  },
};
document.body.dataset.ready = 'true';
