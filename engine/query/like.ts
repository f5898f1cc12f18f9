/**
 * SQL LIKE, as SQLite implements it: `%` matches any run of characters (including none), `_`
 * exactly one character (a Unicode code point, not a UTF-16 unit), an escape character makes
 * the next pattern character literal (and is checked before `%` and `_`, so an escape of `%`
 * turns `%` into a plain escape), and with `caseInsensitive` (the default, as SQLite's
 * `case_sensitive_like = OFF`) only the ASCII letters A-Z and a-z fold case.
 */

import { QueryError } from './errors.ts';

type Token = { kind: 'lit'; cp: number } | { kind: 'one' } | { kind: 'any' };

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
  for (let i = 0; i < pat.length; i++) {
    const cp = pat[i]!;
    if (cp === esc) tokens.push({ kind: 'lit', cp: fold ? foldAscii(pat[++i]!) : pat[++i]! });
    else if (cp === 0x25) tokens.push({ kind: 'any' });
    else if (cp === 0x5f) tokens.push({ kind: 'one' });
    else tokens.push({ kind: 'lit', cp: fold ? foldAscii(cp) : cp });
  }
  return (s) => likeMatch(tokens, fold ? codePoints(s).map(foldAscii) : codePoints(s));
}

/**
 * The classic two-pointer wildcard match: on a mismatch, go back to just after the last `%`
 * and let it swallow one more character. Correct for `%` and `_` (no other construct can
 * need deeper backtracking) and O(pattern × input) at worst.
 */
function likeMatch(tokens: readonly Token[], input: readonly number[]): boolean {
  let t = 0;
  let i = 0;
  let starT = -1;
  let starI = 0;
  while (i < input.length) {
    const tok = tokens[t];
    if (tok !== undefined && tok.kind === 'any') {
      starT = t++;
      starI = i;
    } else if (tok !== undefined && (tok.kind === 'one' || tok.cp === input[i])) {
      t++;
      i++;
    } else if (starT >= 0) {
      t = starT + 1;
      i = ++starI;
    } else {
      return false;
    }
  }
  while (t < tokens.length && tokens[t]!.kind === 'any') t++;
  return t === tokens.length;
}
