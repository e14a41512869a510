// Tolerant reader for any Hugging Face PEFT LoRA adapter (FORMATS.md §6): `.default` adapter names, optional
// `base_model.model.` and model prefixes, per-module ranks from the tensors, rank/alpha patterns matched as PEFT does.

import { toFloat32 } from '../models/safetensorsDecode';
import type { TensorEntry } from '../models/safetensorsFormat';
import { parseSafetensors } from '../models/safetensorsRead';
import type { HostTensor } from '../models/weights';
import { adaptableHint, type ModelType, modelPrefix, PeftError, parseModuleName } from './export';
import { compileModulePattern, type ModulePattern, PatternSyntaxError } from './pattern';

/** One imported LoRA module; its update is scaling·B·A in nn.Linear (out,in) layout, also for GPT-2's Conv1D. */
interface ImportedModule {
  /** Canonical module path (no model prefix). */
  name: string;
  inF: number;
  outF: number;
  r: number;
  /** (r, inF) row-major. */
  A: Float32Array;
  /** (outF, r) row-major. */
  B: Float32Array;
  scaling: number;
}

/** A PEFT LoRA adapter as dynrank uses it. */
export interface ImportedAdapter {
  method: 'lora';
  /** Sorted by layer, then module type. */
  modules: ImportedModule[];
  /** modules_to_save tensors by canonical name, e.g. 'classifier.weight'. */
  head: Map<string, HostTensor>;
  /** adapter_config.json as parsed, unknown keys included. */
  config: Record<string, unknown>;
  /** Oddities that did not stop the import (e.g. a config rank that disagrees with the tensors). */
  warnings: string[];
}

const CONFIG = 'adapter_config.json';
const MODEL = 'adapter_model.safetensors';
const HTML_FIX =
  'Download the raw file (on the Hub, the ".../resolve/main/..." link, not the ".../blob/main/..." page).';

function parseConfig(text: string): Record<string, unknown> {
  const t = text.replace(/^\uFEFF/, '');
  if (/^\s*</.test(t)) throw new PeftError('InvalidConfig', CONFIG, 'file', 'this is an HTML page, not JSON', HTML_FIX);
  let v: unknown;
  try {
    v = JSON.parse(t);
  } catch (e) {
    const detail = e instanceof Error ? ` (${e.message.slice(0, 160)})` : '';
    throw new PeftError(
      'InvalidConfig',
      CONFIG,
      'file',
      `not valid JSON${detail}`,
      'Re-download or re-save the adapter with PEFT.',
    );
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new PeftError(
      'InvalidConfig',
      CONFIG,
      'file',
      'the JSON is not an object',
      'Pass the adapter_config.json that PEFT wrote.',
    );
  }
  return v as Record<string, unknown>;
}

function numberField(cfg: Record<string, unknown>, key: string, dflt: number, positiveInt: boolean): number {
  const v = cfg[key];
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'number' || !Number.isFinite(v) || (positiveInt && !(Number.isInteger(v) && v > 0))) {
    const want = positiveInt ? 'a positive integer' : 'a number';
    throw new PeftError(
      'InvalidConfig',
      CONFIG,
      key,
      `${JSON.stringify(v)} is not ${want}`,
      `Fix "${key}" in the config.`,
    );
  }
  return v;
}

interface Pattern {
  key: string;
  re: ModulePattern;
  value: number;
}

function patterns(cfg: Record<string, unknown>, field: 'rank_pattern' | 'alpha_pattern'): Pattern[] {
  const v = cfg[field];
  if (v === undefined || v === null) return [];
  if (typeof v !== 'object' || Array.isArray(v)) {
    throw new PeftError(
      'InvalidConfig',
      CONFIG,
      field,
      'is not an object {module pattern: value}',
      `Fix or remove "${field}".`,
    );
  }
  return Object.entries(v as Record<string, unknown>).map(([key, value]) => {
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
      throw new PeftError(
        'InvalidConfig',
        CONFIG,
        `${field}.${key}`,
        `${JSON.stringify(value)} is not a positive number`,
        `Fix "${field}".`,
      );
    }
    let re: ModulePattern;
    try {
      // PEFT: re.match(rf"(.*\.)?({key})$", module_name), matched here in linear time (pattern.ts).
      re = compileModulePattern(key);
    } catch (e) {
      if (!(e instanceof PatternSyntaxError)) throw e;
      const problem = `the key ${JSON.stringify(key)} is not supported: ${e.reason}`;
      throw new PeftError(
        'BadPattern',
        CONFIG,
        `${field}.${key}`,
        problem,
        `Use module names (h.0.attn.c_attn), ".*", "\\d+", classes such as [0-9] and alternation (a|b) in "${field}".`,
      );
    }
    return { key, re, value };
  });
}

/** PEFT's get_pattern_key: the first pattern matching the full HF module path. */
function first(ps: Pattern[], path: string): Pattern | undefined {
  return ps.find((p) => p.re.test(path));
}

function stripPrefix(name: string, prefix: string): string {
  return name.startsWith(prefix) ? name.slice(prefix.length) : name;
}

const LORA_KEY = /^(.+)\.lora_(A|B)(?:\.([^.]+))?\.(weight|bias)$/;

/**
 * Reads a PEFT LoRA adapter (adapter_config.json text + adapter_model.safetensors bytes) for `modelType`.
 * Ranks come from the tensor shapes; scaling is alpha_m/r_m (alpha_m/√r_m with use_rslora), alpha_m from
 * alpha_pattern or lora_alpha. GPT-2 modules are treated as Conv1D whatever fan_in_fan_out says (the LoRA tensors
 * are nn.Linear-layout either way). Throws PeftError (or SafetensorsError for a corrupt file).
 */
export function importPeft(configJson: string, adapterBytes: Uint8Array, modelType: ModelType): ImportedAdapter {
  const config = parseConfig(configJson);
  const peftType = config.peft_type;
  if (peftType !== undefined && peftType !== 'LORA') {
    throw new PeftError(
      'NotLora',
      CONFIG,
      'peft_type',
      `this is a ${JSON.stringify(peftType)} adapter, not LoRA`,
      'Only PEFT LoRA adapters (peft_type "LORA") can be imported; convert or merge it in PEFT first.',
    );
  }
  if (config.use_dora === true) {
    throw new PeftError(
      'UseDora',
      CONFIG,
      'use_dora',
      "use_dora is true: that is Liu et al.'s weight-decomposed DoRA, a different method from dynrank's dynamic-rank adaptation",
      'Merge it in PEFT (merge_and_unload) and load the merged model instead.',
    );
  }
  const r0 = numberField(config, 'r', 8, true);
  const alpha0 = numberField(config, 'lora_alpha', 8, false);
  const rslora = config.use_rslora === true;
  const rankPat = patterns(config, 'rank_pattern');
  const alphaPat = patterns(config, 'alpha_pattern');

  const head0 = adapterBytes.subarray(0, 64);
  if (/^\s*</.test(new TextDecoder('latin1').decode(head0))) {
    throw new PeftError('InvalidConfig', MODEL, 'file', 'this is an HTML page, not a safetensors file', HTML_FIX);
  }
  const st = parseSafetensors(adapterBytes, MODEL);
  const prefix = modelPrefix(modelType);
  const pairs = new Map<string, { A?: TensorEntry; B?: TensorEntry }>();
  const head = new Map<string, HostTensor>();
  for (const [key, entry] of st.tensors) {
    const n = stripPrefix(key, 'base_model.model.');
    const m = LORA_KEY.exec(n);
    if (m === null) {
      if (n.includes('lora_magnitude_vector')) {
        throw new PeftError(
          'UseDora',
          MODEL,
          key,
          "a DoRA magnitude vector: this is Liu et al.'s weight-decomposed DoRA",
          'Merge it in PEFT and load the merged model instead.',
        );
      }
      if (/(^|\.)lora_/.test(n)) {
        throw new PeftError(
          'UnknownModule',
          MODEL,
          key,
          'an unsupported LoRA tensor (only lora_A/lora_B on linear layers are supported)',
          'Export an adapter that targets linear layers only.',
        );
      }
      if (n.includes('.original_module.')) continue; // PEFT's frozen copy of a modules_to_save module
      const name = stripPrefix(n.replace(/\.modules_to_save\.[^.]+(?=\.)/, ''), prefix);
      if (head.has(name))
        throw new PeftError(
          'InvalidConfig',
          MODEL,
          key,
          `a second tensor for ${name}`,
          'Save the adapter with a single adapter name.',
        );
      head.set(name, { shape: [...entry.shape], data: toFloat32(entry, MODEL).slice() });
      continue;
    }
    const [, path, which, , param] = m;
    if (param === 'bias') {
      throw new PeftError(
        'LoraBias',
        MODEL,
        key,
        'LoRA bias tensors (lora_bias=True) are not supported',
        'Train or export the adapter with lora_bias=False.',
      );
    }
    const name = stripPrefix(path, prefix);
    if (parseModuleName(name, modelType) === null) {
      throw new PeftError(
        'UnknownModule',
        MODEL,
        key,
        `"${name}" is not an adaptable linear of ${modelType}`,
        `Check the adapter was trained for a ${modelType} model; adaptable modules are ${adaptableHint(modelType)}.`,
      );
    }
    const p = pairs.get(name) ?? {};
    if (p[which as 'A' | 'B'] !== undefined) {
      throw new PeftError(
        'InvalidConfig',
        MODEL,
        key,
        `a second lora_${which} for ${name}`,
        'Save the adapter with a single adapter name.',
      );
    }
    p[which as 'A' | 'B'] = entry;
    pairs.set(name, p);
  }

  const warnings: string[] = [];
  const modules: ImportedModule[] = [];
  for (const [name, { A, B }] of pairs) {
    const missing = A === undefined ? 'lora_A' : B === undefined ? 'lora_B' : null;
    if (missing !== null)
      throw new PeftError(
        'MissingTensor',
        MODEL,
        `${name}.${missing}.weight`,
        'missing',
        'Re-export the adapter; every module needs lora_A and lora_B.',
      );
    const a = A!;
    const b = B!;
    if (a.shape.length !== 2 || b.shape.length !== 2) {
      throw new PeftError(
        'RankMismatch',
        MODEL,
        name,
        `lora_A shape [${a.shape}] / lora_B shape [${b.shape}] are not 2-D`,
        'Re-export the adapter.',
      );
    }
    const [r, inF] = a.shape;
    const [outF, rB] = b.shape;
    if (rB !== r || r === 0) {
      throw new PeftError(
        'RankMismatch',
        MODEL,
        `${name}.lora_B.weight`,
        `shape [${b.shape}] does not match lora_A's rank ${r} (lora_A [${a.shape}])`,
        'The adapter is corrupt or mixes two adapters; re-export it.',
      );
    }
    const hfPath = prefix + name;
    const rp = first(rankPat, hfPath);
    const ap = first(alphaPat, hfPath);
    const rCfg = rp?.value ?? r0;
    if (rCfg !== r) warnings.push(`${name}: the config gives rank ${rCfg} but the tensors have rank ${r}; using ${r}.`);
    const alpha = ap?.value ?? alpha0;
    const scaling = rslora ? alpha / Math.sqrt(r) : alpha / r;
    modules.push({ name, inF, outF, r, A: toFloat32(a, MODEL).slice(), B: toFloat32(b, MODEL).slice(), scaling });
  }
  const order = (n: string) => {
    const p = parseModuleName(n, modelType)!;
    return p.layer * 16 + p.row;
  };
  modules.sort((x, y) => order(x.name) - order(y.name));
  return { method: 'lora', modules, head, config, warnings };
}
