import { describe, expect, it } from 'vitest';
import { parseModelConfig } from '../models/arch/index';
import { F32_PEAK_TFLOPS, f32Peak, flopShapeOf, stepFlops } from './flops';

const GPT2_SMALL = { model_type: 'gpt2', vocab_size: 50257, n_positions: 1024, n_embd: 768, n_layer: 12, n_head: 12 };

describe('stepFlops', () => {
  const shape = {
    linears: [
      { inF: 4, outF: 8, adapted: true },
      { inF: 8, outF: 4, adapted: false },
    ],
    head: { inF: 4, outF: 10 },
    attention: { layers: 1, width: 4 },
    B: 2,
    T: 3,
  };

  it('counts 6 FLOPs per matmul weight and token for full training, 4 with frozen weights', () => {
    const tokens = 6,
      weights = 32 + 32 + 40;
    const attention = 12 * 1 * 4 * 3 * tokens;
    expect(stepFlops(shape, { method: 'full' })).toEqual({
      matmul: 6 * weights * tokens,
      attention,
      adapters: 0,
      total: 6 * weights * tokens + attention,
    });
    const frozen = stepFlops(shape, { method: 'adapter', rank: 2 });
    expect(frozen.matmul).toBe(4 * weights * tokens);
    // Only the adapted 4x8 linear: 6 FLOPs per adapter weight (2 x (4 + 8)) and token.
    expect(frozen.adapters).toBe(6 * 2 * 12 * tokens);
    expect(frozen.total).toBe(frozen.matmul + attention + frozen.adapters);
  });

  it('refuses an adapter step without a rank', () => {
    expect(() => stepFlops(shape, { method: 'adapter' })).toThrow(/adapter rank must be >= 1/);
  });

  it('reads GPT-2 small: 123.5M matmul weights (the tied head once), 12 layers of width 768', () => {
    const s = flopShapeOf(parseModelConfig(GPT2_SMALL), { B: 8, T: 128, targets: ['attn.c_attn'] });
    const weights = s.linears.reduce((a, l) => a + l.inF * l.outF, 0) + s.head!.inF * s.head!.outF;
    expect(weights).toBe(123_532_032);
    expect(s.attention).toEqual({ layers: 12, width: 768 });
    expect(s.linears.filter((l) => l.adapted)).toHaveLength(12);
    const f = stepFlops(s, { method: 'full' });
    expect(f.matmul).toBe(6 * 123_532_032 * 1024);
  });

  it('takes head_dim from a Qwen3 config, not hidden / heads', () => {
    const s = flopShapeOf(
      parseModelConfig({
        architectures: ['Qwen3ForCausalLM'],
        model_type: 'qwen3',
        hidden_size: 64,
        num_hidden_layers: 2,
        num_attention_heads: 4,
        num_key_value_heads: 2,
        head_dim: 32,
        intermediate_size: 128,
        vocab_size: 100,
        max_position_embeddings: 64,
        tie_word_embeddings: true,
      }),
      { B: 1, T: 8, targets: [] },
    );
    expect(s.attention).toEqual({ layers: 2, width: 128 });
    expect(s.linears).toHaveLength(14);
  });
});

describe('f32Peak', () => {
  it('finds the H200 in the table and lets BENCH_PEAK_TFLOPS override it', () => {
    expect(f32Peak('NVIDIA H200', {})).toEqual({ tflops: 67, source: 'NVIDIA H200 data sheet' });
    expect(f32Peak('nvidia-h200', { BENCH_PEAK_TFLOPS: '60' })).toEqual({ tflops: 60, source: 'BENCH_PEAK_TFLOPS=60' });
    expect(f32Peak('SwiftShader Device', {})).toBeNull();
    expect(F32_PEAK_TFLOPS.every((p) => p.tflops > 0)).toBe(true);
  });

  it('rejects an override that is not a positive number, naming the variable', () => {
    expect(() => f32Peak('x', { BENCH_PEAK_TFLOPS: 'fast' })).toThrow(/BENCH_PEAK_TFLOPS=fast: set it to/);
  });
});
