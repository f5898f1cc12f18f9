/**
 * A signer for simulated worlds that remembers signature verifications. In a world of N peers
 * every signed entry is verified by each peer that receives it (often more than once: duplicate
 * deliveries, re-sent batches after a lost message, the integrity checker re-verifying every
 * feed at the end), and an ed25519 verification costs about 60 µs, which made it the largest
 * single cost of a run. Verification is a pure function of (public key, message, signature),
 * so answering a repeat from memory gives exactly the answer the real backend gave: the engine
 * still runs unmodified, it just does not pay twice for the same bytes.
 *
 * A signature this signer produced is remembered as valid for its identity's public key and
 * message (ed25519 signing is deterministic and its output verifies; the backend's own tests
 * cover that), so an author re-verifying its own feed does not pay either. A verifier that
 * computes a different message than the one signed still misses the memo and gets the real
 * answer: engine bugs in what is signed or checked are not hidden.
 *
 * Only completed calls are remembered: an argument the backend rejects (a wrong length) is
 * passed through every time, so it throws every time. Hashing goes straight through.
 */

import type { Identity } from '../engine/log/identity.ts';
import type { Signer } from '../engine/log/signer.ts';

/** Most verifications remembered; past it the oldest are forgotten (bounded memory per world). */
export const MEMO_VERIFICATIONS_MAX = 200_000;

/** Counters of a {@link MemoSigner}. */
export interface MemoSignerStats {
  /** Verifications answered from memory. */
  hits: number;
  /** Verifications passed to the real backend. */
  misses: number;
}

function bytesKey(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
}

/** The memo key: lengths first, so that two different splits of the same bytes never share one. */
function keyOf(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): string {
  return `${publicKey.length},${signature.length},${bytesKey(publicKey)}${bytesKey(signature)}${bytesKey(message)}`;
}

/** A {@link Signer} that delegates to `inner` and remembers what `verify` answered. */
export class MemoSigner implements Signer {
  readonly name: string;
  readonly stats: MemoSignerStats = { hits: 0, misses: 0 };
  private readonly verified = new Map<string, boolean>();

  constructor(private readonly inner: Signer) {
    this.name = `${inner.name}+memo`;
  }

  sign(identity: Identity, message: Uint8Array): Uint8Array {
    const signature = this.inner.sign(identity, message);
    this.remember(keyOf(identity.publicKey, message, signature), true);
    return signature;
  }

  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
    // Not typed arrays: let the backend throw its own error, every time.
    if (
      !(publicKey instanceof Uint8Array) ||
      !(message instanceof Uint8Array) ||
      !(signature instanceof Uint8Array)
    ) {
      return this.inner.verify(publicKey, message, signature);
    }
    const key = keyOf(publicKey, message, signature);
    const hit = this.verified.get(key);
    if (hit !== undefined) {
      this.stats.hits++;
      return hit;
    }
    this.stats.misses++;
    const ok = this.inner.verify(publicKey, message, signature);
    this.remember(key, ok);
    return ok;
  }

  private remember(key: string, ok: boolean): void {
    if (this.verified.size >= MEMO_VERIFICATIONS_MAX)
      this.verified.delete(this.verified.keys().next().value!);
    this.verified.set(key, ok);
  }

  sha256(data: Uint8Array): Uint8Array {
    return this.inner.sha256(data);
  }
}
