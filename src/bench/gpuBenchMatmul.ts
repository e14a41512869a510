// The matmul sections of the real-GPU benchmark: f32 throughput at the models' widths, and the shader-f16 path,
// checked against float64 and the f32 path before it is timed.

import type { GpuBackend } from '../gpu/backend';
import type { GpuContext } from '../gpu/context';
import {
  type MatmulPhases,
  type MatmulTiling,
  matmulSplitFor,
  resetMatmulVariants,
  setMatmulDoubleBuffer,
  setMatmulF16Arithmetic,
  setMatmulPhases,
  setMatmulPrefetch,
  setMatmulSplitK,
  setMatmulStagingPad,
  setMatmulSwizzle,
  setMatmulTiling,
  setMatmulVectorLoads,
} from '../gpu/kernels/matmulRules';
import { decodeF16, encodeF16 } from '../tensor/half';
import {
  BUDGET_S,
  elapsedS,
  type F16MatmulRow,
  LAST_START_S,
  log,
  type MatmulRow,
  type MatmulShape,
  MORE_SPLITS,
  pct,
  type Resolved,
  type SectionStatus,
} from './gpuBenchCommon';
import { checkSample, fill, timeOps } from './hardwareKit';

/** ms per matmul: n issued back to back in one submission, n grown until a timing takes >= minMs, median of 3. */
async function timeMatmul(be: GpuBackend, run: (n: number) => void, minMs: number): Promise<number> {
  return (await timeOps(be, run, { minMs, warmup: 1 })).msPerOp;
}

const fits = (be: GpuBackend, s: MatmulShape) => 4 * Math.max(s.M * s.N, s.M * s.K, s.K * s.N) <= be.ctx.bindingLimit;

export async function matmulSection(be: GpuBackend, shapes: MatmulShape[], o: Resolved, st: SectionStatus) {
  const rows: MatmulRow[] = [];
  setMatmulTiling('auto');
  for (const s of shapes) {
    if (!fits(be, s)) {
      st.notes.push(`${s.model} ${s.layer} ${s.M}x${s.K}x${s.N}: an operand exceeds the binding limit, not timed`);
      continue;
    }
    if (elapsedS() > LAST_START_S) {
      st.notes.push(`${s.model} ${s.layer}: skipped, past ${LAST_START_S} s of the ${BUDGET_S} s budget`);
      continue;
    }
    const { M, K, N, transB } = s;
    const ha = fill(M * K, 3, 1),
      hb = fill(K * N, 4, 1);
    const a = be.fromArray(ha, [M, K]),
      b = be.fromArray(hb, transB ? [N, K] : [K, N]),
      c = be.zeros([M, N]);
    const p = { M, K, N, transB };
    try {
      be.matmul(c, a, b, null, p);
      be.flush();
      await checkSample(be, c, ha, hb, { ...p, transA: false });
      const timeAt = async (t: MatmulTiling) => {
        setMatmulTiling(t);
        return timeMatmul(
          be,
          (n) => {
            for (let i = 0; i < n; i++) be.matmul(c, a, b, null, p);
          },
          o.smoke ? 2 : 100,
        );
      };
      const rate = (msOp: number) => (2 * M * K * N) / (msOp / 1000) / 1e12;
      const ms = await timeAt('auto');
      const tflops = rate(ms);
      // The 128x128 contender, checked before it is timed (a wrong result is a problem, not a time).
      setMatmulTiling(128);
      be.matmul(c, a, b, null, p);
      be.flush();
      await checkSample(be, c, ha, hb, { ...p, transA: false, label: `${s.model} ${s.layer} 128x128 tiles` });
      const ms128 = await timeAt(128);
      const tflops128 = rate(ms128);
      // 'auto' again unswizzled (k-fast operands padded as the pad rule says), with no staging row padded and with
      // both operands' padded, without the split and with MORE_SPLITS times the splits where 'auto' splits K, with
      // element loads, and with prefetch (in two staging buffers where they fit, and in one; also on 128x128 tiles);
      // each checked first, and the variants put back to their defaults after it.
      const variant = async (label: string, set: () => void, tiling: MatmulTiling = 'auto') => {
        try {
          set();
          setMatmulTiling(tiling);
          be.matmul(c, a, b, null, p);
          be.flush();
          await checkSample(be, c, ha, hb, { ...p, transA: false, label: `${s.model} ${s.layer} ${label}` });
          return rate(await timeAt(tiling));
        } finally {
          resetMatmulVariants();
        }
      };
      const tflopsUnswizzled = await variant('unswizzled', () => setMatmulSwizzle(false));
      const tflopsPadNone = await variant('unpadded', () => setMatmulStagingPad('none'));
      const tflopsPadBoth = await variant('both padded', () => setMatmulStagingPad('both'));
      const { splits } = matmulSplitFor(M, K, N, 1);
      const tflopsNoSplit = splits > 1 ? await variant('no split', () => setMatmulSplitK('off')) : null;
      const tflopsMoreSplits =
        splits > 1 ? await variant(`${MORE_SPLITS}x splits`, () => setMatmulSplitK(MORE_SPLITS * splits)) : null;
      const tflopsElementLoads = await variant('element loads', () => setMatmulVectorLoads(false));
      const tflopsPrefetch = await variant('prefetch', () => setMatmulPrefetch(true));
      const tflopsPrefetchOneBuffer = await variant('prefetch, one staging buffer', () => {
        setMatmulPrefetch(true);
        setMatmulDoubleBuffer(false);
      });
      const tflopsPrefetch128 = await variant('128x128 tiles, prefetch', () => setMatmulPrefetch(true), 128);
      // The 'auto' kernel in parts (setMatmulPhases): its products alone and its loads, stagings and barriers alone.
      // Neither computes the matmul, so neither is checked; where the whole kernel's time goes is their ratio to it.
      const phaseMs = async (ph: MatmulPhases) => {
        try {
          setMatmulPhases(ph);
          return await timeAt('auto');
        } finally {
          resetMatmulVariants();
        }
      };
      const msProductsOnly = await phaseMs('products');
      const msMemoryOnly = await phaseMs('memory');
      rows.push({
        ...s,
        msPerOp: ms,
        tflops,
        percentOfPeak: pct(tflops, o.peak),
        tflops128,
        tflopsUnswizzled,
        tflopsPadNone,
        tflopsPadBoth,
        splits,
        tflopsNoSplit,
        tflopsMoreSplits,
        tflopsElementLoads,
        tflopsPrefetch,
        tflopsPrefetchOneBuffer,
        tflopsPrefetch128,
        msProductsOnly,
        msMemoryOnly,
      });
      log(
        `matmul ${s.model} ${s.layer} ${M}x${K}x${N}: ${ms.toFixed(3)} ms, ${tflops.toFixed(2)} TFLOP/s; ` +
          `128x128 tiles ${ms128.toFixed(3)} ms, ${tflops128.toFixed(2)} TFLOP/s; unswizzled ` +
          `${tflopsUnswizzled.toFixed(2)}, unpadded ${tflopsPadNone.toFixed(2)}, ` +
          `both padded ${tflopsPadBoth.toFixed(2)}` +
          (tflopsNoSplit === null || tflopsMoreSplits === null
            ? ''
            : `; ${splits} splits vs none ${tflopsNoSplit.toFixed(2)}, vs ${MORE_SPLITS * splits} ` +
              `${tflopsMoreSplits.toFixed(2)} TFLOP/s`) +
          `; element loads ${tflopsElementLoads.toFixed(2)}, prefetch ${tflopsPrefetch.toFixed(2)} ` +
          `(one staging buffer ${tflopsPrefetchOneBuffer.toFixed(2)}), ` +
          `128x128 prefetch ${tflopsPrefetch128.toFixed(2)}; products alone ${msProductsOnly.toFixed(3)} ms, ` +
          `memory alone ${msMemoryOnly.toFixed(3)} ms`,
      );
    } finally {
      setMatmulTiling('auto');
      resetMatmulVariants();
      for (const t of [a, b, c]) be.dispose(t);
    }
  }
  return rows;
}

/** Sampled error bound of the f16 arithmetic: both operands rounded to f16 (2^-11 relative each), products in f16. */
const F16_TOLERANCE = 5e-3;

/** The shader-f16 matmul on each shape: checked against float64 and the f32 path first, timed only when it agrees
 * (f32 weights, f16 weights with f32 arithmetic, f16 arithmetic). Without the feature both paths are f32 arithmetic. */
export async function shaderF16Section(be: GpuBackend, shapes: MatmulShape[], o: Resolved, st: SectionStatus) {
  const rows: F16MatmulRow[] = [];
  // The f16 arithmetic lives in the tiled kernels only; a CPU adapter (lavapipe) would otherwise take the flat one.
  setMatmulTiling(f16Tiling(be.ctx));
  for (const s of shapes) {
    if (!fits(be, s) || elapsedS() > LAST_START_S) {
      st.notes.push(`${s.model} ${s.layer}: not run (binding limit or time budget)`);
      continue;
    }
    const { M, K, N, transB } = s;
    const ha = fill(M * K, 3, 1),
      hb = fill(K * N, 4, 1),
      hb16 = decodeF16(encodeF16(hb));
    const a = be.fromArray(ha, [M, K]),
      b32 = be.fromArray(hb, transB ? [N, K] : [K, N]),
      b16 = be.weight(hb, transB ? [N, K] : [K, N], { precision: 'f16', label: 'f16 weight' }),
      c32 = be.zeros([M, N]),
      c16 = be.zeros([M, N]);
    const p = { M, K, N, transB };
    const check = { ...p, transA: false, label: `${s.model} ${s.layer} matmul` };
    try {
      setMatmulF16Arithmetic(false);
      be.matmul(c32, a, b16, null, p);
      setMatmulF16Arithmetic(true);
      be.matmul(c16, a, b16, null, p);
      be.flush();
      const errF32Path = await checkSample(be, c32, ha, hb16, check);
      // The f16 path is checked with a loose bound first so a wrong kernel is reported with its error, not thrown.
      const errF16Path = await checkSample(be, c16, ha, hb16, { ...check, tolerance: Infinity });
      const [r32, r16] = [(await be.read(c32)) as Float32Array, (await be.read(c16)) as Float32Array];
      let diff = 0,
        max = 0;
      for (let i = 0; i < r32.length; i++) {
        diff = Math.max(diff, Math.abs(r16[i] - r32[i]));
        max = Math.max(max, Math.abs(r32[i]));
      }
      const errVsF32Path = diff / Math.max(max, 1e-30);
      const ok = errF16Path < F16_TOLERANCE && errVsF32Path < F16_TOLERANCE;
      const row: F16MatmulRow = {
        model: s.model,
        layer: s.layer,
        M,
        K,
        N,
        errF32Path,
        errF16Path,
        errVsF32Path,
        check: ok ? 'ok' : 'MISMATCH',
        msF32Weights: null,
        msF16Weights: null,
        msF16Arithmetic: null,
      };
      rows.push(row);
      if (!ok) {
        log(
          `!!! MISMATCH: shader-f16 matmul ${s.model} ${s.layer} ${M}x${K}x${N} disagrees with the f32 path ` +
            `(sampled error ${errF16Path.toExponential(2)}, vs f32 path ${errVsF32Path.toExponential(2)}; ` +
            `tolerance ${F16_TOLERANCE}): not timed !!!`,
        );
        continue;
      }
      const minMs = o.smoke ? 2 : 60;
      const timeWith = (f16: boolean, b: typeof b16) => {
        setMatmulF16Arithmetic(f16);
        return timeMatmul(
          be,
          (n) => {
            for (let i = 0; i < n; i++) be.matmul(c32, a, b, null, p);
          },
          minMs,
        );
      };
      row.msF32Weights = await timeWith(false, b32);
      row.msF16Weights = await timeWith(false, b16);
      row.msF16Arithmetic = await timeWith(true, b16);
      log(
        `shader-f16 matmul ${s.model} ${s.layer} ${M}x${K}x${N}: f32 ${row.msF32Weights.toFixed(3)} ms, ` +
          `f16 weights ${row.msF16Weights.toFixed(3)} ms, f16 arithmetic ${row.msF16Arithmetic.toFixed(3)} ms`,
      );
    } finally {
      setMatmulF16Arithmetic(false);
      for (const t of [a, b32, b16, c32, c16]) be.dispose(t);
    }
  }
  setMatmulTiling('auto');
  return rows;
}

/** The tiling under which f16 arithmetic runs: 'auto' on GPUs, the 32x32 tiled kernel on CPU adapters (whose 'auto'
 * is the flat kernel, which has no f16 variant). */
export function f16Tiling(ctx: GpuContext): MatmulTiling {
  return ctx.barrierFree ? 32 : 'auto';
}
