// --weight-precision on train/eval (runConfig) and generate: parsed into RunConfig.weightPrecision, bad values and
// the full-fine-tuning combination refused with a UsageError that says what to pass instead.

import { describe, expect, it } from 'vitest';
import { parseArgs, UsageError } from '../../src/cli/args';
import { generateCommand } from '../../src/cli/generate';
import { runConfig, TRAIN_OPTS } from '../../src/cli/train';

const cfg = (...argv: string[]) => runConfig(parseArgs(argv, TRAIN_OPTS));

describe('--weight-precision', () => {
  it('sets RunConfig.weightPrecision; absent keeps f32 (no field)', () => {
    expect(cfg('--weight-precision', 'f16', '--method', 'lora').weightPrecision).toBe('f16');
    expect(cfg('--weight-precision=f32').weightPrecision).toBe('f32');
    expect(cfg().weightPrecision).toBeUndefined();
  });

  it('refuses other values and f16 with --method full', () => {
    expect(() => cfg('--weight-precision', 'bf16')).toThrow(UsageError);
    expect(() => cfg('--weight-precision', 'bf16')).toThrow(/--weight-precision must be f16 or f32, got bf16/);
    expect(() => cfg('--weight-precision', 'f16', '--method', 'full')).toThrow(/--method full trains them/);
  });

  it('is an option of generate (a bad value fails before any model is read)', async () => {
    await expect(
      generateCommand(['--model', 'public/models/gpt2-tiny', '--prompt', 'x', '--weight-precision', 'f8']),
    ).rejects.toThrow(/--weight-precision must be f16 or f32/);
  });
});
