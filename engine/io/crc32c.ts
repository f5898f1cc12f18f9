/**
 * CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), slice-by-8, as used by LevelDB,
 * ext4 and iSCSI. Every WAL record and SSTable block carries one.
 *
 * Stored checksums are masked (LevelDB's trick): computing the CRC of bytes that themselves
 * contain CRCs is prone to accidental matches, so we store a rotated, offset form.
 */

const POLY = 0x82f63b78;

/**
 * The eight slice-by-8 tables in one Int32Array (table t at [t * 256, t * 256 + 256)). Int32
 * rather than Uint32 on purpose: V8 keeps int32 values unboxed, while Uint32 values at or
 * above 2^31 become heap doubles, which made this loop several times slower.
 */
function makeTables(): Int32Array {
  const t = new Int32Array(8 * 256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t[i] = c;
  }
  for (let n = 1; n < 8; n++) {
    for (let i = 0; i < 256; i++) {
      const prev = t[(n - 1) * 256 + i]!;
      t[n * 256 + i] = (prev >>> 8) ^ t[prev & 0xff]!;
    }
  }
  return t;
}

const T = makeTables();

/** Extends `crc` (the CRC of earlier bytes; 0 to start) over `data[start, end)`. */
export function crc32cUpdate(crc: number, data: Uint8Array, start = 0, end = data.length): number {
  let c = ~crc | 0;
  let i = start;
  const end8 = start + ((end - start) & ~7);
  for (; i < end8; i += 8) {
    c ^= data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    c =
      T[1792 + (c & 0xff)]! ^
      T[1536 + ((c >>> 8) & 0xff)]! ^
      T[1280 + ((c >>> 16) & 0xff)]! ^
      T[1024 + (c >>> 24)]! ^
      T[768 + data[i + 4]!]! ^
      T[512 + data[i + 5]!]! ^
      T[256 + data[i + 6]!]! ^
      T[data[i + 7]!]!;
  }
  for (; i < end; i++) c = (c >>> 8) ^ T[(c ^ data[i]!) & 0xff]!;
  return ~c >>> 0;
}

/** CRC-32C of `data[start, end)`. */
export function crc32c(data: Uint8Array, start = 0, end = data.length): number {
  return crc32cUpdate(0, data, start, end);
}

const MASK_DELTA = 0xa282ead8;

/** The stored (masked) form of a CRC. */
export function maskCrc(crc: number): number {
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + MASK_DELTA) >>> 0;
}

/** Inverse of {@link maskCrc}. */
export function unmaskCrc(masked: number): number {
  const rot = (masked - MASK_DELTA) >>> 0;
  return ((rot >>> 17) | (rot << 15)) >>> 0;
}
