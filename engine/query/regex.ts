/**
 * Regular expressions without catastrophic backtracking: a subset of JavaScript's syntax
 * (non-Unicode mode, UTF-16 code units) compiled to a Thompson NFA and run by simulating every
 * state at once, so a match costs O(input length × states) whatever the pattern, and both are
 * bounded (`REGEX_INPUT_CHARS_MAX`, `REGEX_STATES_MAX`). A filter only asks whether a string
 * matches anywhere, so captures, greediness and laziness do not change the answer and the
 * answer equals `new RegExp(pattern, flags).test(s)` for every supported pattern.
 *
 * Supported: literals; `.`; classes `[...]`, `[^...]` with ranges; escapes `\d \D \w \W \s
 * \S \b \B \n \r \t \v \f \0 \xHH \uHHHH` and escaped syntax characters; groups `(...)` and
 * `(?:...)`; `|`; quantifiers `* + ? {n} {n,} {n,m}` (lazy forms too); anchors `^ $`; flags
 * `i`, `m`, `s`. Rejected with a `QueryError`: backreferences, lookaround, named groups,
 * Unicode property escapes and any flag but `ims` (those either need backtracking or change
 * the alphabet), and the lenient forms of Annex B (a lone `{`, `}` or `]`).
 */

import { LimitExceededError } from '../errors.ts';
import { QueryError } from './errors.ts';
import { REGEX_INPUT_CHARS_MAX, REGEX_PATTERN_CHARS_MAX, REGEX_STATES_MAX } from './limits.ts';

/** Largest bound of a counted repetition `{n,m}`. */
export const REGEX_REPEAT_MAX = 1_000;

type CharTest = (unit: number) => boolean;
type AssertKind = 'start' | 'end' | 'word' | 'notWord';

/** The parsed pattern. */
type Node =
  | { t: 'char'; test: CharTest }
  | { t: 'assert'; kind: AssertKind }
  | { t: 'seq'; items: Node[] }
  | { t: 'alt'; options: Node[] }
  | { t: 'repeat'; node: Node; min: number; max: number }; // max Infinity: unbounded

interface Flags {
  readonly ignoreCase: boolean;
  readonly multiline: boolean;
  readonly dotAll: boolean;
}

const isLineTerminator = (c: number) => c === 0x0a || c === 0x0d || c === 0x2028 || c === 0x2029;
const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
const isWordUnit = (c: number) =>
  isDigit(c) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f;
const SPACES = new Set([
  0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20, 0xa0, 0x1680, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000, 0xfeff,
]);
const isSpace = (c: number) => SPACES.has(c) || (c >= 0x2000 && c <= 0x200a);
const SYNTAX = '^$\\.*+?()[]{}|/-';

/** JavaScript's Canonicalize for non-Unicode ignoreCase (ECMA-262 22.2.2.7.3). */
function canonicalize(c: number): number {
  const upper = String.fromCharCode(c).toUpperCase();
  if (upper.length !== 1) return c;
  const u = upper.charCodeAt(0);
  return c >= 128 && u < 128 ? c : u;
}

/** For each canonical unit, every unit that canonicalizes to it; built once, on first use. */
let canonicalClasses: Map<number, number[]> | undefined;
function unitsCanonicalTo(c: number): readonly number[] {
  if (canonicalClasses === undefined) {
    canonicalClasses = new Map();
    for (let u = 0; u <= 0xffff; u++) {
      const k = canonicalize(u);
      if (k === u) continue;
      const list = canonicalClasses.get(k);
      if (list === undefined) canonicalClasses.set(k, [k, u]);
      else list.push(u);
    }
  }
  return canonicalClasses.get(canonicalize(c)) ?? [canonicalize(c)];
}

/** A character test under the flags: with `i`, a unit matches if any unit of its case class is in the set. */
function withCase(test: CharTest, flags: Flags): CharTest {
  if (!flags.ignoreCase) return test;
  return (c) => unitsCanonicalTo(c).some(test);
}

class Parser {
  private pos = 0;
  constructor(
    private readonly src: string,
    private readonly flags: Flags,
    private readonly at: string,
  ) {}

  fail(detail: string): never {
    throw new QueryError(`${this.at}.pattern`, `${detail} at offset ${this.pos}`);
  }

  parseAll(): Node {
    const node = this.alternation();
    if (this.pos < this.src.length) this.fail(`unexpected '${this.src[this.pos]}'`);
    return node;
  }

  private alternation(): Node {
    const options = [this.sequence()];
    while (this.src[this.pos] === '|') {
      this.pos++;
      options.push(this.sequence());
    }
    return options.length === 1 ? options[0]! : { t: 'alt', options };
  }

  private sequence(): Node {
    const items: Node[] = [];
    while (this.pos < this.src.length && this.src[this.pos] !== '|' && this.src[this.pos] !== ')') {
      const atom = this.atom();
      items.push(this.quantified(atom));
    }
    return { t: 'seq', items };
  }

  private quantified(atom: Node): Node {
    const c = this.src[this.pos];
    let min: number;
    let max: number;
    if (c === '*' || c === '+' || c === '?') {
      this.pos++;
      [min, max] = c === '*' ? [0, Infinity] : c === '+' ? [1, Infinity] : [0, 1];
    } else if (c === '{') {
      [min, max] = this.braces();
    } else {
      return atom;
    }
    if (atom.t === 'assert') this.fail('nothing to repeat');
    if (this.src[this.pos] === '?') this.pos++; // Laziness does not change whether a string matches.
    if (/[*+?{]/.test(this.src[this.pos] ?? '')) this.fail('nothing to repeat');
    return { t: 'repeat', node: atom, min, max };
  }

  private braces(): [number, number] {
    const m = /^\{(\d+)(,(\d*))?\}/.exec(this.src.slice(this.pos));
    if (m === null) this.fail("a '{' that is not a repetition {n}, {n,} or {n,m}");
    this.pos += m[0].length;
    const min = Number(m[1]);
    const max = m[2] === undefined ? min : m[3] === '' ? Infinity : Number(m[3]);
    if (min > REGEX_REPEAT_MAX || (max !== Infinity && max > REGEX_REPEAT_MAX)) {
      throw new LimitExceededError({
        limit: 'REGEX_REPEAT_MAX',
        max: REGEX_REPEAT_MAX,
        actual: Math.max(min, max === Infinity ? 0 : max),
        what: `${this.at}.pattern repetition bound`,
      });
    }
    if (max < min) this.fail('numbers out of order in {} quantifier');
    return [min, max];
  }

  private atom(): Node {
    const c = this.src[this.pos]!;
    this.pos++;
    switch (c) {
      case '(':
        return this.group();
      case '.':
        return { t: 'char', test: this.flags.dotAll ? () => true : (u) => !isLineTerminator(u) };
      case '^':
        return { t: 'assert', kind: 'start' };
      case '$':
        return { t: 'assert', kind: 'end' };
      case '[': {
        // Case folding applies to the class's members, before a `^` inverts (ECMA-262 CharacterSetMatcher).
        const { test, negate } = this.charClass();
        const folded = withCase(test, this.flags);
        return { t: 'char', test: negate ? (u) => !folded(u) : folded };
      }
      case '\\':
        return this.escapeAtom();
      case '*':
      case '+':
      case '?':
      case '{':
        this.pos--;
        return this.fail('nothing to repeat');
      case ']':
      case '}':
        this.pos--;
        return this.fail(`a lone '${c}' (escape it)`);
      default: {
        const unit = c.charCodeAt(0);
        return { t: 'char', test: withCase((u) => u === unit, this.flags) };
      }
    }
  }

  private group(): Node {
    if (this.src[this.pos] === '?') {
      if (this.src[this.pos + 1] !== ':') this.fail('lookaround and named groups are not supported');
      this.pos += 2;
    }
    const inner = this.alternation();
    if (this.src[this.pos] !== ')') this.fail("missing ')'");
    this.pos++;
    return inner;
  }

  private escapeAtom(): Node {
    const c = this.src[this.pos];
    if (c === 'b' || c === 'B') {
      this.pos++;
      return { t: 'assert', kind: c === 'b' ? 'word' : 'notWord' };
    }
    return { t: 'char', test: withCase(this.escapeTest(), this.flags) };
  }

  /** The set an escape (after its backslash) stands for, outside or inside a class. */
  private escapeTest(): CharTest {
    const c = this.src[this.pos];
    if (c === undefined) this.fail('\\ at end of pattern');
    this.pos++;
    switch (c) {
      case 'd':
        return isDigit;
      case 'D':
        return (u) => !isDigit(u);
      case 'w':
        return isWordUnit;
      case 'W':
        return (u) => !isWordUnit(u);
      case 's':
        return isSpace;
      case 'S':
        return (u) => !isSpace(u);
      default: {
        const unit = this.escapeUnit(c);
        return (u) => u === unit;
      }
    }
  }

  /** The one unit a character escape names. */
  private escapeUnit(c: string): number {
    const simple: Record<string, number> = { n: 0x0a, r: 0x0d, t: 0x09, v: 0x0b, f: 0x0c };
    if (Object.hasOwn(simple, c)) return simple[c]!;
    if (c === '0') {
      if (isDigit(this.src.charCodeAt(this.pos))) this.fail('octal escapes are not supported');
      return 0;
    }
    if (c === 'x' || c === 'u') {
      const n = c === 'x' ? 2 : 4;
      const hex = this.src.slice(this.pos, this.pos + n);
      if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(hex)) this.fail(`\\${c} needs ${n} hex digits`);
      this.pos += n;
      return Number.parseInt(hex, 16);
    }
    if (SYNTAX.includes(c)) return c.charCodeAt(0);
    if (isDigit(c.charCodeAt(0))) this.fail('backreferences are not supported');
    return this.fail(`unsupported escape \\${c}`);
  }

  /** A class body after '[' up to and including ']': its raw (case-sensitive) members and whether it is negated. */
  private charClass(): { test: CharTest; negate: boolean } {
    const negate = this.src[this.pos] === '^';
    if (negate) this.pos++;
    const tests: CharTest[] = [];
    while (this.src[this.pos] !== ']') {
      if (this.pos >= this.src.length) this.fail("missing ']'");
      const lo = this.classAtom();
      if (this.src[this.pos] === '-' && this.src[this.pos + 1] !== ']' && this.pos + 1 < this.src.length) {
        this.pos++;
        const hi = this.classAtom();
        if (typeof lo !== 'number' || typeof hi !== 'number') this.fail('a class escape in a range');
        if (hi < lo) this.fail('range out of order in character class');
        tests.push((u) => u >= lo && u <= hi);
      } else {
        tests.push(typeof lo === 'number' ? (u) => u === lo : lo);
      }
    }
    this.pos++;
    return { test: (u) => tests.some((t) => t(u)), negate };
  }

  /** One unit, or a class escape's set. */
  private classAtom(): number | CharTest {
    const c = this.src[this.pos]!;
    this.pos++;
    if (c !== '\\') return c.charCodeAt(0);
    const e = this.src[this.pos];
    if (e === undefined) this.fail('\\ at end of pattern');
    if (e === 'b') this.fail('\\b inside a class is not supported');
    if (e === 'B' || e === '-') {
      if (e === 'B') this.fail('\\B inside a class is not supported');
      this.pos++;
      return 0x2d;
    }
    if (e !== undefined && 'dDwWsS'.includes(e)) return this.escapeTest();
    this.pos++;
    return this.escapeUnit(e);
  }
}

/** One NFA state: a character step, an assertion, a fork (two epsilon edges), or the match. */
type State =
  | { k: 'char'; test: CharTest; next: number }
  | { k: 'assert'; kind: AssertKind; next: number }
  | { k: 'split'; a: number; b: number }
  | { k: 'match' };

/** A fragment under construction: its start state and the states whose `next` is still open. */
interface Frag {
  start: number;
  outs: Array<{ state: number; edge: 'next' | 'a' | 'b' }>;
}

class NfaBuilder {
  readonly states: State[] = [];
  constructor(private readonly at: string) {}

  private add(s: State): number {
    if (this.states.length >= REGEX_STATES_MAX) {
      throw new LimitExceededError({
        limit: 'REGEX_STATES_MAX',
        max: REGEX_STATES_MAX,
        actual: this.states.length + 1,
        what: `${this.at}.pattern compiled states`,
      });
    }
    this.states.push(s);
    return this.states.length - 1;
  }

  private patch(frag: Frag, to: number): void {
    for (const o of frag.outs) (this.states[o.state] as Record<string, unknown>)[o.edge] = to;
  }

  /** An empty fragment: one always-true epsilon (a split whose both edges go the same way). */
  private empty(): Frag {
    const s = this.add({ k: 'split', a: -1, b: -1 });
    return {
      start: s,
      outs: [
        { state: s, edge: 'a' },
        { state: s, edge: 'b' },
      ],
    };
  }

  build(node: Node): Frag {
    switch (node.t) {
      case 'char': {
        const s = this.add({ k: 'char', test: node.test, next: -1 });
        return { start: s, outs: [{ state: s, edge: 'next' }] };
      }
      case 'assert': {
        const s = this.add({ k: 'assert', kind: node.kind, next: -1 });
        return { start: s, outs: [{ state: s, edge: 'next' }] };
      }
      case 'seq': {
        if (node.items.length === 0) return this.empty();
        const first = this.build(node.items[0]!);
        let outs = first.outs;
        for (const item of node.items.slice(1)) {
          const f = this.build(item);
          this.patch({ start: first.start, outs }, f.start);
          outs = f.outs;
        }
        return { start: first.start, outs };
      }
      case 'alt': {
        let frag = this.build(node.options[node.options.length - 1]!);
        for (let i = node.options.length - 2; i >= 0; i--) {
          const left = this.build(node.options[i]!);
          const s = this.add({ k: 'split', a: left.start, b: frag.start });
          frag = { start: s, outs: [...left.outs, ...frag.outs] };
        }
        return frag;
      }
      case 'repeat':
        return this.repeat(node.node, node.min, node.max);
    }
  }

  /** `min` required copies, then `max - min` optional ones (or a loop when unbounded). */
  private repeat(node: Node, min: number, max: number): Frag {
    const parts: Frag[] = [];
    for (let i = 0; i < min; i++) parts.push(this.build(node));
    if (max === Infinity) {
      const body = this.build(node);
      const s = this.add({ k: 'split', a: body.start, b: -1 });
      this.patch(body, s);
      parts.push({ start: s, outs: [{ state: s, edge: 'b' }] });
    } else {
      for (let i = min; i < max; i++) {
        const body = this.build(node);
        const s = this.add({ k: 'split', a: body.start, b: -1 });
        parts.push({ start: s, outs: [...body.outs, { state: s, edge: 'b' }] });
      }
    }
    if (parts.length === 0) return this.empty();
    for (let i = 0; i + 1 < parts.length; i++) this.patch(parts[i]!, parts[i + 1]!.start);
    return { start: parts[0]!.start, outs: parts[parts.length - 1]!.outs };
  }
}

/** Parses the flags string: any of `i`, `m`, `s`, each at most once. */
function parseFlags(flags: string, at: string): Flags {
  if (!/^[ims]*$/.test(flags) || new Set(flags).size !== flags.length) {
    throw new QueryError(`${at}.flags`, 'only the flags i, m and s are supported, each at most once');
  }
  return { ignoreCase: flags.includes('i'), multiline: flags.includes('m'), dotAll: flags.includes('s') };
}

/** A compiled regex: whether it matches anywhere in a string. */
export type RegexMatcher = (s: string) => boolean;

/**
 * Compiles `pattern` with `flags`; throws a `QueryError` (at `at`) for syntax outside the
 * subset and a `LimitExceededError` for a pattern over `REGEX_PATTERN_CHARS_MAX` or
 * `REGEX_STATES_MAX`. The matcher throws `LimitExceededError` for an input over
 * `REGEX_INPUT_CHARS_MAX`.
 */
export function compileRegex(pattern: string, flags = '', at = 'regex'): RegexMatcher {
  if (pattern.length > REGEX_PATTERN_CHARS_MAX) {
    throw new LimitExceededError({
      limit: 'REGEX_PATTERN_CHARS_MAX',
      max: REGEX_PATTERN_CHARS_MAX,
      actual: pattern.length,
      what: `${at}.pattern length`,
    });
  }
  const f = parseFlags(flags, at);
  const ast = new Parser(pattern, f, at).parseAll();
  const builder = new NfaBuilder(at);
  const frag = builder.build(ast);
  const match = builder.states.length;
  builder.states.push({ k: 'match' });
  for (const o of frag.outs) (builder.states[o.state] as Record<string, unknown>)[o.edge] = match;
  return simulator(builder.states, frag.start, f);
}

/** The NFA run: every live state advances on each unit; a fresh thread starts at each position. */
function simulator(states: readonly State[], start: number, flags: Flags): RegexMatcher {
  const seen = new Int32Array(states.length).fill(-1);
  return (s) => {
    if (s.length > REGEX_INPUT_CHARS_MAX) {
      throw new LimitExceededError({
        limit: 'REGEX_INPUT_CHARS_MAX',
        max: REGEX_INPUT_CHARS_MAX,
        actual: s.length,
        what: 'string tested by a regex',
      });
    }
    seen.fill(-1);
    const assertion = (kind: AssertKind, pos: number): boolean => {
      const before = pos > 0 ? s.charCodeAt(pos - 1) : -1;
      const after = pos < s.length ? s.charCodeAt(pos) : -1;
      switch (kind) {
        case 'start':
          return pos === 0 || (flags.multiline && isLineTerminator(before));
        case 'end':
          return pos === s.length || (flags.multiline && isLineTerminator(after));
        default: {
          const boundary = (before >= 0 && isWordUnit(before)) !== (after >= 0 && isWordUnit(after));
          return kind === 'word' ? boundary : !boundary;
        }
      }
    };
    let current: number[] = [];
    let matched = false;
    // Epsilon closure: a stamp per state per position keeps each state at most once per step.
    const add = (list: number[], id: number, pos: number): void => {
      const stack = [id];
      while (stack.length > 0 && !matched) {
        const i = stack.pop()!;
        if (seen[i] === pos) continue;
        seen[i] = pos;
        const st = states[i]!;
        if (st.k === 'match') matched = true;
        else if (st.k === 'char') list.push(i);
        else if (st.k === 'split') stack.push(st.b, st.a);
        else if (assertion(st.kind, pos)) stack.push(st.next);
      }
    };
    for (let pos = 0; ; pos++) {
      add(current, start, pos);
      if (matched) return true;
      if (pos >= s.length) return false;
      const unit = s.charCodeAt(pos);
      const next: number[] = [];
      for (const i of current) {
        const st = states[i] as { k: 'char'; test: CharTest; next: number };
        if (st.test(unit)) add(next, st.next, pos + 1);
        if (matched) return true;
      }
      current = next;
    }
  };
}
