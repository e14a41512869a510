// Hugging Face PEFT LoRA export of dynrank adapters (METHOD.md §8, FORMATS.md §6): adapter_config.json,
// adapter_model.safetensors and rank_map.json (the paper's Fig. 2). Host-side only; import.ts and merge.ts share
// the module-name helpers and the error type defined here.

import { archFor, type ModelKind } from '../models/arch/index';
import { ModelFormatError } from '../models/errors';
import { type WritableTensor, writeSafetensors } from '../models/safetensorsWrite';
import type { HostTensor } from '../models/weights';
import { matchesTarget } from './adapters';

/** One adapted linear layer as trained: R0 components, of which `live` survive pruning. */
export interface AdapterModuleState {
  /** Canonical module path, e.g. 'h.0.attn.c_attn' or 'encoder.layer.3.attention.self.query'. */
  name: string;
  inF: number;
  outF: number;
  R0: number;
  /** (R0, inF) row-major. */
  A: Float32Array;
  /** (outF, R0) row-major. */
  B: Float32Array;
  /** (R0) component scalers for the dynamic-rank method; null for LoRA (c = 1). */
  c: Float32Array | null;
  /** R0 flags; all true for LoRA. */
  live: boolean[];
}

/** Everything exportPeft and mergeWeights need about a trained adapter. */
export interface AdapterExportInput {
  modelType: ModelType;
  task: 'CAUSAL_LM' | 'SEQ_CLS';
  /** base_model_name_or_path. */
  baseModel: string;
  method: 'dora' | 'lora';
  /** lora_alpha. */
  alpha: number;
  /** The forward's constant: dynamic rank alpha/R0; LoRA alpha/r (or alpha/sqrt(r) with rsLoRA). */
  scale: number;
  useRslora: boolean;
  dropout: number;
  /** Module types adapted, e.g. ['c_attn','c_proj'] or ['query','value','attention.output.dense']. */
  targetTypes: string[];
  numLayers: number;
  modules: AdapterModuleState[];
  /** Taken before the schedule's final pruning event: the allocation can still change (written to rank_map.json). */
  provisional?: boolean;
  /** modules_to_save tensors by canonical name ('classifier.weight', ...); empty for causal LM. */
  head: Map<string, HostTensor>;
}

/** The paper's Figure 2 as JSON (rank_map.json). */
export interface RankMap {
  method: 'dora' | 'lora';
  /** Row names in the paper's order (Wq..Wf2 for encoders). */
  moduleTypes: string[];
  layers: number;
  R0: number;
  /** rows x layers: live components per cell, 0 where not adapted. */
  ranks: number[][];
  total: number;
  /** Σ r_m·(inF+outF): the paper's "trainable parameters" (no c, no head). */
  retainedParams: number;
  /** True when exported before the final pruning event: ranks are the live components (c != 0) at that moment and
   * the budget b(T) is not reached yet. */
  provisional: boolean;
}

/** config.json model_type of the adapter's base model. */
export type ModelType = ModelKind;

export type PeftErrorCode =
  | 'InvalidInput' // exporter/merger input inconsistent
  | 'InvalidConfig' // adapter_config.json unreadable or a field of the wrong type
  | 'NotLora' // peft_type other than LORA
  | 'UseDora' // Liu et al.'s weight-decomposed DoRA
  | 'UnknownModule' // not an adaptable linear of the model type
  | 'RankMismatch' // lora_B's rank differs from lora_A's
  | 'MissingTensor'
  | 'LoraBias'
  | 'BadPattern'; // rank_pattern/alpha_pattern key that is not a valid regex

/** Typed error for PEFT export, import and merge; names the file and field and says what to do. */
export class PeftError extends ModelFormatError {
  readonly code: PeftErrorCode;

  constructor(code: PeftErrorCode, file: string, field: string, problem: string, fix: string) {
    super(file, field, `${file}: ${field}: ${problem}. ${fix}`);
    this.code = code;
  }
}

/** Row name (as in rank_map.json) and the module path after the layer lead, in Fig. 2 order. */
function rows(modelType: ModelType): readonly (readonly [string, string])[] {
  return archFor(modelType).rows;
}

/** The HF model prefix dynrank's canonical names drop: `transformer.`, `bert.`, `roberta.`, or none (Llama family). */
export function modelPrefix(modelType: ModelType): string {
  return archFor(modelType).hfPrefix(modelType);
}

/** Layer and Fig. 2 row of a canonical adaptable-linear name, or null if the name is not one. */
export function parseModuleName(name: string, modelType: ModelType): { layer: number; row: number } | null {
  const arch = archFor(modelType);
  const m = arch.layerPattern.exec(name);
  if (m === null) return null;
  const row = rows(modelType).findIndex(([, path]) => path === name.slice(m[0].length));
  return row < 0 ? null : { layer: Number(m[1]), row };
}

/** Human-readable list of the adaptable linears, for error messages. */
export function adaptableHint(modelType: ModelType): string {
  const lead = archFor(modelType).layerLead;
  return rows(modelType)
    .map(([, p]) => lead + p)
    .join(', ');
}

/**
 * PEFT's target_modules rule (tuners_utils.check_target_module_exists): a string is a regex that must match the whole
 * module name; a list entry t selects the module `name` when name == t or name ends with "." + t.
 */
export function peftSelects(name: string, targetModules: string | readonly string[]): boolean {
  if (typeof targetModules === 'string') return new RegExp(`^(?:${targetModules})$`).test(name);
  return targetModules.some((t) => name === t || name.endsWith(`.${t}`));
}

/** Indices of the live components of a module. */
export function liveIndices(m: AdapterModuleState): number[] {
  const k: number[] = [];
  for (let i = 0; i < m.R0; i++) if (m.live[i]) k.push(i);
  return k;
}

/** Checks one module's shapes and name; `file` is the output the error is reported against. */
export function checkModule(m: AdapterModuleState, modelType: ModelType, numLayers: number | null, file: string): void {
  const bad = (problem: string) =>
    new PeftError('InvalidInput', file, m.name, problem, 'Pass the adapter state exactly as the trainer holds it.');
  const parsed = parseModuleName(m.name, modelType);
  if (parsed === null) {
    throw new PeftError(
      'UnknownModule',
      file,
      m.name,
      `not an adaptable linear of ${modelType}`,
      `Use one of ${adaptableHint(modelType)}.`,
    );
  }
  if (numLayers !== null && parsed.layer >= numLayers)
    throw bad(`layer ${parsed.layer} but the model has ${numLayers} layers`);
  const { inF, outF, R0 } = m;
  if (![inF, outF, R0].every((x) => Number.isSafeInteger(x) && x >= 0))
    throw bad(`inF/outF/R0 ${inF}/${outF}/${R0} are not counts`);
  if (m.A.length !== R0 * inF) throw bad(`A has ${m.A.length} values, expected R0*inF = ${R0 * inF}`);
  if (m.B.length !== outF * R0) throw bad(`B has ${m.B.length} values, expected outF*R0 = ${outF * R0}`);
  if (m.c !== null && m.c.length !== R0) throw bad(`c has ${m.c.length} values, expected R0 = ${R0}`);
  if (m.live.length !== R0) throw bad(`live has ${m.live.length} flags, expected R0 = ${R0}`);
}

function mostCommon(values: number[]): number {
  const counts = new Map<number, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  let best = 0;
  let bestN = 0;
  // Ties go to the larger rank so the headline `r` does not understate the adapter.
  for (const [v, n] of counts) if (n > bestN || (n === bestN && v > best)) [best, bestN] = [v, n];
  return best;
}

/** Builds rank_map.json: rows are the model's module types hit by targetTypes (or holding a module), in Fig. 2 order. */
function buildRankMap(input: AdapterExportInput): RankMap {
  const rows = archFor(input.modelType).rows;
  const cells = input.modules.map((m) => ({
    m,
    p: parseModuleName(m.name, input.modelType),
    r: liveIndices(m).length,
  }));
  const used = rows.map(([, path], i) => matchesTarget(path, input.targetTypes) || cells.some((x) => x.p?.row === i));
  const keep = rows.map((_, i) => i).filter((i) => used[i]);
  const ranks = keep.map(() => new Array<number>(input.numLayers).fill(0));
  let total = 0;
  let retainedParams = 0;
  for (const { m, p, r } of cells) {
    if (p === null || p.layer >= input.numLayers) continue;
    ranks[keep.indexOf(p.row)][p.layer] = r;
    total += r;
    retainedParams += r * (m.inF + m.outF);
  }
  return {
    method: input.method,
    moduleTypes: keep.map((i) => rows[i][0]),
    layers: input.numLayers,
    R0: input.modules.reduce((a, m) => Math.max(a, m.R0), 0),
    ranks,
    total,
    retainedParams,
    provisional: input.provisional ?? false,
  };
}

/** PEFT's lora_alpha giving scaling `scale` at rank r; keeps the user's alpha when it already does (integer alphas stay exact). */
function alphaFor(r: number, input: AdapterExportInput): number {
  const a = input.useRslora ? input.scale * Math.sqrt(r) : input.scale * r;
  return Math.abs(a - input.alpha) <= 1e-9 * Math.max(1, Math.abs(a)) ? input.alpha : a;
}

function sortedObject(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.keys(o)
      .sort()
      .map((k) => [k, o[k]]),
  );
}

/**
 * Exports an adapter as a PEFT LoRA adapter (METHOD.md §8). Only live components are written. Dynamic rank:
 * B' = scale·B[:,K]·diag(c[K]), rank_pattern[m] = alpha_pattern[m] = r_m for every module, and the global
 * lora_alpha = r, so PEFT's scaling is 1 everywhere; use_rslora is written false because the scale is folded in.
 * LoRA: A and B as they are, with r/lora_alpha chosen so PEFT's scaling equals `scale` (patterns only when ranks differ).
 * Zero-rank modules are left out of target_modules and the tensors. Config keys are sorted as PEFT writes them.
 */
export function exportPeft(input: AdapterExportInput): {
  adapterConfig: Record<string, unknown>;
  adapterModel: Uint8Array;
  rankMap: RankMap;
} {
  const file = 'adapter_model.safetensors';
  const prefix = modelPrefix(input.modelType);
  const seen = new Set<string>();
  const tensors: WritableTensor[] = [];
  const ranks = new Map<string, number>(); // HF module path -> r_m, exported modules only
  for (const m of input.modules) {
    checkModule(m, input.modelType, input.numLayers, file);
    if (seen.has(m.name))
      throw new PeftError('InvalidInput', file, m.name, 'the module appears twice', 'Pass each module once.');
    seen.add(m.name);
    const K = liveIndices(m);
    const r = K.length;
    if (r === 0) continue;
    const A = new Float32Array(r * m.inF);
    K.forEach((k, j) => A.set(m.A.subarray(k * m.inF, (k + 1) * m.inF), j * m.inF));
    const B = new Float32Array(m.outF * r);
    const fold = input.method === 'dora';
    const coef = K.map((k) => (fold ? input.scale * (m.c === null ? 1 : m.c[k]) : 1));
    for (let o = 0; o < m.outF; o++) for (let j = 0; j < r; j++) B[o * r + j] = coef[j] * m.B[o * m.R0 + K[j]];
    const path = prefix + m.name;
    tensors.push({ name: `base_model.model.${path}.lora_A.weight`, dtype: 'F32', shape: [r, m.inF], data: A });
    tensors.push({ name: `base_model.model.${path}.lora_B.weight`, dtype: 'F32', shape: [m.outF, r], data: B });
    ranks.set(path, r);
  }
  if (ranks.size === 0) {
    throw new PeftError(
      'InvalidInput',
      file,
      'modules',
      'no module has a live component',
      'PEFT cannot load an adapter without target modules; train longer or keep a larger budget.',
    );
  }

  if (input.task === 'SEQ_CLS' && input.head.size === 0) {
    throw new PeftError(
      'InvalidInput',
      file,
      'head',
      'a SEQ_CLS adapter needs its trained classifier',
      'Pass the classifier tensors in `head`.',
    );
  }
  if (input.task === 'CAUSAL_LM' && input.head.size > 0) {
    throw new PeftError(
      'InvalidInput',
      file,
      'head',
      'a CAUSAL_LM adapter has no head to save',
      'Pass an empty `head` map.',
    );
  }
  const headModules = archFor(input.modelType).headModules(input.task === 'SEQ_CLS' ? 'seq-cls' : 'causal-lm');
  for (const [name, t] of input.head) {
    if (!headModules.some((h) => name.startsWith(`${h}.`))) {
      throw new PeftError(
        'InvalidInput',
        file,
        name,
        `only head tensors can be saved (modules_to_save is ${JSON.stringify(headModules)})`,
        'Leave frozen backbone tensors out of `head`.',
      );
    }
    if (t.shape.reduce((a, b) => a * b, 1) !== t.data.length) {
      throw new PeftError(
        'InvalidInput',
        file,
        name,
        `shape [${t.shape.join(',')}] does not match ${t.data.length} values`,
        'Fix the head tensor.',
      );
    }
    tensors.push({ name: `base_model.model.${name}`, dtype: 'F32', shape: [...t.shape], data: t.data });
  }

  const rs = [...ranks.values()];
  const r = mostCommon(rs);
  const rankPattern: Record<string, number> = {};
  const alphaPattern: Record<string, number> = {};
  let loraAlpha: number;
  if (input.method === 'dora') {
    loraAlpha = r;
    for (const [path, rm] of ranks) rankPattern[path] = alphaPattern[path] = rm;
  } else {
    loraAlpha = alphaFor(r, input);
    if (rs.some((x) => x !== r)) {
      for (const [path, rm] of ranks) {
        rankPattern[path] = rm;
        alphaPattern[path] = alphaFor(rm, input);
      }
    }
  }

  const adapterConfig = sortedObject({
    alpha_pattern: alphaPattern,
    base_model_name_or_path: input.baseModel,
    bias: 'none',
    fan_in_fan_out: archFor(input.modelType).layout === 'conv1d',
    inference_mode: true,
    init_lora_weights: true,
    layers_pattern: null,
    layers_to_transform: null,
    lora_alpha: loraAlpha,
    lora_dropout: input.dropout,
    modules_to_save: headModules.length ? headModules : null,
    peft_type: 'LORA',
    r,
    rank_pattern: rankPattern,
    revision: null,
    // Full module paths: under PEFT's suffix rule each selects exactly its own module, so PEFT adapts the same set as
    // the trainer's whole-type rule (a bare `output.dense` would also select `attention.output.dense`).
    target_modules: [...ranks.keys()],
    task_type: input.task,
    use_dora: false,
    use_rslora: input.method === 'lora' ? input.useRslora : false,
  });
  return {
    adapterConfig,
    adapterModel: writeSafetensors(tensors, { format: 'pt' }, file),
    rankMap: buildRankMap(input),
  };
}
