/**
 * The hub's refusals: an HTTP status, a stable machine-readable `code` and a sentence for
 * people. Every 4xx answer carries one as JSON (`{"error": code, "message": text}`); the codes
 * are listed in docs/protocol.md and never change meaning.
 */

/** A request the hub refuses. */
export class HubError extends Error {
  constructor(
    /** HTTP status (4xx, or 503 while shutting down). */
    readonly status: number,
    /** Stable code, e.g. `bad_signature`. */
    readonly code: string,
    message: string,
    /** Extra answer headers (e.g. `retry-after`). */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'HubError';
  }
}
