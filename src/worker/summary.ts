// Model files for the worker: bundled demo folders fetched once and kept in memory, and the architecture summary the
// set-up panel shows (layers, parameters, adaptable modules) read from them without touching a backend.

import type { ModelConfig } from '../models/config';
import { parameterCount, readModelFiles } from '../models/load';
import { urlSource, type ModelSource } from '../models/sources';
import { DEFAULT_TARGETS } from '../train/run';
import type { ModelSummary, ModuleInfo } from './protocol';

const sources = new Map<string, ModelSource>();

/** The bundled model `id` (a folder under public/models), its files cached in memory after the first read. */
export function bundledSource(id: string): ModelSource {
  let src = sources.get(id);
  if (!src) {
    if (!/^[\w.-]+$/.test(id)) throw new RangeError(`"${id}" is not a bundled model name`);
    const base = new URL(`${import.meta.env.BASE_URL}models/${id}/`, globalThis.location.origin).href;
    const files = new Map<string, Uint8Array>();
    src = urlSource(base, { name: id, cache: { get: async (k) => files.get(k) ?? null, put: async (k, v) => { files.set(k, v); } } });
    sources.set(id, src);
  }
  return src;
}

/** The adaptable linears of a config, in the paper's Figure 2 row order within each layer. */
export function adaptableModules(config: ModelConfig): ModuleInfo[] {
  if (config.kind === 'gpt2') {
    const { nLayer, nEmbd: C, nInner: F } = config.arch;
    return Array.from({ length: nLayer }, (_, l) => ([
      ['attn.c_attn', C, 3 * C], ['attn.c_proj', C, C], ['mlp.c_fc', C, F], ['mlp.c_proj', F, C],
    ] as const).map(([type, inF, outF]) => ({ name: `h.${l}.${type}`, type, layer: l, inF, outF }))).flat();
  }
  const { layers, hidden: C, intermediate: F } = config.arch;
  return Array.from({ length: layers }, (_, l) => ([
    ['attention.self.query', C, C], ['attention.self.key', C, C], ['attention.self.value', C, C],
    ['attention.output.dense', C, C], ['intermediate.dense', C, F], ['output.dense', F, C],
  ] as const).map(([type, inF, outF]) => ({ name: `encoder.layer.${l}.${type}`, type, layer: l, inF, outF }))).flat();
}

export async function summarize(id: string): Promise<ModelSummary> {
  const { config, weights } = await readModelFiles(bundledSource(id));
  const modules = adaptableModules(config);
  const a = config.arch;
  const common = { id, kind: config.kind, task: config.task, parameters: parameterCount(weights), modules, moduleTypes: [...new Set(modules.map((m) => m.type))], defaultTargets: DEFAULT_TARGETS[config.kind] };
  return 'nLayer' in a
    ? { ...common, layers: a.nLayer, hidden: a.nEmbd, heads: a.nHead, vocab: a.vocabSize, maxPositions: a.nPositions }
    : { ...common, layers: a.layers, hidden: a.hidden, heads: a.heads, vocab: a.vocabSize, maxPositions: a.maxPositions };
}
