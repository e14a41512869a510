// config.json's rope settings for the Llama family (rope_theta, rope_scaling / rope_parameters): default and llama3
// rope only, everything else refused by field name. Also the small JSON helpers the config parser shares.

import type { RopeConfig, RopeScaling } from '../../ops/rope';
import { ConfigError } from '../config';

/** A config.json rope field the engine cannot use; names the file and the field. */
export class RopeConfigError extends ConfigError {}

export const REEXPORT = 'Fix the file or re-export the model with transformers';

export const isObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);

export interface RopeConfigOptions {
  /** head_dim of the model (config `head_dim`, or hidden_size / num_attention_heads). */
  headDim: number;
  /** Named in error messages. */
  file?: string;
}

/** rope_type values parseRopeConfig accepts. */
const SUPPORTED_ROPE_TYPES = ['default', 'llama3'] as const;

/**
 * The rope settings of a config.json: `rope_theta` (default 10000, as transformers' LlamaConfig) and `rope_scaling`
 * (null, or an object with `rope_type`, or the older key `type`), or the newer combined `rope_parameters` object.
 * Refuses rope types other than default and llama3 (linear, dynamic, yarn, longrope, ...) by name, and partial rotary
 * embeddings, with a RopeConfigError naming the field.
 */
export function parseRopeConfig(raw: Record<string, unknown>, opts: RopeConfigOptions): RopeConfig {
  const file = opts.file ?? 'config.json';
  const fail = (field: string, problem: string, fix: string): never => {
    throw new RopeConfigError(file, field, `${file}: ${field}: ${problem}. ${fix}`);
  };
  const { headDim } = opts;
  if (!Number.isInteger(headDim) || headDim <= 0 || headDim % 2 !== 0) {
    fail(
      'head_dim',
      `rotary embeddings need an even, positive head size, got ${headDim}`,
      'Check head_dim (or hidden_size / num_attention_heads) in the file',
    );
  }
  const combined = raw.rope_parameters;
  if (combined !== undefined && combined !== null && !isObject(combined)) {
    fail('rope_parameters', `expected an object, got ${JSON.stringify(combined)}`, REEXPORT);
  }
  const scalingField = isObject(combined) ? 'rope_parameters' : 'rope_scaling';
  const scalingRaw = isObject(combined) ? combined : raw.rope_scaling;
  if (scalingRaw !== undefined && scalingRaw !== null && !isObject(scalingRaw)) {
    fail(scalingField, `expected an object or null, got ${JSON.stringify(scalingRaw)}`, REEXPORT);
  }
  const scalingObj = (scalingRaw ?? {}) as Record<string, unknown>;

  const thetaInCombined = isObject(combined) && combined.rope_theta !== undefined;
  const thetaField = thetaInCombined ? 'rope_parameters.rope_theta' : 'rope_theta';
  const thetaRaw = thetaInCombined ? (combined as Record<string, unknown>).rope_theta : raw.rope_theta;
  const theta = thetaRaw === undefined || thetaRaw === null ? 10000 : thetaRaw;
  if (typeof theta !== 'number' || !Number.isFinite(theta) || theta <= 1) {
    fail(thetaField, `expected a number > 1, got ${JSON.stringify(thetaRaw)}`, REEXPORT);
  }

  const partial = raw.partial_rotary_factor ?? scalingObj.partial_rotary_factor;
  if (partial !== undefined && partial !== null && partial !== 1) {
    fail(
      'partial_rotary_factor',
      `partial rotary embeddings (${JSON.stringify(partial)}) are not supported`,
      'Use a Llama, SmolLM2, Qwen2.5 or Qwen3 model, which rotate the whole head',
    );
  }

  const typeKey = scalingObj.rope_type !== undefined ? 'rope_type' : 'type';
  const type = scalingObj[typeKey] ?? 'default';
  if (type === 'default') return { headDim, theta: theta as number, scaling: { type: 'default' } };
  if (type !== 'llama3') {
    fail(
      `${scalingField}.${typeKey}`,
      `rope type ${JSON.stringify(type)} is not supported (supported: ${SUPPORTED_ROPE_TYPES.join(', ')})`,
      'Use a model whose config.json has no rope scaling or rope_type "llama3"',
    );
  }
  const positive = (key: string): number => {
    const v = scalingObj[key];
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
      fail(`${scalingField}.${key}`, `llama3 rope scaling needs a positive number, got ${JSON.stringify(v)}`, REEXPORT);
    }
    return v as number;
  };
  const scaling: RopeScaling = {
    type: 'llama3',
    factor: positive('factor'),
    lowFreqFactor: positive('low_freq_factor'),
    highFreqFactor: positive('high_freq_factor'),
    originalMaxPositionEmbeddings: positive('original_max_position_embeddings'),
  };
  if (scaling.highFreqFactor <= scaling.lowFreqFactor) {
    fail(
      `${scalingField}.high_freq_factor`,
      `must exceed low_freq_factor (${scaling.lowFreqFactor}), got ${scaling.highFreqFactor}`,
      REEXPORT,
    );
  }
  return { headDim, theta: theta as number, scaling };
}
