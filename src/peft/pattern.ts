// PEFT's rank_pattern / alpha_pattern keys, matched in linear time. PEFT tests a key against a module name as
// `re.match(rf"(.*\.)?({key})$", name)` with Python's backtracking engine, where a key such as `(.*.*)*z` takes
// exponential time. Here a key is parsed into a bounded subset of Python's syntax, compiled to a Thompson NFA and
// simulated over the name in O(len(name) · states); a key outside the subset is refused, never guessed at.
//
// The subset: literal characters, `.`, escapes of punctuation (`\.`), `\d \D \w \W \s \S`, `\n \t \r \f \v`,
// classes (`[0-9]`, `[^.]`, `[\w-]`), groups `(...)`, `(?:...)`, `(?P<name>...)`, alternation `a|b`, the quantifiers
// `* + ? {n} {n,} {n,m} {,m}` (lazy forms too: they change which match is found, not whether one exists), and the
// anchors `^ $ \A \Z`. Refused: backreferences, lookaround, word boundaries, inline flags, possessive quantifiers.
// `\d`, `\w` and `\s` follow Unicode as Python's do for str patterns (module names are ASCII in practice).

/** A key outside the supported subset, or not a valid regular expression at all. */
export class PatternSyntaxError extends Error {
  constructor(
    readonly key: string,
    readonly reason: string,
  ) {
    super(`${JSON.stringify(key)}: ${reason}`);
    this.name = 'PatternSyntaxError';
  }
}

/** Bounds that keep compiling a key cheap: its length and the NFA it may expand to (counted repeats copy states). */
export const PATTERN_LIMITS = { keyLength: 1000, states: 20_000, repeat: 1000 } as const;

type CharTest = (c: string) => boolean;

type Node =
  | { t: 'char'; test: CharTest }
  | { t: 'cat'; parts: Node[] }
  | { t: 'alt'; alts: Node[] }
  | { t: 'rep'; node: Node; min: number; max: number } // max = Infinity for unbounded
  | { t: 'bol' }
  | { t: 'eol' };

const DIGIT = /\p{Nd}/u,
  WORD = /[\p{L}\p{N}_]/u,
  SPACE = /\s/u;
const CLASS_ESCAPES: Record<string, CharTest> = {
  d: (c) => DIGIT.test(c),
  D: (c) => !DIGIT.test(c),
  w: (c) => WORD.test(c),
  W: (c) => !WORD.test(c),
  s: (c) => SPACE.test(c),
  S: (c) => !SPACE.test(c),
};
const CONTROL: Record<string, string> = { n: '\n', t: '\t', r: '\r', f: '\f', v: '\v' };
const lit = (ch: string): Node => ({ t: 'char', test: (c) => c === ch });

class Parser {
  i = 0;
  constructor(readonly key: string) {}

  fail(reason: string): never {
    throw new PatternSyntaxError(this.key, reason);
  }

  peek(): string | undefined {
    return this.key[this.i];
  }

  parse(): Node {
    const n = this.alt();
    if (this.i < this.key.length) this.fail(`unbalanced ")" at position ${this.i}`);
    return n;
  }

  alt(): Node {
    const alts = [this.cat()];
    while (this.peek() === '|') {
      this.i++;
      alts.push(this.cat());
    }
    return alts.length === 1 ? alts[0] : { t: 'alt', alts };
  }

  cat(): Node {
    const parts: Node[] = [];
    for (let c = this.peek(); c !== undefined && c !== '|' && c !== ')'; c = this.peek()) parts.push(this.repeat());
    return { t: 'cat', parts };
  }

  repeat(): Node {
    let node = this.atom();
    let quantified = false;
    for (;;) {
      const q = this.quantifier();
      if (!q) return node;
      if (quantified) this.fail(`multiple repeat at position ${this.i}`);
      quantified = true;
      if (this.peek() === '?')
        this.i++; // lazy: same set of matching strings
      else if (this.peek() === '+') this.fail('possessive quantifiers are not supported');
      node = { t: 'rep', node, ...q };
    }
  }

  quantifier(): { min: number; max: number } | null {
    const c = this.peek();
    if (c === '*' || c === '+' || c === '?') {
      this.i++;
      return { min: c === '+' ? 1 : 0, max: c === '?' ? 1 : Infinity };
    }
    if (c !== '{') return null;
    const m = /^\{(\d*)(,?)(\d*)\}/.exec(this.key.slice(this.i));
    if (!m || (m[1] === '' && m[3] === '')) this.fail(`"{" at position ${this.i} is not a repeat count such as {1,3}`);
    this.i += m[0].length;
    const min = m[1] === '' ? 0 : Number(m[1]);
    const max = m[2] === '' ? min : m[3] === '' ? Infinity : Number(m[3]);
    if (max < min) this.fail(`repeat count {${m[1]},${m[3]}} has its maximum below its minimum`);
    if (min > PATTERN_LIMITS.repeat || (max !== Infinity && max > PATTERN_LIMITS.repeat)) {
      this.fail(`repeat counts above ${PATTERN_LIMITS.repeat} are not supported`);
    }
    return { min, max };
  }

  atom(): Node {
    const c = this.key[this.i++];
    switch (c) {
      case '(':
        return this.group();
      case '[':
        return this.charClass();
      case '.':
        return { t: 'char', test: (x) => x !== '\n' };
      case '^':
        return { t: 'bol' };
      case '$':
        return { t: 'eol' };
      case '\\':
        return this.escape();
      case '*':
      case '+':
      case '?':
      case '{':
        return this.fail(`nothing to repeat at position ${this.i - 1}`);
      default:
        return lit(c);
    }
  }

  group(): Node {
    if (this.peek() === '?') {
      const rest = this.key.slice(this.i);
      const named = /^\?P<[A-Za-z_]\w*>/.exec(rest);
      if (rest.startsWith('?:')) this.i += 2;
      else if (named) this.i += named[0].length;
      else this.fail(`"(${rest.slice(0, 3)}" (lookaround, backreference or inline flag) is not supported`);
    }
    const n = this.alt();
    if (this.peek() !== ')') this.fail('missing ")"');
    this.i++;
    return n;
  }

  escape(): Node {
    const c = this.key[this.i++];
    if (c === undefined) this.fail('the key ends with a lone backslash');
    if (CLASS_ESCAPES[c]) return { t: 'char', test: CLASS_ESCAPES[c] };
    if (c === 'A') return { t: 'bol' };
    if (c === 'Z') return { t: 'eol' };
    return lit(this.escapedChar(c));
  }

  /** The character an escape stands for, where it is one (punctuation, controls); refuses the rest. */
  escapedChar(c: string): string {
    if (CONTROL[c]) return CONTROL[c];
    if (/[0-9]/.test(c)) this.fail(`backreferences and octal escapes ("\\${c}") are not supported`);
    if (/[A-Za-z]/.test(c)) this.fail(`the escape "\\${c}" is not supported`);
    return c;
  }

  charClass(): Node {
    const negate = this.peek() === '^';
    if (negate) this.i++;
    const tests: CharTest[] = [];
    let first = true;
    for (;;) {
      const c = this.key[this.i];
      if (c === undefined) this.fail('unterminated character class "["');
      if (c === ']' && !first) {
        this.i++;
        break;
      }
      first = false;
      const lo = this.classChar();
      if (typeof lo !== 'string') {
        tests.push(lo);
        continue;
      }
      if (this.peek() === '-' && this.key[this.i + 1] !== undefined && this.key[this.i + 1] !== ']') {
        this.i++;
        const hi = this.classChar();
        if (typeof hi !== 'string') this.fail(`bad character range ${lo}-\\…`);
        const a = lo.codePointAt(0)!,
          z = hi.codePointAt(0)!;
        if (z < a) this.fail(`bad character range ${lo}-${hi}`);
        tests.push((x) => x.codePointAt(0)! >= a && x.codePointAt(0)! <= z);
      } else {
        tests.push((x) => x === lo);
      }
    }
    const inSet = (x: string) => tests.some((t) => t(x));
    return { t: 'char', test: negate ? (x) => !inSet(x) : inSet };
  }

  /** One member of a class: a character, or the test of a class escape such as \d. */
  classChar(): string | CharTest {
    const c = this.key[this.i++];
    if (c !== '\\') return c;
    const e = this.key[this.i++];
    if (e === undefined) this.fail('the key ends with a lone backslash');
    if (CLASS_ESCAPES[e]) return CLASS_ESCAPES[e];
    return this.escapedChar(e);
  }
}

// Thompson NFA: character states consume one character; split, assertion and match states do not.
type State =
  | { k: 'char'; test: CharTest; out: number }
  | { k: 'split'; out: number; out2: number }
  | { k: 'bol' | 'eol'; out: number }
  | { k: 'match' };

class Compiler {
  readonly states: State[] = [];
  constructor(readonly key: string) {}

  add(s: State): number {
    if (this.states.length >= PATTERN_LIMITS.states) {
      throw new PatternSyntaxError(this.key, `it expands to over ${PATTERN_LIMITS.states} states; use fewer repeats`);
    }
    return this.states.push(s) - 1;
  }

  /** Compiles `n` so that it continues at state `next`; returns its entry state. */
  emit(n: Node, next: number): number {
    switch (n.t) {
      case 'char':
        return this.add({ k: 'char', test: n.test, out: next });
      case 'bol':
      case 'eol':
        return this.add({ k: n.t, out: next });
      case 'cat': {
        let at = next;
        for (let i = n.parts.length - 1; i >= 0; i--) at = this.emit(n.parts[i], at);
        return at;
      }
      case 'alt': {
        let at = this.emit(n.alts[n.alts.length - 1], next);
        for (let i = n.alts.length - 2; i >= 0; i--) {
          at = this.add({ k: 'split', out: this.emit(n.alts[i], next), out2: at });
        }
        return at;
      }
      case 'rep': {
        let at = next;
        if (n.max === Infinity) {
          // A loop: split -> (body -> split) | next.
          const loop = this.add({ k: 'split', out: -1, out2: next });
          const body = this.emit(n.node, loop);
          (this.states[loop] as { out: number }).out = body;
          at = loop;
        } else {
          for (let i = n.min; i < n.max; i++) at = this.add({ k: 'split', out: this.emit(n.node, at), out2: next });
        }
        for (let i = 0; i < n.min; i++) at = this.emit(n.node, at);
        return at;
      }
    }
  }
}

/** A compiled key: `test(name)` is PEFT's `re.match(rf"(.*\.)?({key})$", name) is not None`. */
export interface ModulePattern {
  key: string;
  test(name: string): boolean;
}

/** Compiles a rank_pattern / alpha_pattern key; throws PatternSyntaxError for keys outside the subset. */
export function compileModulePattern(key: string): ModulePattern {
  if (key.length > PATTERN_LIMITS.keyLength) {
    throw new PatternSyntaxError(`${key.slice(0, 60)}…`, `longer than ${PATTERN_LIMITS.keyLength} characters`);
  }
  const body = new Parser(key).parse();
  const anyChar: Node = { t: 'char', test: (x) => x !== '\n' };
  // (.*\.)?(key)$, anchored at the start as re.match is.
  const prefix: Node = { t: 'cat', parts: [{ t: 'rep', node: anyChar, min: 0, max: Infinity }, lit('.')] };
  const whole: Node = { t: 'cat', parts: [{ t: 'rep', node: prefix, min: 0, max: 1 }, body, { t: 'eol' }] };
  const c = new Compiler(key);
  const match = c.add({ k: 'match' });
  const start = c.emit(whole, match);
  const states = c.states;
  return { key, test: (name) => simulate(states, start, match, name) };
}

/** Runs the NFA over `s` keeping the set of live states: O(len(s) · states) whatever the key. */
function simulate(states: State[], start: number, match: number, s: string): boolean {
  const chars = Array.from(s);
  const n = chars.length;
  const mark = new Int32Array(states.length).fill(-1);
  let cur: number[] = [];
  let gen = 0;
  const stack: number[] = [];
  /** Adds `s0` and every state reachable from it without consuming a character, at position `pos`. */
  const close = (s0: number, pos: number, into: number[]) => {
    stack.push(s0);
    while (stack.length) {
      const i = stack.pop()!;
      if (mark[i] === gen) continue;
      mark[i] = gen;
      const st = states[i];
      if (st.k === 'split') stack.push(st.out2, st.out);
      else if (st.k === 'bol') {
        if (pos === 0) stack.push(st.out);
      } else if (st.k === 'eol') {
        if (pos === n) stack.push(st.out);
      } else into.push(i);
    }
  };
  close(start, 0, cur);
  for (let pos = 0; pos < n && cur.length; pos++) {
    gen++;
    const next: number[] = [];
    for (const i of cur) {
      const st = states[i];
      if (st.k === 'char' && st.test(chars[pos])) close(st.out, pos + 1, next);
    }
    cur = next;
  }
  return cur.includes(match);
}
