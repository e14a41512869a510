// The linear-time matcher for rank_pattern / alpha_pattern keys: PEFT's answers (from Python's re, listed below),
// agreement with a backtracking engine on random keys of the subset, the pathological key, and refused keys.

import { describe, expect, it } from 'vitest';
import { Rng } from '../tensor/rng';
import { compileModulePattern, PATTERN_LIMITS, PatternSyntaxError } from './pattern';

// [key, module name, re.match(rf"(.*\.)?({key})$", name) is not None] as Python 3 computes it.
const PEFT: [string, string, boolean][] = [
  ['c_attn', 'transformer.h.1.attn.c_attn', true],
  ['h.1.attn.c_attn', 'transformer.h.1.attn.c_attn', true],
  ['h.1.attn.c_attn', 'transformer.h.11.attn.c_attn', false],
  ['attn', 'transformer.h.0.attn.c_attn', false],
  ['ttn.c_attn', 'transformer.h.0.attn.c_attn', false],
  ['c_proj', 'transformer.h.0.mlp.c_proj', true],
  ['h\\.\\d+\\.mlp\\.c_fc', 'transformer.h.10.mlp.c_fc', true],
  ['h\\.[0-3]\\.attn\\.c_attn', 'transformer.h.4.attn.c_attn', false],
  ['h\\.[0-3]\\.attn\\.c_attn', 'transformer.h.3.attn.c_attn', true],
  ['(c_attn|c_proj)', 'transformer.h.2.attn.c_proj', true],
  ['.*c_fc', 'transformer.h.2.mlp.c_fc', true],
  ['transformer.h.0.attn.c_attn', 'transformer.h.0.attn.c_attn', true],
  ['^h.0.attn.c_attn', 'transformer.h.0.attn.c_attn', false],
  ['layer\\.1[01]\\.attention\\.self\\.(query|value)', 'bert.encoder.layer.10.attention.self.value', true],
  ['layer\\.1[01]\\.attention\\.self\\.(query|value)', 'bert.encoder.layer.1.attention.self.value', false],
  ['(.*.*)*z', 'h.0.attn.c_attn_xyz', true],
  ['(.*.*)*z', 'h.0.attn.c_attn_xy', false],
  ['h\\.(?:1|2)\\.mlp\\.c_proj', 'transformer.h.2.mlp.c_proj', true],
  ['\\w+\\.c_fc', 'transformer.h.2.mlp.c_fc', true],
  ['mlp.c_fc$', 'transformer.h.2.mlp.c_fc', true],
  ['h\\.\\d{2}\\.attn\\.c_attn', 'transformer.h.7.attn.c_attn', false],
];

describe('compileModulePattern', () => {
  it.each(PEFT)('%s on %s is %s, as in PEFT', (key, name, want) => {
    expect(compileModulePattern(key).test(name)).toBe(want);
  });

  it('the pathological key (.*.*)*z on an 18-character name gives the answer (backtracking takes minutes)', () => {
    const p = compileModulePattern('(.*.*)*z');
    expect(p.test('h.0.attn.c_attn_xy')).toBe(false);
    expect(p.test('a'.repeat(5000))).toBe(false);
    expect(p.test(`${'a'.repeat(5000)}z`)).toBe(true);
    expect(compileModulePattern('(a|a)*(a*)*b').test('a'.repeat(5000))).toBe(false);
  });

  it('agrees with a backtracking engine on 3000 random keys of the subset (short names, so that one is quick)', () => {
    const rng = new Rng(5);
    const pick = <T>(xs: readonly T[]) => xs[rng.int(xs.length)];
    const atoms = [
      'a',
      'b',
      '.',
      '\\.',
      '\\d',
      '\\w',
      '[ab]',
      '[^a]',
      '[0-9]',
      '[a-c1]',
      '1',
      '_',
      'h',
      '\\D',
      '[\\d.]',
    ];
    // `{,2}` is left out: JavaScript reads it literally, Python as {0,2} (checked in the PEFT table style above).
    const quants = ['', '', '', '*', '+', '?', '{2}', '{1,2}', '{1,}', '*?', '+?'];
    const key = (depth: number): string =>
      Array.from({ length: 1 + rng.int(4) }, () => {
        const alt = () => (rng.int(2) ? `|${key(depth - 1)}` : '');
        if (depth > 0 && rng.int(4) === 0) return `(${key(depth - 1)}${alt()})${pick(quants)}`;
        if (rng.int(20) === 0) return pick(['^', '$']);
        return pick(atoms) + pick(quants);
      }).join('');
    for (let i = 0; i < 3000; i++) {
      const k = key(2);
      const name = Array.from({ length: rng.int(9) }, () => pick([...'ab.1_h2'])).join('');
      expect(compileModulePattern(k).test(name), `${k} on ${name}`).toBe(new RegExp(`^(?:.*\\.)?(?:${k})$`).test(name));
    }
    expect(compileModulePattern('a{,2}').test('aa')).toBe(true); // Python: {0,2}
  });

  it.each([
    ['(?=a)b', /lookaround/],
    ['(?i)c_attn', /inline flag/],
    ['(a)\\1', /backreference/],
    ['\\bc_attn', /escape "\\b"/],
    ['a**', /multiple repeat/],
    ['*a', /nothing to repeat/],
    ['[a', /unterminated/],
    ['(a', /missing "\)"/],
    ['a)', /unbalanced/],
    ['a{', /repeat count/],
    ['[z-a]', /bad character range/],
    ['a*+', /possessive/],
    ['\\x41', /escape "\\x"/],
    [`a{${PATTERN_LIMITS.repeat + 1}}`, /repeat counts above/],
    ['(a{1000}){1000}', /states/],
  ])('refuses %s', (k, reason) => {
    const e = (() => {
      try {
        compileModulePattern(k);
      } catch (err) {
        return err;
      }
      return null;
    })();
    expect(e).toBeInstanceOf(PatternSyntaxError);
    expect((e as PatternSyntaxError).reason).toMatch(reason);
  });
});
