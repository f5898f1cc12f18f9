/**
 * Small byte arrays without V8's off-heap cost: {@link allocBytes} carves arrays of 65 to
 * {@link SLAB_ITEM_BYTES_MAX} bytes from shared slabs, and {@link copyRange} copies into one.
 * Below every layer (io included), like `assert.ts` and `hex.ts`.
 */

import { assert } from './assert.ts';

/** Largest array V8 keeps on the JavaScript heap; a longer one gets its own off-heap backing store. */
const ON_HEAP_BYTES_MAX = 64;
/**
 * Bytes of one slab {@link allocBytes} carves arrays from: Node's own Buffer pool size. Small,
 * because one array kept alive keeps its whole slab alive (a scan that keeps one value in a
 * hundred keeps a slab per value).
 */
export const SLAB_BYTES = 8 * 1024;
/** Longest array {@link allocBytes} carves from a slab; a longer one gets its own buffer. */
export const SLAB_ITEM_BYTES_MAX = 1024;
/** Slab pieces start on multiples of this, so that a reader's aligned loads stay aligned. */
const SLAB_ALIGN = 8;
assert(SLAB_ITEM_BYTES_MAX * 8 <= SLAB_BYTES, 'a slab holds at least eight of its largest pieces');

let slab = new ArrayBuffer(0);
let slabUsed = 0;
/** A view of the whole current slab, for encoders that write into it ({@link reserveBytes}). */
let slabView = new Uint8Array(slab);

/**
 * End of the slab bytes a reservation may have written ({@link reserveBytes}): below it, free
 * bytes are not known to be zero, so {@link allocBytes} zeroes what it hands out there.
 */
let slabDirtyEnd = 0;

function newSlab(): void {
  slab = new ArrayBuffer(SLAB_BYTES);
  slabView = new Uint8Array(slab);
  slabUsed = 0;
  slabDirtyEnd = 0;
}

/**
 * A zeroed array of `n` bytes that the caller owns. Arrays of 65 to {@link SLAB_ITEM_BYTES_MAX}
 * bytes are views into a shared slab of {@link SLAB_BYTES}, never handed out twice: a typed
 * array longer than 64 bytes otherwise gets its own off-heap backing store, which costs about
 * five times a view (measured 0.25 µs against 0.05 µs), and every write or received entry
 * makes several such arrays (payload, entry body, document state, scanned values, the
 * simulated disk's copies). The trade-offs: `.buffer` of such an array is
 * the slab, so every reader must honour `byteOffset` (this code base does: no reader assumes
 * an array starts its buffer), and one array kept alive keeps its slab alive (at most
 * {@link SLAB_BYTES}). Most of these arrays are short-lived or copied into the store; the
 * memory file system keeps its copies of unsynced writes until the next sync (measured: about
 * twice their bytes kept alive), and ranges served from a feed are copied into one exact
 * buffer per range (`feed-wire.ts`) because the simulator memoizes them.
 */
export function allocBytes(n: number): Uint8Array {
  if (n <= ON_HEAP_BYTES_MAX || n > SLAB_ITEM_BYTES_MAX) return new Uint8Array(n);
  if (slabUsed + n > slab.byteLength) newSlab();
  if (slabUsed < slabDirtyEnd) slabView.fill(0, slabUsed, Math.min(slabUsed + n, slabDirtyEnd));
  const out = new Uint8Array(slab, slabUsed, n);
  slabUsed += (n + SLAB_ALIGN - 1) & -SLAB_ALIGN;
  return out;
}

/** A copy of `src[0, length)` in an array from {@link allocBytes}. */
export function copyPrefix(src: Uint8Array, length: number): Uint8Array {
  assert(length <= src.length, 'copyPrefix: length within the source');
  return copyRange(src, 0, length);
}

/** A copy of `src[start, end)` in an array from {@link allocBytes} (`slice`, without its off-heap store). */
export function copyRange(src: Uint8Array, start: number, end: number): Uint8Array {
  assert(start >= 0, 'copyRange: start within the source');
  assert(start <= end, 'copyRange: start at or before end');
  assert(end <= src.length, 'copyRange: end within the source');
  const out = allocBytes(end - start);
  out.set(start === 0 && end === src.length ? src : src.subarray(start, end));
  return out;
}

/** Where the open reservation starts in the buffer {@link reserveBytes} returned; -1 when none. */
let reservedAt = -1;
/** The slab the open reservation is in (undefined when it is in {@link bigScratch}). */
let reservedSlab: ArrayBuffer | undefined;
/** Where reservations above {@link SLAB_ITEM_BYTES_MAX} bytes are written; grown as needed. */
let bigScratch = new Uint8Array(0);

/**
 * For an encoder that knows only an upper bound (`room`) of what it will write: returns a
 * buffer with at least `room` free bytes from {@link reservedStart} on, to write into and then
 * hand to {@link commitBytes}, which returns the written bytes as an array the caller owns. Up
 * to {@link SLAB_ITEM_BYTES_MAX} bytes this is the current slab itself, so the bytes are
 * written where they will stay: no scratch buffer, no copy and no view of it (each was about
 * 0.05 µs of a write's payload and document row). Nothing may allocate between the two calls
 * ({@link commitBytes} checks); a reservation never committed (its encoder threw) is simply
 * replaced by the next one.
 */
export function reserveBytes(room: number): Uint8Array {
  assert(Number.isSafeInteger(room), 'reserveBytes: room is an integer');
  assert(room >= 0, 'reserveBytes: room is not negative');
  if (room > SLAB_ITEM_BYTES_MAX) {
    if (bigScratch.length < room) bigScratch = new Uint8Array(room);
    reservedAt = 0;
    reservedSlab = undefined;
    return bigScratch;
  }
  if (slabUsed + room > slab.byteLength) newSlab();
  reservedAt = slabUsed;
  reservedSlab = slab;
  // The encoder may write anywhere in the room (and move text back), committed or not.
  slabDirtyEnd = Math.max(slabDirtyEnd, slabUsed + room);
  return slabView;
}

/** Where the open reservation starts in the buffer {@link reserveBytes} returned. */
export function reservedStart(): number {
  assert(reservedAt >= 0, 'reservedStart: no reservation is open');
  return reservedAt;
}

/**
 * Ends the open reservation, in `out` (what {@link reserveBytes} returned) written up to `end`:
 * returns those bytes, `out[reservedStart(), end)`, as an array the caller owns (up to 64
 * bytes on the JavaScript heap, as {@link allocBytes} makes them).
 */
export function commitBytes(out: Uint8Array, end: number): Uint8Array {
  const start = reservedAt;
  assert(start >= 0, 'commitBytes: no reservation is open');
  assert(end >= start, 'commitBytes: end at or after the reservation start');
  assert(end <= out.length, 'commitBytes: end within the buffer');
  reservedAt = -1;
  if (reservedSlab === undefined) {
    assert(out === bigScratch, 'commitBytes: the buffer reserveBytes returned');
    return copyRange(out, start, end);
  }
  // Whoever allocated from the slab meanwhile was handed bytes this reservation wrote over.
  assert(reservedSlab === slab, 'commitBytes: the slab changed under the reservation');
  assert(out === slabView, 'commitBytes: the buffer reserveBytes returned');
  assert(slabUsed === start, 'commitBytes: the slab was allocated from under the reservation');
  const n = end - start;
  if (n <= ON_HEAP_BYTES_MAX) {
    const small = new Uint8Array(n);
    copyBytes(out, start, end, small, 0);
    return small;
  }
  const kept = new Uint8Array(slab, start, n);
  slabUsed = (end + SLAB_ALIGN - 1) & -SLAB_ALIGN;
  return kept;
}

/**
 * Longest copy from a whole array that a loop makes; longer ones are one `set` of the array.
 * Measured (this machine, Node 20): a byte loop costs about 1.5 ns a byte, `set` of a whole
 * array about 16 ns, and `set` of a range about 40 ns (the range's view included).
 */
const WHOLE_COPY_LOOP_BYTES_MAX = 8;
/** Longest copy of a range of an array that a loop makes; longer ones go through a view and `set`. */
const RANGE_COPY_LOOP_BYTES_MAX = 24;

/**
 * Copies `src[from, end)` into `dst` at `at`, the cheapest way for its length: a loop for short
 * runs, `set` otherwise (of `src` itself when the run is all of it, else of a view).
 */
export function copyBytes(src: Uint8Array, from: number, end: number, dst: Uint8Array, at: number): void {
  const n = end - from;
  if (from === 0 && end === src.length) {
    if (n > WHOLE_COPY_LOOP_BYTES_MAX) {
      dst.set(src, at);
      return;
    }
  } else if (n > RANGE_COPY_LOOP_BYTES_MAX) {
    dst.set(src.subarray(from, end), at);
    return;
  }
  for (let i = 0; i < n; i++) dst[at + i] = src[from + i]!;
}
