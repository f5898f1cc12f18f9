import { describe, expect, it } from 'vitest';
import { compareBytes } from '../../../engine/lsm/coding.ts';
import {
  GETS_PER_SAMPLE_MAX,
  generateLsmData,
  KEY_BYTES,
  SCAN_ENTRIES_MAX,
  SCANS_PER_SAMPLE,
  VALUE_BYTES,
} from './data.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('generateLsmData', () => {
  it('makes n distinct 16-byte keys with 100-byte values', () => {
    const data = generateLsmData(2000);
    expect(data.keys).toHaveLength(2000);
    expect(data.values).toHaveLength(2000);
    expect(data.keys.every((k) => k.length === KEY_BYTES)).toBe(true);
    expect(data.values.every((v) => v.length === VALUE_BYTES)).toBe(true);
    expect(new Set(data.keys.map(hex)).size).toBe(2000);
  });

  it('gives the same bytes for the same n, and different ones for another n', () => {
    const a = generateLsmData(300);
    const b = generateLsmData(300);
    expect(a.keys.map(hex)).toEqual(b.keys.map(hex));
    expect(a.values.map(hex)).toEqual(b.values.map(hex));
    expect(a.getKeys.map(hex)).toEqual(b.getKeys.map(hex));
    expect(a.scanStarts.map(hex)).toEqual(b.scanStarts.map(hex));
    expect(hex(generateLsmData(301).keys[0]!)).not.toBe(hex(a.keys[0]!));
  });

  it('plans gets of present keys only, at most GETS_PER_SAMPLE_MAX of them', () => {
    const small = generateLsmData(500);
    const present = new Set(small.keys.map(hex));
    expect(small.getKeys).toHaveLength(500);
    expect(small.getKeys.every((k) => present.has(hex(k)))).toBe(true);
    expect(generateLsmData(GETS_PER_SAMPLE_MAX + 1).getKeys).toHaveLength(GETS_PER_SAMPLE_MAX);
  });

  it('starts every scan where a full scan fits before the last key', () => {
    const data = generateLsmData(1000);
    const sorted = [...data.keys].sort(compareBytes).map(hex);
    expect(data.scanEntries).toBe(SCAN_ENTRIES_MAX);
    expect(data.scanStarts).toHaveLength(SCANS_PER_SAMPLE);
    for (const start of data.scanStarts) {
      const at = sorted.indexOf(hex(start));
      expect(at).toBeGreaterThanOrEqual(0);
      expect(sorted.length - at).toBeGreaterThanOrEqual(data.scanEntries);
    }
  });

  it('shortens scans to the whole store when it holds fewer keys than a scan', () => {
    const data = generateLsmData(10);
    expect(data.scanEntries).toBe(10);
    const smallest = [...data.keys].sort(compareBytes)[0]!;
    expect(data.scanStarts.every((s) => hex(s) === hex(smallest))).toBe(true);
  });

  it('rejects sizes that are not positive integers', () => {
    expect(() => generateLsmData(0)).toThrow(/positive/);
    expect(() => generateLsmData(-3)).toThrow(/positive/);
    expect(() => generateLsmData(2.5)).toThrow(/integer/);
  });
});
