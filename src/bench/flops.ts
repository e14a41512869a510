// Model FLOPs of one training step, counted from the shapes (the MFU convention of PaLM, Chowdhery et al. 2022,
// appendix B): a multiply-add is 2 FLOPs; a matmul's backward costs twice its forward (input gradient + weight
// gradient); attention's score and value products count at full T×T (no causal halving), forward plus twice that
// backward. Frozen weights skip their weight gradient: 4 FLOPs per weight and token instead of 6. Elementwise work,
// norms and the optimizer are not counted. Also the float32 peak of known GPUs, for the fraction of peak a step uses.

import { adaptableModules, archFor, type ModelConfig } from '../models/arch/index';
import { matchesTarget } from '../peft/adapters';

/** A matmul weight of the network: `inF` × `outF`, and whether it carries an adapter. */
interface FlopLinear {
  inF: number;
  outF: number;
  adapted: boolean;
}

/** What a step's FLOPs depend on. */
export interface FlopShape {
  /** Every linear layer of every block. */
  linears: FlopLinear[];
  /** The LM head (hidden × vocab; a tied head is counted here, never as the embedding gather), or null. */
  head: { inF: number; outF: number } | null;
  /** Attention: layers, and the width of the query/key products (heads × head dim). */
  attention: { layers: number; width: number };
  B: number;
  T: number;
}

export interface StepFlopOptions {
  /** 'full': every linear and the head train; 'adapter': base weights frozen, adapters of `rank` on the adapted ones. */
  method: 'full' | 'adapter';
  /** Adapter rank (LoRA r; dynamic rank's R0 with every component live). Unused for 'full'. */
  rank?: number;
}

export interface StepFlops {
  /** Base linear layers and the head. */
  matmul: number;
  attention: number;
  adapters: number;
  total: number;
}

export function stepFlops(s: FlopShape, opts: StepFlopOptions): StepFlops {
  const tokens = s.B * s.T;
  const perWeight = opts.method === 'full' ? 6 : 4;
  let weights = s.head ? s.head.inF * s.head.outF : 0;
  for (const l of s.linears) weights += l.inF * l.outF;
  const matmul = perWeight * weights * tokens;
  // QKᵀ and P·V: 2 FLOPs × T × width each per token, forward; the backward twice that.
  const attention = 3 * 2 * 2 * s.attention.layers * s.attention.width * s.T * tokens;
  let adapters = 0;
  if (opts.method === 'adapter') {
    const r = opts.rank ?? 0;
    if (!(Number.isInteger(r) && r >= 1)) throw new RangeError(`stepFlops: adapter rank must be >= 1, got ${r}`);
    // x·Aᵀ and h·Bᵀ forward; their input and weight gradients backward: 6 FLOPs per adapter weight and token.
    for (const l of s.linears) if (l.adapted) adapters += 6 * r * (l.inF + l.outF) * tokens;
  }
  return { matmul, attention, adapters, total: matmul + attention + adapters };
}

/** The FlopShape of a causal-LM config at batch B×T, the modules of `targets` adapted. */
export function flopShapeOf(
  config: ModelConfig,
  opts: { B: number; T: number; targets: readonly string[] },
): FlopShape {
  const dims = archFor(config).dims(config);
  const headDim = (config.arch as { headDim?: number }).headDim ?? dims.hidden / dims.heads;
  return {
    linears: adaptableModules(config).map((m) => ({
      inF: m.inF,
      outF: m.outF,
      adapted: matchesTarget(m.type, opts.targets),
    })),
    head: config.task === 'causal-lm' ? { inF: dims.hidden, outF: dims.vocab } : null,
    attention: { layers: dims.layers, width: dims.heads * headDim },
    B: opts.B,
    T: opts.T,
  };
}

/** Dense float32 (non-tensor-core) peaks in TFLOP/s from the vendors' data sheets, matched against the device name,
 * first match wins. */
export const F32_PEAK_TFLOPS: readonly { match: RegExp; name: string; tflops: number }[] = [
  { match: /h200/i, name: 'NVIDIA H200', tflops: 67 },
  { match: /h100.*pcie/i, name: 'NVIDIA H100 PCIe', tflops: 51 },
  { match: /h100/i, name: 'NVIDIA H100 SXM', tflops: 67 },
  { match: /a100/i, name: 'NVIDIA A100', tflops: 19.5 },
  { match: /l40s/i, name: 'NVIDIA L40S', tflops: 91.6 },
  { match: /\bl4\b/i, name: 'NVIDIA L4', tflops: 30.3 },
  { match: /\bt4\b/i, name: 'NVIDIA T4', tflops: 8.1 },
  { match: /4090/i, name: 'NVIDIA RTX 4090', tflops: 82.6 },
];

/** The peak the fraction of peak is taken against, and where it came from. */
export interface F32Peak {
  tflops: number;
  source: string;
}

const PEAK_ENV = 'BENCH_PEAK_TFLOPS';

/** The env override (BENCH_PEAK_TFLOPS) when set, else the table's entry for `deviceName`, else null (unknown). */
export function f32Peak(deviceName: string, env: NodeJS.ProcessEnv = process.env): F32Peak | null {
  const raw = env[PEAK_ENV];
  if (raw !== undefined && raw !== '') {
    const v = Number(raw);
    if (!(Number.isFinite(v) && v > 0))
      throw new RangeError(`${PEAK_ENV}=${raw}: set it to the device's float32 peak in TFLOP/s, a positive number`);
    return { tflops: v, source: `${PEAK_ENV}=${raw}` };
  }
  const hit = F32_PEAK_TFLOPS.find((p) => p.match.test(deviceName));
  return hit ? { tflops: hit.tflops, source: `${hit.name} data sheet` } : null;
}
