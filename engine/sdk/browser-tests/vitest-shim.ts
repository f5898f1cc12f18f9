/**
 * Just enough of vitest's API (`describe`, `it`, `beforeEach`, `afterEach`, `expect` with
 * `toBe` and `toEqual`) to run a shared suite written for vitest inside a browser worker,
 * where vitest itself does not run. The browser test bundles the suite with `vitest` aliased
 * to this file and reads the results back ({@link runRegistered}).
 */

type Hook = () => unknown;

interface Suite {
  name: string;
  before: Hook[];
  after: Hook[];
  tests: { name: string; fn: Hook }[];
  children: Suite[];
  parent: Suite | undefined;
}

const root: Suite = { name: '', before: [], after: [], tests: [], children: [], parent: undefined };
let current = root;

/** Registers a group of tests. */
export function describe(name: string, fn: () => void): void {
  const suite: Suite = { name, before: [], after: [], tests: [], children: [], parent: current };
  current.children.push(suite);
  const outer = current;
  current = suite;
  try {
    fn();
  } finally {
    current = outer;
  }
}

/** Registers a test. */
export function it(name: string, fn: Hook): void {
  current.tests.push({ name, fn });
}

/** Runs `fn` before every test of the current group and its subgroups. */
export function beforeEach(fn: Hook): void {
  current.before.push(fn);
}

/** Runs `fn` after every test of the current group and its subgroups. */
export function afterEach(fn: Hook): void {
  current.after.push(fn);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

/** vitest's `toEqual`: recursive equality, typed arrays by element, undefined properties ignored. */
function deepEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (ArrayBuffer.isView(a) || ArrayBuffer.isView(b)) {
    if (!ArrayBuffer.isView(a) || !ArrayBuffer.isView(b) || a.constructor !== b.constructor) return false;
    const x = a as unknown as ArrayLike<number>;
    const y = b as unknown as ArrayLike<number>;
    if (x.length !== y.length) return false;
    for (let i = 0; i < x.length; i++) if (!Object.is(x[i], y[i])) return false;
    return true;
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((v, i) => deepEqual(v, b[i]));
  }
  if (!isObject(a) || !isObject(b)) return false;
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of keys) if (!deepEqual(a[k], b[k])) return false;
  return true;
}

function show(v: unknown): string {
  if (ArrayBuffer.isView(v)) return `${v.constructor.name}[${Array.from(v as unknown as ArrayLike<number>)}]`;
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

/** `expect(actual)` with `toBe`, `toEqual` and their `not` forms. */
export function expect(actual: unknown, message?: string) {
  const check = (ok: boolean, what: string, expected: unknown) => {
    if (!ok)
      throw new Error(`${message ? `${message}: ` : ''}expected ${show(actual)} ${what} ${show(expected)}`);
  };
  return {
    toBe: (expected: unknown) => check(Object.is(actual, expected), 'to be', expected),
    toEqual: (expected: unknown) => check(deepEqual(actual, expected), 'to equal', expected),
    not: {
      toBe: (expected: unknown) => check(!Object.is(actual, expected), 'not to be', expected),
      toEqual: (expected: unknown) => check(!deepEqual(actual, expected), 'not to equal', expected),
    },
  };
}

/** One test's outcome. */
export interface ShimResult {
  name: string;
  ok: boolean;
  error?: string;
}

function chain(s: Suite): Suite[] {
  const out: Suite[] = [];
  for (let x: Suite | undefined = s; x !== undefined; x = x.parent) out.unshift(x);
  return out;
}

/** Runs every registered test in order (hooks outside in before, inside out after). */
export async function runRegistered(): Promise<ShimResult[]> {
  const results: ShimResult[] = [];
  const visit = async (s: Suite): Promise<void> => {
    const suites = chain(s);
    const prefix = suites
      .map((x) => x.name)
      .filter((n) => n !== '')
      .join(' > ');
    for (const t of s.tests) {
      const name = `${prefix} > ${t.name}`;
      try {
        for (const x of suites) for (const h of x.before) await h();
        try {
          await t.fn();
        } finally {
          for (const x of [...suites].reverse()) for (const h of x.after) await h();
        }
        results.push({ name, ok: true });
      } catch (err) {
        results.push({ name, ok: false, error: String((err as Error)?.stack ?? err).slice(0, 2000) });
      }
    }
    for (const c of s.children) await visit(c);
  };
  await visit(root);
  return results;
}
