// The shape of one `npm run bench` run (scripts/bench.mjs writes it as JSON) and the small markdown helpers every
// section of the report shares: verdicts, tables, number and matmul cells.

import type { StepResult } from './engine';
import type { LlamaStepResult } from './llama';
import type { MatmulResult } from './matmul';
import type { MemoryPlanRow } from './memoryPlans';
import type { PairedStepResult } from './pairedStep';
import type { ResponsiveSection } from './responsive';

export interface AdapterInfo {
  vendor: string;
  architecture: string;
  description?: string;
  isFallback?: boolean;
}
/** One shape of the peers' runMM reply (bench/peers/www/mm_bench.js). */
export interface PeerMatmul {
  shape: string;
  ms?: number;
  gflops?: number;
  error?: string;
  err?: { maxAbs: number };
  rounds?: number[];
}
/** `paired`: timed in our engine's page, alternating with ours (src/bench/matmul.ts pairedMatmul). */
export interface PeerMatmulRun {
  results?: PeerMatmul[];
  error?: string;
  paired?: boolean;
  version?: string;
}
/** The peers' runGpt reply (gpt_tf.js / gpt_jax.js). */
export interface PeerStep {
  stepMs?: { median: number; min: number; max: number; n: number };
  firstStepMs?: number;
  losses?: number[];
  error?: string;
}
/** `jaxMatmul`: jax-js in the same Node process, in turns with ours (absent in runs before it was added). */
export interface NodeSection {
  runtime?: string;
  adapter?: AdapterInfo;
  matmul?: MatmulResult[];
  jaxMatmul?: PeerMatmul[];
  steps?: StepResult[];
  error?: string;
}

export interface BenchRun {
  date: string;
  wallS?: number;
  browser?: string;
  host: { cores: number; loadStart: string; loadEnd?: string; topStart?: string[] };
  adapters: { page?: AdapterInfo; enginePage?: AdapterInfo | null; peersPage?: AdapterInfo | null; node?: AdapterInfo };
  /** pairedSteps: the tiny GPT-2 step, ours and jax-js's in turns in one page; llamaSteps: the SmolLM2-shaped step. */
  engine: {
    matmul: MatmulResult[];
    steps: StepResult[];
    error?: string;
    stepError?: string;
    pairedSteps?: PairedStepResult[];
    llamaSteps?: LlamaStepResult[];
    llamaError?: string;
  };
  peers: { mm: Record<string, PeerMatmulRun>; gpt: Record<string, { full?: PeerStep; lora?: PeerStep }> };
  node: NodeSection | null;
  /** The memory plans of the shapes the bench aims at (src/bench/memoryPlans.ts), computed from shapes alone. */
  memoryPlans?: MemoryPlanRow[];
  /** The page's main-thread figures (src/bench/responsive.ts); absent when the section did not run. */
  responsive?: ResponsiveSection;
  log: { name: string; wallS: number; load: string; error?: string }[];
}

export type Verdict = 'met' | 'missed' | 'n/a';
export const verdict = (ok: boolean | null): Verdict => (ok === null ? 'n/a' : ok ? 'met' : 'missed');
/** Tokens per step of the peers' model (B=8, T=64), for every contender. */
export const TOKENS_PER_STEP = 512;

export function adapterSlug(a: AdapterInfo | null | undefined): string {
  return a ? `${a.vendor || 'unknown'}-${a.architecture || 'unknown'}`.replace(/[^\w.-]+/g, '_') : 'no-adapter';
}

export function table(rows: string[][]): string {
  return [rows[0], rows[0].map(() => '---'), ...rows.slice(1)].map((r) => `| ${r.join(' | ')} |`).join('\n');
}

export const num = (x: number | undefined | null, d = 2): string =>
  x == null || !Number.isFinite(x) ? '–' : x >= 100 ? x.toFixed(0) : x.toFixed(d);
export const mmCell = (g: number | undefined, ms: number | undefined) =>
  g == null ? '–' : `**${num(g)}** (${num(ms, 1)} ms)`;
