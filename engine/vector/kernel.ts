/**
 * Vector storage and the distance kernels over it.
 *
 * All vectors of an index, and one query slot, live in one Float32 heap: the memory of a
 * WebAssembly instance of the SIMD kernels (kernel-wasm.ts) where the platform has WebAssembly
 * SIMD, a plain Float32Array otherwise. Distances take float indices into that heap, so the
 * search loop passes two integers and a dimension and never touches an object.
 *
 * The kernel's arithmetic is specified in kernel-wasm.ts (float32, eight lanes, a fixed summing
 * order); the scalar kernels here emulate it bit for bit with `Math.fround` (a product or sum
 * of two float32 values computed in double and rounded once to float32 is exactly the float32
 * result), so that an index built with either kernel is the same graph, byte for byte.
 */

import { assert } from '../assert.ts';
import type { IndexKernel } from './kernel-wasm.ts';
import { getKernelModule, instantiateKernels } from './kernel-wasm.ts';
import type { VectorMetric } from './metric.ts';

const f = Math.fround;

/** Scalar emulation of the `negdot` kernel over `h`. */
export function negdotScalar(h: Float32Array, a: number, b: number, dim: number): number {
  let p0 = 0;
  let p1 = 0;
  let p2 = 0;
  let p3 = 0;
  let q0 = 0;
  let q1 = 0;
  let q2 = 0;
  let q3 = 0;
  const end = dim - (dim & 7);
  let i = 0;
  for (; i < end; i += 8) {
    const x = a + i;
    const y = b + i;
    p0 = f(p0 + f(h[x]! * h[y]!));
    p1 = f(p1 + f(h[x + 1]! * h[y + 1]!));
    p2 = f(p2 + f(h[x + 2]! * h[y + 2]!));
    p3 = f(p3 + f(h[x + 3]! * h[y + 3]!));
    q0 = f(q0 + f(h[x + 4]! * h[y + 4]!));
    q1 = f(q1 + f(h[x + 5]! * h[y + 5]!));
    q2 = f(q2 + f(h[x + 6]! * h[y + 6]!));
    q3 = f(q3 + f(h[x + 7]! * h[y + 7]!));
  }
  let s = f(f(f(p0 + q0) + f(p1 + q1)) + f(f(p2 + q2) + f(p3 + q3)));
  for (; i < dim; i++) s = f(s + f(h[a + i]! * h[b + i]!));
  return -s;
}

/** Scalar emulation of the `l2` kernel over `h`. */
export function l2Scalar(h: Float32Array, a: number, b: number, dim: number): number {
  const lanes = new Float64Array(8);
  const end = dim - (dim & 7);
  let i = 0;
  for (; i < end; i += 8) {
    for (let j = 0; j < 8; j++) {
      const d = f(h[a + i + j]! - h[b + i + j]!);
      lanes[j] = f(lanes[j]! + f(d * d));
    }
  }
  const l0 = f(lanes[0]! + lanes[4]!);
  const l1 = f(lanes[1]! + lanes[5]!);
  const l2 = f(lanes[2]! + lanes[6]!);
  const l3 = f(lanes[3]! + lanes[7]!);
  let s = f(f(l0 + l1) + f(l2 + l3));
  for (; i < dim; i++) {
    const d = f(h[a + i]! - h[b + i]!);
    s = f(s + f(d * d));
  }
  return s;
}

/** Which kernel implementation to use. */
export type KernelChoice = 'auto' | 'scalar';

/** WebAssembly pages are 64 KiB. */
const PAGE_BYTES = 65536;

/** The vectors of one index and the kernel that compares them (see the module comment). */
export class VectorStore {
  /** Components per vector. */
  readonly dim: number;
  /** Float index of the query slot. */
  readonly queryAt = 0;
  /** Float index of node 0's vector (the query slot rounded up to 16 bytes). */
  readonly baseAt: number;
  /** True when the WebAssembly SIMD kernel runs. */
  readonly simd: boolean;
  /** Every stored float: the query slot, then node after node. Replaced when it grows. */
  heap: Float32Array;
  /** The metric's distance between the vectors at two float indices of the heap. */
  kernel: IndexKernel;
  /** Nodes the heap has room for. */
  capacity = 0;
  private readonly memory: WebAssembly.Memory | undefined;

  constructor(options: { dimension: number; metric: VectorMetric; capacity: number; kernel: KernelChoice }) {
    this.dim = options.dimension;
    this.baseAt = Math.ceil(this.dim / 4) * 4;
    const module = options.kernel === 'auto' ? getKernelModule() : undefined;
    const l2 = options.metric === 'l2';
    if (module !== undefined) {
      this.memory = new WebAssembly.Memory({ initial: this.pagesFor(options.capacity) });
      const kernels = instantiateKernels(module, this.memory);
      this.kernel = l2 ? kernels.l2 : kernels.negdot;
      this.heap = new Float32Array(this.memory.buffer);
      this.simd = true;
    } else {
      this.memory = undefined;
      this.heap = new Float32Array(this.baseAt + options.capacity * this.dim);
      this.kernel = l2
        ? (a, b, dim) => l2Scalar(this.heap, a, b, dim)
        : (a, b, dim) => negdotScalar(this.heap, a, b, dim);
      this.simd = false;
    }
    this.capacity = Math.floor((this.heap.length - this.baseAt) / this.dim);
  }

  private pagesFor(nodes: number): number {
    return Math.max(1, Math.ceil(((this.baseAt + nodes * this.dim) * 4) / PAGE_BYTES));
  }

  /** Grows the heap to hold at least `nodes` nodes; existing vectors keep their places. */
  ensureCapacity(nodes: number): void {
    if (nodes <= this.capacity) return;
    if (this.memory !== undefined) {
      const pages = this.pagesFor(nodes);
      const current = this.memory.buffer.byteLength / PAGE_BYTES;
      this.memory.grow(pages - current);
      // Growing detaches the old buffer: every view must be made again.
      this.heap = new Float32Array(this.memory.buffer);
    } else {
      const heap = new Float32Array(this.baseAt + nodes * this.dim);
      heap.set(this.heap);
      this.heap = heap;
    }
    this.capacity = Math.floor((this.heap.length - this.baseAt) / this.dim);
    assert(this.capacity >= nodes, 'vector heap did not grow enough');
  }

  /** Float index of `node`'s vector. */
  at(node: number): number {
    return this.baseAt + node * this.dim;
  }

  /** Copies `vector[0, dim)` into the query slot. */
  setQuery(vector: Float32Array): void {
    this.heap.set(vector.subarray(0, this.dim), this.queryAt);
  }

  /** Copies `vector[0, dim)` into `node`'s place. */
  setNode(node: number, vector: Float32Array): void {
    this.heap.set(vector.subarray(0, this.dim), this.at(node));
  }

  /** The bytes of the first `nodes` vectors (a view, for saving and loading). */
  nodeBytes(nodes: number): Uint8Array {
    return new Uint8Array(this.heap.buffer, this.heap.byteOffset + this.baseAt * 4, nodes * this.dim * 4);
  }
}
