/**
 * Cross-origin access for browser peers served from another origin (docs/protocol.md, "Browsers
 * on another origin"). Off unless the operator lists the origins it trusts: no list, no CORS
 * headers and no preflight answers, as before. There is no wildcard: a hub names every web app
 * that may call it.
 *
 * With a list, an answer to a request whose `Origin` is listed carries
 * `Access-Control-Allow-Origin` (that origin), `Vary: Origin` and the hub's own headers in
 * `Access-Control-Expose-Headers`; a preflight (`OPTIONS` with `Access-Control-Request-Method`)
 * from a listed origin answers 204 with the methods and headers the API uses, and from any other
 * origin 403 `origin_not_allowed`. A request from an unlisted origin is otherwise served as
 * usual but without CORS headers, so a browser does not let the page read the answer (the hub
 * authenticates with bearer tokens, never cookies, so the answer is all that is at stake).
 */

import { InvalidArgumentError } from '../engine/errors.ts';
import { HubError } from './hub-error.ts';

/** Most origins a hub lists. */
export const CORS_ORIGINS_MAX = 64;
/** Longest origin accepted in the list, characters. */
export const CORS_ORIGIN_CHARS_MAX = 256;
/** How long a browser may cache a preflight answer, seconds. */
export const CORS_MAX_AGE_S = 600;
/** Methods the API uses. */
export const CORS_METHODS = 'GET, POST';
/** Request headers a browser client sends beyond the CORS-safelisted ones. */
export const CORS_REQUEST_HEADERS = 'authorization, content-type, last-event-id';
/** The hub's answer headers a page may read. */
export const CORS_EXPOSED_HEADERS = 'aregula-error, aregula-applied, retry-after';

/** `scheme://host[:port]`, lowercase, as a browser serialises an origin (no path, no slash). */
const ORIGIN_PATTERN = /^https?:\/\/[a-z0-9.-]+(:[0-9]{1,5})?$|^https?:\/\/\[[0-9a-f:.]+\](:[0-9]{1,5})?$/;

/**
 * Checks the operator's list of origins and returns it as a set. Each must be an `http` or
 * `https` origin exactly as a browser sends it (`https://app.example.com`,
 * `http://localhost:5173`): lowercase, no path and no trailing slash. `*` and `null` are
 * refused. Throws `InvalidArgumentError` naming the first bad entry.
 */
export function checkCorsOrigins(origins: readonly string[]): ReadonlySet<string> {
  if (!Array.isArray(origins)) throw new InvalidArgumentError('CORS origins must be an array of strings');
  if (origins.length > CORS_ORIGINS_MAX)
    throw new InvalidArgumentError(`at most ${CORS_ORIGINS_MAX} CORS origins, got ${origins.length}`);
  for (const o of origins) {
    if (typeof o !== 'string' || o.length > CORS_ORIGIN_CHARS_MAX || !ORIGIN_PATTERN.test(o))
      throw new InvalidArgumentError(
        `CORS origin ${JSON.stringify(o)} is not an origin like https://app.example.com (lowercase, no path, no wildcard)`,
      );
  }
  return new Set(origins);
}

/** The request's parts that CORS looks at. */
export interface CorsRequest {
  method: string;
  origin: string | undefined;
  /** `Access-Control-Request-Method`: present only on a preflight. */
  requestMethod: string | undefined;
}

/**
 * The answer to a preflight, or undefined when `request` is not one (it then goes on to the
 * API). Throws {@link HubError} 403 `origin_not_allowed` for a preflight from an unlisted origin.
 */
export function preflight(allowed: ReadonlySet<string>, request: CorsRequest): Response | undefined {
  if (request.method !== 'OPTIONS' || request.origin === undefined || request.requestMethod === undefined)
    return undefined;
  if (!allowed.has(request.origin))
    throw new HubError(
      403,
      'origin_not_allowed',
      `origin ${request.origin.slice(0, 80)} may not call this hub`,
    );
  return new Response(null, {
    status: 204,
    headers: {
      'access-control-allow-origin': request.origin,
      'access-control-allow-methods': CORS_METHODS,
      'access-control-allow-headers': CORS_REQUEST_HEADERS,
      'access-control-max-age': String(CORS_MAX_AGE_S),
      vary: 'Origin',
    },
  });
}

/** Adds the CORS headers to `response` when `origin` is listed (after the API answered). */
export function addCorsHeaders(
  allowed: ReadonlySet<string>,
  origin: string | undefined,
  response: Response,
): void {
  // Every answer varies with the Origin once CORS is on, listed or not, so a cache never hands
  // one origin's answer to another.
  response.headers.append('vary', 'Origin');
  if (origin === undefined || !allowed.has(origin)) return;
  response.headers.set('access-control-allow-origin', origin);
  response.headers.set('access-control-expose-headers', CORS_EXPOSED_HEADERS);
}
