// Adapter injection: the dynamic-rank adapter of Mao et al. (components A_i, B_i, c_i) and LoRA, attached to a
// model's linear layers. Every adapted module's parameters are packed into one tensor (theta), so AdamW, the gradient
// norm and zeroing are one dispatch each, and all c's sit contiguously at offset 0 for the global pruning threshold.

import { ARCHITECTURES } from '../models/arch/index';
import type { Linear, LinearAdapter } from '../nn/linear';
import { adapterSlotTable, MAX_IMPORTANCE_R0, SLOT_FIELDS } from '../ops/adapter';
import type { AdapterCall, AdapterSlot, AdapterSlots, Backend, Tensor } from '../tensor/backend';
import { Rng } from '../tensor/rng';

type Method = 'dora' | 'lora';

/** lora_alpha when none is given, for both methods: PEFT's LoraConfig default and the authors' code (METHOD.md §1). */
export const DEFAULT_ALPHA = 8;

export interface AdapterOptions {
  method: Method;
  /** Dynamic rank: initial components per module; LoRA: the rank r. */
  R0: number;
  /** lora_alpha (DEFAULT_ALPHA = 8 unless chosen). */
  alpha: number;
  /** Dropout on the adapter input (0.1 in the authors' code). */
  dropout: number;
  /** LoRA only: scale alpha/sqrt(r) instead of alpha/r. */
  rslora?: boolean;
  seed: number;
}

/** One adapted linear layer. */
export interface AdaptedModule {
  index: number;
  linear: Linear;
  slot: AdapterSlot;
  /** Live components when compacted after the final mask (null: all R0). */
  liveCount: number;
}

/** Kaiming-uniform bound as torch.nn.init.kaiming_uniform_(w, a): gain sqrt(2/(1+a^2)) times sqrt(3/fan_in). */
function kaimingBound(fanIn: number, a = 0): number {
  return Math.sqrt(2 / (1 + a * a)) * Math.sqrt(3 / fanIn);
}

export class AdapterSet {
  readonly modules: AdaptedModule[];
  readonly size: number;
  readonly theta: Tensor;
  readonly grad: Tensor;
  readonly live: Tensor;
  /** Every module's slot, for the passes over all modules in one dispatch (importance, DEM). */
  readonly slots: AdapterSlots;
  readonly scale: number;
  /** Dropout seed of the current step; the trainer advances it so masks differ between steps. */
  stepSeed = 0;
  /** Eval mode: no dropout (generation, evaluation, logits). */
  training = true;
  /** The current micro-batch's first batch row and row count within the step's batch (null: the whole batch). Input
   * dropout draws each row's mask at the elements the row has in the whole batch's input, so micro-batches drop
   * exactly what one batch would. */
  microRows: { first: number; count: number } | null = null;
  /** Activation recomputation: the modules of one type (`attn.c_attn`) share their saved activations across blocks,
   * as the blocks share theirs; each block's backward follows a rerun of its forward, which refills them. */
  shareActivations = false;
  /** Set once the modules are restricted to their final live components. */
  compacted = false;
  private readonly scratch = new Map<string, Tensor>();

  constructor(
    readonly be: Backend,
    linears: Linear[],
    readonly opts: AdapterOptions,
  ) {
    const R0 = opts.R0;
    if (!(R0 >= 1) || !Number.isInteger(R0)) throw new RangeError(`rank must be a positive integer, got ${R0}`);
    if (linears.length === 0) throw new RangeError('no module to adapt: check the target module types');
    if (opts.method === 'dora' && R0 > MAX_IMPORTANCE_R0) {
      throw new RangeError(
        `R0 = ${R0} initial components exceed the ${MAX_IMPORTANCE_R0} the importance score ` +
          'supports: ' +
          `choose R0 (--r0, "Initial components R0") <= ${MAX_IMPORTANCE_R0}, or a final budget b(T) <= ` +
          `${Math.floor(MAX_IMPORTANCE_R0 / 1.5)} with the default R0 = ceil(1.5 b(T)).`,
      );
    }
    this.scale = opts.method === 'dora' ? opts.alpha / R0 : opts.rslora ? opts.alpha / Math.sqrt(R0) : opts.alpha / R0;
    const M = linears.length;
    let off = opts.method === 'dora' ? M * R0 : 0;
    this.modules = linears.map((linear, index) => {
      const slot: AdapterSlot = {
        inF: linear.inFeatures,
        outF: linear.outFeatures,
        R0,
        offA: off,
        offB: off + R0 * linear.inFeatures,
        offC: opts.method === 'dora' ? index * R0 : -1,
      };
      off += R0 * (linear.inFeatures + linear.outFeatures);
      return { index, linear, slot, liveCount: R0 };
    });
    this.size = off;
    this.theta = be.fromArray(this.initialTheta(), [this.size], 'adapter theta');
    this.grad = be.zeros([this.size], 'f32', 'adapter grad');
    this.live = be.fromArray(
      Int32Array.from({ length: M * R0 }, (_, i) => i % R0),
      [M * R0],
      'live components',
    );
    const slots = this.modules.map((m) => m.slot);
    this.slots = {
      slots,
      table: be.fromArray(adapterSlotTable(slots), [slots.length * SLOT_FIELDS], 'adapter slot table'),
    };
    for (const m of this.modules) m.linear.adapter = this.hook(m);
  }

  /** Number of components per module as c's are packed: M * R0 for the dynamic-rank method, 0 for LoRA. */
  get componentCount(): number {
    return this.opts.method === 'dora' ? this.modules.length * this.opts.R0 : 0;
  }

  /** Trainable adapter parameters during training (all R0 components of every module). */
  get trainableCount(): number {
    return this.size;
  }

  private initialTheta(): Float32Array {
    const rng = new Rng(this.opts.seed),
      theta = new Float32Array(this.modules.reduce((n, m) => Math.max(n, m.slot.offB + m.slot.outF * m.slot.R0), 0));
    for (const { slot } of this.modules) {
      const { inF, outF, R0, offA, offB } = slot;
      // Dynamic rank (authors' code): kaiming_uniform_ defaults for A (fan_in = inF) and B (fan_in = R0), c = 0.
      // LoRA (PEFT): A kaiming_uniform_(a=sqrt 5), B = 0.
      const bA = this.opts.method === 'dora' ? kaimingBound(inF) : kaimingBound(inF, Math.sqrt(5));
      for (let i = 0; i < R0 * inF; i++) theta[offA + i] = rng.uniform(-bA, bA);
      if (this.opts.method === 'dora') {
        const bB = kaimingBound(R0);
        for (let i = 0; i < outF * R0; i++) theta[offB + i] = rng.uniform(-bB, bB);
      }
    }
    return theta;
  }

  /** Scratch tensors sized for N rows, shared by modules of the same width. */
  private buf(key: string, shape: number[]): Tensor {
    const k = `${key}:${shape.join('x')}`;
    let t = this.scratch.get(k);
    if (!t) this.scratch.set(k, (t = this.be.zeros(shape, 'f32', `adapter ${key}`)));
    return t;
  }

  private call(m: AdaptedModule, N: number): AdapterCall {
    return { ...m.slot, N, scale: this.scale, liveOffset: m.index * this.opts.R0, liveCount: m.liveCount };
  }

  private hook(m: AdaptedModule): LinearAdapter {
    const R0 = this.opts.R0,
      p = this.opts.dropout;
    const seed = () => (this.stepSeed * 7919 + m.index * 104729) >>> 0;
    // Saved activations: one set per module, or per module type when shared across blocks.
    const own = (name: string) =>
      this.shareActivations ? `${name} ${moduleType(m.linear.name)}` : `${name}${m.index}`;
    // Rows of x per batch row: T for token activations, 1 for a head's pooled rows.
    const offset = (N: number) => {
      const r = this.microRows;
      return r ? r.first * (N / r.count) * m.slot.inF : 0;
    };
    // Input dropout is drawn inside the adapter's kernels from (seed, offset): the dropped input is never stored, and
    // the backward redraws the forward's mask (the step's seed is unchanged between them).
    const call = (N: number): AdapterCall => ({
      ...this.call(m, N),
      ...(this.training && p > 0 ? { dropout: { p, seed: seed(), offset: offset(N) } } : {}),
    });
    return {
      forward: (be, y, x, N) => {
        // Saved per module for the backward: h = xd A^T (x itself is the linear's input, kept by the model).
        be.adapterForward(y, this.buf(own('h'), [N, R0]), x, this.theta, this.live, call(N));
      },
      backward: (be, dx, dy, x, N) => {
        be.adapterBackward(
          dx,
          this.buf('dh', [N, R0]),
          this.grad,
          dy,
          this.buf(own('h'), [N, R0]),
          x,
          this.theta,
          this.live,
          call(N),
        );
      },
    };
  }

  /** Restricts every module to its live components (after the final mask): pruned ones then cost nothing. */
  compact(liveMask: ArrayLike<number>): void {
    const R0 = this.opts.R0,
      idx = new Int32Array(this.modules.length * R0);
    for (const m of this.modules) {
      let n = 0;
      for (let i = 0; i < R0; i++) if (liveMask[m.index * R0 + i]) idx[m.index * R0 + n++] = i;
      m.liveCount = n;
    }
    this.be.write(this.live, idx);
    this.compacted = true;
  }

  /** FLOPs of the adapters' forward + backward for N rows at the current live counts (the work the kernels do). */
  flopsPerStep(N: number): number {
    return this.modules.reduce((s, m) => s + 2 * N * m.liveCount * (m.slot.inF + m.slot.outF) * 3, 0);
  }

  /** Detaches the adapters from the model's linears. */
  detach(): void {
    for (const m of this.modules) m.linear.adapter = null;
  }
}

/**
 * The one target rule (trainer, memory estimate, page count, export): a module is adapted when its whole module type
 * (the name after the layer lead: `h.N.`, `encoder.layer.N.`, `model.layers.N.`) equals one of `targets`. No suffix
 * matching: `output.dense` is BERT's Wf2 only, never `attention.output.dense` (Wo).
 */
export function matchesTarget(type: string, targets: readonly string[]): boolean {
  return targets.includes(type);
}

/** A target that is not a module type of the model; names the field and lists the valid types. */
export class TargetError extends Error {
  override name = 'TargetError';
  constructor(
    readonly target: string,
    readonly valid: readonly string[],
  ) {
    super(
      `targets: "${target}" is not a module type of this model. Use whole module types (--target on the CLI, ` +
        `"Module types to adapt" on the page): ${valid.join(', ')}.`,
    );
  }
}

/** The linears whose module type matches `types` (matchesTarget); an unknown type is a TargetError. */
export function selectLinears(linears: Linear[], types: readonly string[]): Linear[] {
  const valid = [...new Set(linears.map((l) => moduleType(l.name)))];
  for (const t of types) if (!valid.includes(t)) throw new TargetError(t, valid);
  return linears.filter((l) => matchesTarget(moduleType(l.name), types));
}

/** The module name after its family's layer lead: `h.3.attn.c_attn` -> `attn.c_attn`,
 * `encoder.layer.0.attention.self.query` -> `attention.self.query`, `model.layers.2.mlp.up_proj` -> `mlp.up_proj`. */
export function moduleType(name: string): string {
  for (const a of ARCHITECTURES) {
    const m = a.layerPattern.exec(name);
    if (m) return name.slice(m[0].length);
  }
  return name;
}
