/**
 * The distance kernels as a small WebAssembly module using 128-bit SIMD, assembled here from
 * opcodes (no build step, no binary blob): about four times faster per 128-dimensional
 * distance than the best scalar JavaScript loop, which is most of a search's time.
 *
 * Both functions take float indices (not byte offsets) into the module's imported memory and a
 * dimension, and follow exactly the arithmetic that kernel.ts specifies and emulates in
 * JavaScript when WebAssembly SIMD is missing:
 *
 * - `negdot(a, b, dim)`: minus the inner product; `l2(a, b, dim)`: the squared distance.
 * - Float32 arithmetic throughout. Components in blocks of 8: two f32x4 accumulators (lanes
 *   0-3 and 4-7 of each block), each lane adding its product (or squared difference) in order;
 *   then the two accumulators are added lane by lane, the four lanes summed as
 *   `(l0 + l1) + (l2 + l3)`, and the `dim % 8` remaining components added one by one.
 *
 * WebAssembly's f32x4 arithmetic is IEEE single precision with round-to-nearest and no fused
 * operations, so the result is the same on every engine and CPU.
 */

/** Unsigned LEB128 of `x`. */
function leb(x: number): number[] {
  const out: number[] = [];
  let v = x >>> 0;
  do {
    let byte = v & 0x7f;
    v >>>= 7;
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
  return out;
}

/** A section: id, byte length, body. */
function section(id: number, body: number[]): number[] {
  return [id, ...leb(body.length), ...body];
}

/** A length-prefixed UTF-8 name (ASCII here). */
function name(s: string): number[] {
  return [s.length, ...Array.from(s, (c) => c.charCodeAt(0))];
}

const I32 = 0x7f;
const F32 = 0x7d;
const V128 = 0x7b;
const LOCAL_GET = 0x20;
const LOCAL_SET = 0x21;
const LOCAL_TEE = 0x22;
const I32_CONST = 0x41;
const I32_ADD = 0x6a;
const I32_AND = 0x71;
const I32_SHL = 0x74;
const I32_GE_U = 0x4f;
const F32_LOAD = 0x2a;
const F32_ADD = 0x92;
const F32_SUB = 0x93;
const F32_MUL = 0x94;
const F32_NEG = 0x8c;
const BLOCK = 0x02;
const LOOP = 0x03;
const VOID = 0x40;
const BR = 0x0c;
const BR_IF = 0x0d;
const END = 0x0b;

/** A SIMD instruction (prefix 0xfd, LEB128 opcode). */
function simd(op: number): number[] {
  return [0xfd, ...leb(op)];
}
const V128_LOAD = 0;
const F32X4_EXTRACT_LANE = 31;
const F32X4_ADD = 228;
const F32X4_SUB = 229;
const F32X4_MUL = 230;

// Parameters: 0 = a (float index, then byte address), 1 = b, 2 = dim. Locals: 3 = end (i32),
// 4 = acc0, 5 = acc1 (v128), 6 = s (f32), 7 = tmp (v128 / f32 scratch).
const A = 0;
const B = 1;
const DIM = 2;
const END_ADDR = 3;
const ACC0 = 4;
const ACC1 = 5;
const S = 6;

/** `local = local + imm` on an i32 local. */
function addImm(local: number, imm: number): number[] {
  return [LOCAL_GET, local, I32_CONST, ...leb(imm), I32_ADD, LOCAL_SET, local];
}

/** Pushes the per-lane term of 4 components at byte offset `offset` from a and b. */
function lanes(squaredDifference: boolean, offset: number): number[] {
  const loadA = [LOCAL_GET, A, ...simd(V128_LOAD), 0, ...leb(offset)];
  const loadB = [LOCAL_GET, B, ...simd(V128_LOAD), 0, ...leb(offset)];
  if (!squaredDifference) return [...loadA, ...loadB, ...simd(F32X4_MUL)];
  // (a - b) * (a - b): compute the difference once into the accumulator's scratch local.
  return [...loadA, ...loadB, ...simd(F32X4_SUB), LOCAL_TEE, 7, LOCAL_GET, 7, ...simd(F32X4_MUL)];
}

/** The scalar term of one remaining component at a and b. */
function scalar(squaredDifference: boolean): number[] {
  const loadA = [LOCAL_GET, A, F32_LOAD, 2, 0];
  const loadB = [LOCAL_GET, B, F32_LOAD, 2, 0];
  if (!squaredDifference) return [...loadA, ...loadB, F32_MUL];
  return [...loadA, ...loadB, F32_SUB, LOCAL_TEE, 8, LOCAL_GET, 8, F32_MUL];
}

/** The body of one kernel (see the module comment). */
function kernelBody(squaredDifference: boolean): number[] {
  const code = [
    // Locals: end (i32), acc0, acc1 (v128), s (f32), v128 scratch, f32 scratch.
    5,
    1,
    I32,
    2,
    V128,
    1,
    F32,
    1,
    V128,
    ...[1, F32],
    // a and b become byte addresses.
    ...[LOCAL_GET, A, I32_CONST, 2, I32_SHL, LOCAL_SET, A],
    ...[LOCAL_GET, B, I32_CONST, 2, I32_SHL, LOCAL_SET, B],
    // end = a + ((dim & ~7) << 2)
    ...[
      LOCAL_GET,
      A,
      LOCAL_GET,
      DIM,
      I32_CONST,
      ...[0x78],
      I32_AND,
      I32_CONST,
      2,
      I32_SHL,
      I32_ADD,
      LOCAL_SET,
      END_ADDR,
    ],
    ...[BLOCK, VOID, LOOP, VOID],
    ...[LOCAL_GET, A, LOCAL_GET, END_ADDR, I32_GE_U, BR_IF, 1],
    ...[LOCAL_GET, ACC0, ...lanes(squaredDifference, 0), ...simd(F32X4_ADD), LOCAL_SET, ACC0],
    ...[LOCAL_GET, ACC1, ...lanes(squaredDifference, 16), ...simd(F32X4_ADD), LOCAL_SET, ACC1],
    ...addImm(A, 32),
    ...addImm(B, 32),
    ...[BR, 0, END, END],
    // s = (l0 + l1) + (l2 + l3) of acc0 + acc1
    ...[LOCAL_GET, ACC0, LOCAL_GET, ACC1, ...simd(F32X4_ADD), LOCAL_TEE, ACC0],
    ...[...simd(F32X4_EXTRACT_LANE), 0, LOCAL_GET, ACC0, ...simd(F32X4_EXTRACT_LANE), 1, F32_ADD],
    ...[
      LOCAL_GET,
      ACC0,
      ...simd(F32X4_EXTRACT_LANE),
      2,
      LOCAL_GET,
      ACC0,
      ...simd(F32X4_EXTRACT_LANE),
      3,
      F32_ADD,
    ],
    ...[F32_ADD, LOCAL_SET, S],
    // end = a + ((dim & 7) << 2); the remaining components one by one.
    ...[
      LOCAL_GET,
      A,
      LOCAL_GET,
      DIM,
      I32_CONST,
      7,
      I32_AND,
      I32_CONST,
      2,
      I32_SHL,
      I32_ADD,
      LOCAL_SET,
      END_ADDR,
    ],
    ...[BLOCK, VOID, LOOP, VOID],
    ...[LOCAL_GET, A, LOCAL_GET, END_ADDR, I32_GE_U, BR_IF, 1],
    ...[LOCAL_GET, S, ...scalar(squaredDifference), F32_ADD, LOCAL_SET, S],
    ...addImm(A, 4),
    ...addImm(B, 4),
    ...[BR, 0, END, END],
    ...[LOCAL_GET, S],
    ...(squaredDifference ? [] : [F32_NEG]),
    END,
  ];
  return [...leb(code.length), ...code];
}

/** The module's bytes: imports memory `e.m`, exports `negdot` and `l2`. */
export function kernelModuleBytes(): Uint8Array<ArrayBuffer> {
  const type = [0x60, 3, I32, I32, I32, 1, F32];
  const bytes = [
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, [1, ...type]),
    ...section(2, [1, ...name('e'), ...name('m'), 0x02, 0x00, 0x01]),
    ...section(3, [2, 0, 0]),
    ...section(7, [2, ...name('negdot'), 0x00, 0, ...name('l2'), 0x00, 1]),
    ...section(10, [2, ...kernelBody(false), ...kernelBody(true)]),
  ];
  return new Uint8Array(bytes);
}

/** A kernel over float indices into the memory it was instantiated with. */
export type IndexKernel = (a: number, b: number, dim: number) => number;

/** The compiled module, or undefined where WebAssembly SIMD is unavailable. */
let compiled: WebAssembly.Module | null | undefined;

/** The compiled kernel module, or undefined when this platform cannot run it. */
export function getKernelModule(): WebAssembly.Module | undefined {
  if (compiled === undefined) {
    const bytes = kernelModuleBytes();
    const wasm = (globalThis as { WebAssembly?: typeof WebAssembly }).WebAssembly;
    compiled = wasm?.validate(bytes) ? new wasm.Module(bytes) : null;
  }
  return compiled ?? undefined;
}

/** Instantiates the kernels over `memory`. */
export function instantiateKernels(
  module: WebAssembly.Module,
  memory: WebAssembly.Memory,
): { negdot: IndexKernel; l2: IndexKernel } {
  const instance = new WebAssembly.Instance(module, { e: { m: memory } });
  return { negdot: instance.exports.negdot as IndexKernel, l2: instance.exports.l2 as IndexKernel };
}
