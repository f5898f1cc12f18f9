/**
 * SQL LIKE, as SQLite implements it: `%` matches any run of characters (including none), `_`
 * exactly one character (a Unicode code point, not a UTF-16 unit), an escape character makes
 * the next pattern character literal (and is checked before `%` and `_`, so an escape of `%`
 * turns `%` into a plain escape), and with `caseInsensitive` (the default, as SQLite's
 * `case_sensitive_like = OFF`) only the ASCII letters A-Z and a-z fold case.
 */

import { QueryError } from './errors.ts';

/** A pattern element: literal UTF-16 units (one code point, case-folded when folding), one character, or any run. */
type Token = { kind: 'lit'; units: number[] } | { kind: 'one' } | { kind: 'any' };

const UPPER_A = 0x41;
const UPPER_Z = 0x5a;
const ASCII_CASE_BIT = 0x20;

/** ASCII-only case folding, as SQLite's `sqlite3Tolower` for LIKE. */
function foldAscii(cp: number): number {
  return cp >= UPPER_A && cp <= UPPER_Z ? cp | ASCII_CASE_BIT : cp;
}

/** The code points of `s` (a lone surrogate counts as one). */
function codePoints(s: string): number[] {
  const out: number[] = [];
  for (const ch of s) out.push(ch.codePointAt(0)!);
  return out;
}

/** Options of {@link compileLike}. */
export interface LikeOptions {
  /** One character (code point) that escapes the next; none by default. */
  readonly escape?: string;
  /** Fold ASCII case. Default true, as SQLite's LIKE. */
  readonly caseInsensitive?: boolean;
}

/**
 * Whether `escape` is acceptable: undefined, or exactly one code point. Throws a
 * {@link QueryError} at `at` otherwise, and for a pattern that ends in an unused escape
 * (SQLite then matches nothing; Aregula calls the pattern malformed instead).
 */
export function checkLikePattern(pattern: string, escapeChar: string | undefined, at: string): void {
  if (escapeChar === undefined) return;
  const cps = codePoints(escapeChar);
  if (cps.length !== 1) throw new QueryError(`${at}.escape`, 'must be exactly one character');
  const pat = codePoints(pattern);
  for (let i = 0; i < pat.length; i++) {
    if (pat[i] !== cps[0]) continue;
    if (i + 1 >= pat.length) throw new QueryError(`${at}.pattern`, 'ends with the escape character');
    i++;
  }
}

/** Compiles a (checked) LIKE pattern into a matcher of strings. */
export function compileLike(pattern: string, options: LikeOptions = {}): (s: string) => boolean {
  const fold = options.caseInsensitive !== false;
  const esc = options.escape === undefined ? -1 : options.escape.codePointAt(0)!;
  const tokens: Token[] = [];
  const pat = codePoints(pattern);
  const literal = (cp: number): Token => {
    const text = String.fromCodePoint(cp);
    const units = [...Array(text.length).keys()].map((k) => text.charCodeAt(k));
    return { kind: 'lit', units: fold ? units.map(foldAscii) : units };
  };
  for (let i = 0; i < pat.length; i++) {
    const cp = pat[i]!;
    if (cp === esc) tokens.push(literal(pat[++i]!));
    else if (cp === 0x25) tokens.push({ kind: 'any' });
    else if (cp === 0x5f) tokens.push({ kind: 'one' });
    else tokens.push(literal(cp));
  }
  return (s) => likeMatch(tokens, s, fold);
}

/** UTF-16 length of the code point at `i` (a surrogate pair is one character). */
function charLength(s: string, i: number): number {
  const c = s.charCodeAt(i);
  if (c < 0xd800 || c > 0xdbff || i + 1 >= s.length) return 1;
  const d = s.charCodeAt(i + 1);
  return d >= 0xdc00 && d <= 0xdfff ? 2 : 1;
}

/** How many units of `s` at `i` the token consumes, or 0 if it does not match there. */
function step(tok: Token, s: string, i: number, fold: boolean): number {
  if (tok.kind === 'one') return charLength(s, i);
  const units = (tok as { units: number[] }).units;
  for (let k = 0; k < units.length; k++) {
    const c = s.charCodeAt(i + k);
    if ((fold ? foldAscii(c) : c) !== units[k]) return 0;
  }
  // A literal high surrogate must not match the first half of a pair that continues differently.
  return units.length === 1 && charLength(s, i) === 2 ? 0 : units.length;
}

/**
 * The classic two-pointer wildcard match over UTF-16 units, stepping a whole code point at a
 * time: on a mismatch, go back to just after the last `%` and let it swallow one more
 * character. Correct for `%` and `_` (no other construct needs deeper backtracking) and
 * O(pattern × input) at worst.
 */
function likeMatch(tokens: readonly Token[], s: string, fold: boolean): boolean {
  let t = 0;
  let i = 0;
  let starT = -1;
  let starI = 0;
  while (i < s.length) {
    const tok = tokens[t];
    let n = 0;
    if (tok !== undefined && tok.kind === 'any') {
      starT = t++;
      starI = i;
      continue;
    }
    if (tok !== undefined) n = step(tok, s, i, fold);
    if (n > 0) {
      t++;
      i += n;
    } else if (starT >= 0) {
      t = starT + 1;
      starI += charLength(s, starI);
      i = starI;
    } else {
      return false;
    }
  }
  while (t < tokens.length && tokens[t]!.kind === 'any') t++;
  return t === tokens.length;
}
