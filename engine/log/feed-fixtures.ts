/**
 * Test fixtures for the log layer: deterministic identities and feeds. Used by the tests only;
 * kept out of `*.test.ts` so several test files can share it.
 */

import { createEntry, type Entry, encodeEntry, HLC_BYTES, signEntry, ZERO_HASH } from './entry.ts';
import { type Identity, identityFromSeed } from './identity.ts';
import { nodeSigner } from './node-signer.ts';
import type { Signer } from './signer.ts';

/** The identity whose seed is 32 copies of `n`. */
export function testIdentity(n: number): Identity {
  return identityFromSeed(new Uint8Array(32).fill(n));
}

/** A 10-byte HLC whose wall part is `ms` and logical part `logical`. */
export function testHlc(ms: number, logical = 0): Uint8Array {
  const out = new Uint8Array(HLC_BYTES);
  const v = new DataView(out.buffer);
  v.setUint16(0, Math.floor(ms / 4294967296));
  v.setUint32(2, ms % 4294967296);
  v.setUint32(6, logical);
  return out;
}

/** Options of {@link makeFeed}. */
export interface FeedOptions {
  /** Which seqs carry a signature. Default: only the last. */
  signed?: (seq: number, n: number) => boolean;
  /** Payload of each seq. Default: `p<seq>` in ASCII. */
  payload?: (seq: number) => Uint8Array;
  /** Backend that signs. Default nodeSigner (fast). */
  signer?: Signer;
  /** Seq of the first entry and hash it chains from (to extend a feed). Default 1 and zeros. */
  from?: { seq: number; prev: Uint8Array };
}

/** A valid chain of `n` entries by `author`. */
export function makeFeed(author: Identity, n: number, options: FeedOptions = {}): Entry[] {
  const signer = options.signer ?? nodeSigner;
  const signed = options.signed ?? ((seq, count) => seq === count);
  const payload = options.payload ?? ((seq) => new TextEncoder().encode(`p${seq}`));
  const first = options.from?.seq ?? 1;
  let prev = options.from?.prev ?? ZERO_HASH;
  const out: Entry[] = [];
  for (let seq = first; seq < first + n; seq++) {
    let e = createEntry({
      author: author.publicKey,
      seq,
      prev,
      hlc: testHlc(1_700_000_000_000 + seq),
      payload: payload(seq),
    });
    if (signed(seq, first + n - 1)) e = signEntry(e, author, signer);
    prev = signer.sha256(e.body);
    out.push(e);
  }
  return out;
}

/** The wire forms of `entries`, concatenated. */
export function concatWire(entries: readonly Entry[]): Uint8Array {
  const parts = entries.map(encodeEntry);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
