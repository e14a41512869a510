// Shader composition: common.wgsl, then an op family's shared prelude, then the file; placeholders must all be given.

import { describe, expect, it } from 'vitest';
import { composeShader } from '../../src/gpu/shader';

describe('composeShader', () => {
  it('orders common.wgsl, the prelude and the file, and substitutes placeholders', () => {
    const text = composeShader(
      { name: 'x', code: 'fn body() -> u32 { return {{N}}u; }', prelude: 'const SHARED: u32 = 1u;' },
      { N: 7 },
    );
    const common = text.indexOf('fn flat_index'),
      shared = text.indexOf('const SHARED'),
      body = text.indexOf('fn body');
    expect(common).toBeGreaterThanOrEqual(0);
    expect(shared).toBeGreaterThan(common);
    expect(body).toBeGreaterThan(shared);
    expect(text).toContain('return 7u;');
    expect(composeShader({ name: 'y', code: 'fn f() {}' })).not.toContain('prelude');
  });

  it('emits the enable directives first (f16 arithmetic needs `enable f16;` before any declaration)', () => {
    const text = composeShader({ name: 'h', code: 'fn f() {}', enables: ['f16'] });
    expect(text.startsWith('enable f16;\n')).toBe(true);
    expect(composeShader({ name: 'y', code: 'fn f() {}' })).not.toContain('enable');
  });

  it('refuses a placeholder without a value', () => {
    expect(() => composeShader({ name: 'z', code: 'const A: u32 = {{A}}u;' })).toThrow(/placeholder \{\{A\}\}/);
  });
});
