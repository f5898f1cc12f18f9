import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { l2Scalar, negdotScalar, VectorStore } from './kernel.ts';
import { getKernelModule, instantiateKernels, kernelModuleBytes } from './kernel-wasm.ts';

/** Two vectors of `dim` components placed in a fresh WebAssembly memory and a plain array. */
function place(a: readonly number[], b: readonly number[]) {
  const module = getKernelModule();
  expect(module).toBeDefined();
  const memory = new WebAssembly.Memory({ initial: 1 });
  const kernels = instantiateKernels(module!, memory);
  const heap = new Float32Array(memory.buffer);
  // b sits at an odd float index, so unaligned loads are covered too.
  const bAt = a.length + 3;
  heap.set(a, 0);
  heap.set(b, bAt);
  return { kernels, heap, bAt };
}

const componentArb = fc.float({ min: -1e6, max: 1e6, noNaN: true, noDefaultInfinity: true });
const pairArb = fc
  .integer({ min: 1, max: 70 })
  .chain((dim) =>
    fc.tuple(
      fc.array(componentArb, { minLength: dim, maxLength: dim }),
      fc.array(componentArb, { minLength: dim, maxLength: dim }),
    ),
  );

describe('the WebAssembly SIMD kernels', () => {
  it('assemble to a valid module on this platform', () => {
    expect(WebAssembly.validate(kernelModuleBytes())).toBe(true);
    expect(getKernelModule()).toBeInstanceOf(WebAssembly.Module);
  });

  test.prop([pairArb])('agree bit for bit with the scalar emulation', ([a, b]) => {
    const { kernels, heap, bAt } = place(a, b);
    const dim = a.length;
    expect(Object.is(kernels.negdot(0, bAt, dim), negdotScalar(heap, 0, bAt, dim))).toBe(true);
    expect(Object.is(kernels.l2(0, bAt, dim), l2Scalar(heap, 0, bAt, dim))).toBe(true);
  });

  it('compute the inner product and squared distance to float32 accuracy', () => {
    for (const dim of [1, 3, 7, 8, 9, 15, 16, 17, 32, 100, 128, 129]) {
      const a = Array.from({ length: dim }, (_, i) => Math.sin(i + 1));
      const b = Array.from({ length: dim }, (_, i) => Math.cos(3 * i));
      const { kernels, heap, bAt } = place(a, b);
      let dot = 0;
      let l2 = 0;
      for (let i = 0; i < dim; i++) {
        dot += heap[i]! * heap[bAt + i]!;
        l2 += (heap[i]! - heap[bAt + i]!) ** 2;
      }
      expect(kernels.negdot(0, bAt, dim)).toBeCloseTo(-dot, 4);
      expect(kernels.l2(0, bAt, dim)).toBeCloseTo(l2, 4);
    }
  });
});

describe('VectorStore', () => {
  for (const kernel of ['auto', 'scalar'] as const) {
    it(`keeps vectors in place while it grows (${kernel})`, () => {
      const store = new VectorStore({ dimension: 5, metric: 'l2', capacity: 1, kernel });
      expect(store.simd).toBe(kernel === 'auto');
      for (let node = 0; node < 5000; node++) {
        store.ensureCapacity(node + 1);
        store.setNode(node, new Float32Array([node, 1, 2, 3, 4]));
      }
      expect(store.capacity).toBeGreaterThanOrEqual(5000);
      for (const node of [0, 1, 17, 4999]) expect(store.heap[store.at(node)]).toBe(node);
      store.setQuery(new Float32Array([17, 1, 2, 3, 4]));
      expect(store.kernel(store.queryAt, store.at(17), 5)).toBe(0);
      expect(store.kernel(store.queryAt, store.at(19), 5)).toBe(4);
      expect(store.nodeBytes(2).length).toBe(40);
    });
  }
});
