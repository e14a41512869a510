// Emulates the backward of an LM head in f16 arithmetic, as shaders/matmul.wgsl computes it with T = f16: the input
// gradient dx = dlogits · W over a GPT-2 / Qwen vocabulary, with the logit gradients rounded to f16 as they are
// (unscaled) and after the operand scale of shaders/matmul_f16.wgsl. Prints the relative L2 error of each against
// float64 and the share of logit gradients that round to 0. Figures: docs/design.md (f16 arithmetic).
// Usage: npx tsx tools/f16_lm_head.ts

import { f16OperandScale } from '../src/ops/matmul';
import { f16ToF32, f32ToF16 } from '../src/tensor/half';

const half = (x: number) => f16ToF32(f32ToF16(x));
let seed = 1;
const uniform = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
const gauss = () => Math.sqrt(-2 * Math.log(uniform() + 1e-12)) * Math.cos(2 * Math.PI * uniform());

/** [vocabulary, label tokens per step, standard deviation of the logits]. */
const CASES = [
  [50257, 1024, 1],
  [50257, 1024, 3],
  [50257, 2048, 3],
  [151936, 1024, 3],
] as const;
const C = 64; // columns of dx computed (a slice of the hidden width is enough for the error)

for (const [V, N, std] of CASES) {
  const W = Float64Array.from({ length: V * C }, () => half(gauss() * 0.02));
  const z = Float64Array.from({ length: V }, () => gauss() * std);
  let zmax = -Infinity;
  for (const x of z) zmax = Math.max(zmax, x);
  let zsum = 0;
  for (const x of z) zsum += Math.exp(x - zmax);
  const target = 7;
  const d = Float64Array.from(z, (x, i) => (Math.exp(x - zmax) / zsum - (i === target ? 1 : 0)) / N);
  let dmax = 0,
    zeros = 0;
  for (const x of d) {
    dmax = Math.max(dmax, Math.abs(x));
    if (half(x) === 0) zeros++;
  }
  const s = f16OperandScale(dmax);
  let norm = 0,
    errPlain = 0,
    errScaled = 0;
  for (let c = 0; c < C; c++) {
    let exact = 0,
      plain = 0,
      scaled = 0;
    for (let v = 0; v < V; v++) {
      const w = W[v * C + c];
      exact += d[v] * w;
      plain += half(half(d[v]) * w);
      scaled += half(half(d[v] * s) * w);
    }
    norm += exact ** 2;
    errPlain += (exact - plain) ** 2;
    errScaled += (exact - scaled / s) ** 2;
  }
  console.log(
    `vocab ${V}, ${N} tokens, logit std ${std}: dx relative L2 error unscaled ${Math.sqrt(errPlain / norm).toExponential(2)}, ` +
      `scaled ${Math.sqrt(errScaled / norm).toExponential(2)}; logit gradients rounding to 0 in f16: ${((100 * zeros) / V).toFixed(1)}%`,
  );
}
