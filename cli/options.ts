/**
 * Parsers for command-line values, shared by the subcommands. Each throws {@link UsageError}
 * with a message that names the option and the bad value.
 */

import { UsageError } from './command.ts';

/** Largest size accepted by `--sizes`: beyond this a run would not fit in memory anyway. */
export const SIZE_MAX = 10_000_000;

const SIZE_PATTERN = /^([0-9]+)([kKmM]?)$/;

/**
 * Parses a comma-separated list of sizes such as `1000,10K,1M` (K = 1,000, M = 1,000,000) into
 * distinct positive integers, in the order given.
 */
export function parseSizes(option: string, text: string): number[] {
  const sizes: number[] = [];
  for (const part of text.split(',')) {
    const match = SIZE_PATTERN.exec(part.trim());
    if (match === null) throw new UsageError(`${option}: "${part}" is not a size (use e.g. 1000, 10K, 1M)`);
    const scale = match[2] === '' ? 1 : match[2]!.toLowerCase() === 'k' ? 1_000 : 1_000_000;
    const size = Number(match[1]) * scale;
    if (size < 1) throw new UsageError(`${option}: sizes must be at least 1, got "${part}"`);
    if (size > SIZE_MAX) throw new UsageError(`${option}: ${part} is above the limit of ${SIZE_MAX}`);
    if (!sizes.includes(size)) sizes.push(size);
  }
  return sizes;
}

/** Parses an integer in `min..max`. */
export function parseIntegerIn(option: string, text: string, range: { min: number; max: number }): number {
  if (!/^[0-9]+$/.test(text.trim())) throw new UsageError(`${option}: "${text}" is not a whole number`);
  const value = Number(text.trim());
  if (value < range.min || value > range.max) {
    throw new UsageError(`${option}: ${value} is outside ${range.min}..${range.max}`);
  }
  return value;
}

/** Parses a comma-separated list of names, each one of `known`. */
export function parseNames(option: string, text: string, known: readonly string[]): string[] {
  const names = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (names.length === 0) throw new UsageError(`${option}: no names given`);
  for (const name of names) {
    if (!known.includes(name))
      throw new UsageError(`${option}: unknown "${name}" (known: ${known.join(', ')})`);
  }
  return [...new Set(names)];
}
