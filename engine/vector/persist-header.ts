/**
 * The 64-byte header of a saved HNSW index (docs/formats/hnsw.md): magic, version, the index's
 * parameters and counters, and a masked CRC-32C of its first 60 bytes.
 */

import type { CorruptionError } from '../errors.ts';
import { crc32c, maskCrc } from '../io/crc32c.ts';
import { MAX_DIMENSION, MAX_EF, MAX_LEVEL, MAX_M, MIN_M } from './limits.ts';
import type { VectorMetric } from './metric.ts';
import { getMetricByCode } from './metric.ts';

/** Size of the header in bytes. */
export const HEADER_BYTES = 64;

/** The format version this code writes and reads. */
export const HNSW_FORMAT_VERSION = 1;

/** The file's first 8 bytes: `AREHNSW` and a zero byte. */
export const HNSW_MAGIC = new Uint8Array([0x41, 0x52, 0x45, 0x48, 0x4e, 0x53, 0x57, 0x00]);

/** The header's fields. */
export interface HnswHeader {
  metricCode: number;
  dimension: number;
  m: number;
  efConstruction: number;
  efSearch: number;
  nodeCount: number;
  deletedCount: number;
  /** -1 when the index is empty. */
  entryPoint: number;
  maxLevel: number;
}

/** A decoded header, with the metric resolved. */
export interface DecodedHeader extends HnswHeader {
  metric: VectorMetric;
}

/** Encodes `h` into 64 bytes. */
export function encodeHeader(h: HnswHeader): Uint8Array {
  const out = new Uint8Array(HEADER_BYTES);
  const v = new DataView(out.buffer);
  out.set(HNSW_MAGIC, 0);
  v.setUint16(8, HNSW_FORMAT_VERSION, true);
  v.setUint8(10, h.metricCode);
  v.setUint32(12, h.dimension, true);
  v.setUint32(16, h.m, true);
  v.setUint32(20, h.efConstruction, true);
  v.setUint32(24, h.efSearch, true);
  v.setUint32(28, h.nodeCount, true);
  v.setUint32(32, h.deletedCount, true);
  v.setInt32(36, h.entryPoint, true);
  v.setUint32(40, h.maxLevel, true);
  v.setUint32(60, maskCrc(crc32c(out, 0, 60)), true);
  return out;
}

/** Checks that `value` lies in [min, max]; `corrupt` makes the error otherwise. */
function inRange(
  value: number,
  range: { min: number; max: number; what: string; offset: number },
  corrupt: (offset: number, detail: string) => CorruptionError,
): void {
  if (value < range.min || value > range.max) {
    throw corrupt(range.offset, `${range.what} ${value} is outside ${range.min}..${range.max}`);
  }
}

/** Decodes and checks a header; throws what `corrupt` makes on any failure. */
export function decodeHeader(
  bytes: Uint8Array,
  corrupt: (offset: number, detail: string) => CorruptionError,
): DecodedHeader {
  for (let i = 0; i < HNSW_MAGIC.length; i++) {
    if (bytes[i] !== HNSW_MAGIC[i]) throw corrupt(0, 'not an HNSW index file (bad magic)');
  }
  const v = new DataView(bytes.buffer, bytes.byteOffset, HEADER_BYTES);
  if (v.getUint32(60, true) !== maskCrc(crc32c(bytes, 0, 60))) throw corrupt(0, 'header fails its CRC');
  const version = v.getUint16(8, true);
  if (version !== HNSW_FORMAT_VERSION)
    throw corrupt(8, `format version ${version} is not supported (expected 1)`);
  const metric = getMetricByCode(v.getUint8(10));
  if (metric === undefined) throw corrupt(10, `unknown metric code ${v.getUint8(10)}`);
  if (v.getUint8(11) !== 0) throw corrupt(11, 'reserved byte is not zero');
  for (let at = 44; at < 60; at++) if (bytes[at] !== 0) throw corrupt(at, 'reserved byte is not zero');
  const h: DecodedHeader = {
    metric,
    metricCode: v.getUint8(10),
    dimension: v.getUint32(12, true),
    m: v.getUint32(16, true),
    efConstruction: v.getUint32(20, true),
    efSearch: v.getUint32(24, true),
    nodeCount: v.getUint32(28, true),
    deletedCount: v.getUint32(32, true),
    entryPoint: v.getInt32(36, true),
    maxLevel: v.getUint32(40, true),
  };
  inRange(h.dimension, { min: 1, max: MAX_DIMENSION, what: 'dimension', offset: 12 }, corrupt);
  inRange(h.m, { min: MIN_M, max: MAX_M, what: 'm', offset: 16 }, corrupt);
  inRange(h.efConstruction, { min: h.m, max: MAX_EF, what: 'efConstruction', offset: 20 }, corrupt);
  inRange(h.efSearch, { min: 1, max: MAX_EF, what: 'efSearch', offset: 24 }, corrupt);
  inRange(h.deletedCount, { min: 0, max: h.nodeCount, what: 'deleted count', offset: 32 }, corrupt);
  inRange(h.maxLevel, { min: 0, max: MAX_LEVEL, what: 'top layer', offset: 40 }, corrupt);
  if (h.nodeCount === 0) {
    if (h.entryPoint !== -1) throw corrupt(36, 'an empty index has an entry point');
    if (h.maxLevel !== 0) throw corrupt(40, 'an empty index has a top layer above 0');
  } else {
    inRange(h.entryPoint, { min: 0, max: h.nodeCount - 1, what: 'entry point', offset: 36 }, corrupt);
  }
  return h;
}
