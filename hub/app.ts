/**
 * The hub's HTTP API (docs/protocol.md, "The hub's HTTP API") as a Hono app: routing, limits
 * on every request, authentication, and the translation of answers and refusals to HTTP. The
 * app speaks only web-standard `Request`/`Response`, so tests drive it in-process with
 * `app.request(...)` and the server (server.ts) mounts it on Node's HTTP server.
 */

import type { Context } from 'hono';
import { Hono } from 'hono';
import { readStreamCapped } from '../engine/sync/hub-http.ts';
import { addCorsHeaders, checkCorsOrigins, preflight } from './cors.ts';
import type { Hub } from './hub.ts';
import { HubError } from './hub-error.ts';
import { RateLimiter } from './rate-limit.ts';
import { registerSignaling, Signaling } from './signaling.ts';

/** Content type of a request body holding one sync message. */
export const SYNC_MESSAGE_TYPE = 'application/x-aregula-sync';
/** Content type of an answer holding framed sync messages. */
export const SYNC_FRAMES_TYPE = 'application/x-aregula-sync-frames';
/** Longest `Last-Event-ID` accepted (an id is `EPOCH-CURSOR`, 48 characters at most). */
export const LAST_EVENT_ID_MAX = 64;

/** Shared between the app and its server: shutdown turns the hub away from new requests. */
export interface AppState {
  draining: boolean;
  startedAtMs: number;
}

/** Options of {@link createHubApp}. */
export interface HubAppOptions {
  /** The client's address, for rate limits before authentication. Default: Node's socket. */
  clientAddress?: (c: Context) => string;
  nowMs?: () => number;
  /**
   * Origins of web apps (`https://app.example.com`) whose pages may call the hub from a browser
   * (cors.ts). Default none: no CORS headers and no preflight answers.
   */
  corsOrigins?: readonly string[];
}

function defaultAddress(c: Context): string {
  const env = c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined;
  return env?.incoming?.socket?.remoteAddress ?? 'local';
}

async function readBody(req: Request, max: number): Promise<Uint8Array> {
  const declared = req.headers.get('content-length');
  if (declared !== null) {
    if (!/^[0-9]{1,16}$/.test(declared)) throw new HubError(400, 'bad_request', 'malformed Content-Length');
    if (Number(declared) > max)
      throw new HubError(413, 'body_too_large', `body of ${declared} bytes exceeds ${max}`);
  }
  if (req.body === null) return new Uint8Array(0);
  return readStreamCapped(
    req.body,
    max,
    () => new HubError(413, 'body_too_large', `body exceeds ${max} bytes`),
  );
}

function mediaType(c: Context): string {
  return (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
}

async function readJson(c: Context, max: number): Promise<unknown> {
  if (mediaType(c) !== 'application/json')
    throw new HubError(415, 'unsupported_media_type', 'send Content-Type: application/json');
  const bytes = await readBody(c.req.raw, max);
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw new HubError(400, 'malformed_json', 'body is not valid UTF-8 JSON');
  }
}

function refusal(c: Context, err: HubError): Response {
  const res = c.json({ error: err.code, message: err.message }, err.status as 400, err.headers);
  res.headers.set('aregula-error', err.code);
  return res;
}

/**
 * A pull answer as a stream: `first` at once, then each part of `more` when the reader asks for
 * it (one part buffered at most, so a slow device holds the hub to the part it is reading),
 * yielding to other requests before each. A failure once the status is sent cannot become a
 * 4xx or 500: the stream errors, the connection breaks off, and the client, which sees a
 * cut-off answer, says `hello` again (what it applied from the first parts stays applied).
 */
function streamAnswer(
  hub: Hub,
  first: Uint8Array,
  more: () => Uint8Array | undefined,
): ReadableStream<Uint8Array<ArrayBuffer>> {
  return new ReadableStream<Uint8Array<ArrayBuffer>>(
    {
      start(controller) {
        controller.enqueue(first as Uint8Array<ArrayBuffer>);
      },
      async pull(controller) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        try {
          const part = more();
          if (part === undefined) controller.close();
          else controller.enqueue(part as Uint8Array<ArrayBuffer>);
        } catch (err) {
          if (!(err instanceof HubError))
            hub.log.log('error', 'internal error', {
              path: '/v1/sync',
              error: String((err as Error)?.stack ?? err),
            });
          controller.error(err);
        }
      },
    },
    { highWaterMark: 1 },
  );
}

/** Builds the app over `hub`. */
export function createHubApp(hub: Hub, state: AppState, options: HubAppOptions = {}): Hono {
  const nowMs = options.nowMs ?? (() => Date.now());
  const address = options.clientAddress ?? defaultAddress;
  const cors = options.corsOrigins === undefined ? undefined : checkCorsOrigins(options.corsOrigins);
  const limits = hub.limits;
  const rates = new RateLimiter({
    perSecond: limits.requestsPerSecond,
    burst: limits.requestBurst,
    keysMax: limits.rateKeysMax,
    nowMs,
  });
  const app = new Hono();

  const limit = (key: string) => {
    const waitMs = rates.take(key);
    if (waitMs > 0)
      throw new HubError(429, 'rate_limited', `too many requests; retry in ${waitMs} ms`, {
        'retry-after': String(Math.ceil(waitMs / 1000)),
      });
  };
  const authenticated = (c: Context): string => {
    const auth = c.req.header('authorization');
    if (auth !== undefined && auth.length > 256)
      throw new HubError(401, 'bad_token', 'Authorization header too long');
    let device: string;
    try {
      device = hub.access.deviceOf(auth);
    } catch (err) {
      // Failed logins count against the address (devices behind one NAT share it, so
      // authenticated requests count only against their device).
      limit(`addr:${address(c)}`);
      throw err;
    }
    limit(`device:${device}`);
    return device;
  };

  /** The answer to a CORS preflight, or undefined when the request is none (or CORS is off). */
  const answerPreflight = (c: Context): Response | undefined => {
    if (cors === undefined || c.req.method !== 'OPTIONS') return undefined;
    const request = {
      method: c.req.method,
      origin: c.req.header('origin'),
      requestMethod: c.req.header('access-control-request-method'),
    };
    try {
      if (request.origin !== undefined && request.requestMethod !== undefined) limit(`addr:${address(c)}`);
      return preflight(cors, request);
    } catch (err) {
      if (err instanceof HubError) return refusal(c, err);
      throw err;
    }
  };

  app.use('*', async (c, next) => {
    const started = nowMs();
    const pre = answerPreflight(c);
    if (pre !== undefined) {
      c.res = pre;
    } else if (state.draining && c.req.path !== '/v1/health') {
      const err = new HubError(503, 'shutting_down', 'the hub is shutting down', { 'retry-after': '5' });
      c.res = refusal(c, err);
    } else {
      await next();
    }
    if (cors !== undefined) addCorsHeaders(cors, c.req.header('origin'), c.res);
    hub.log.log(c.res.status >= 500 ? 'error' : 'info', 'request', {
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      ms: nowMs() - started,
      error: c.res.status >= 400 ? (c.res.headers.get('aregula-error') ?? undefined) : undefined,
    });
  });

  app.get('/v1/health', (c) => {
    const body = {
      status: state.draining ? 'draining' : 'ok',
      protocol: 1,
      epoch: hub.epoch,
      entries: hub.index.end,
      streams: hub.streams.count,
      uptimeMs: nowMs() - state.startedAtMs,
    };
    return c.json(body, state.draining ? 503 : 200);
  });

  app.post('/v1/auth/challenge', (c) => {
    limit(`addr:${address(c)}`);
    return c.json(hub.access.issueChallenge());
  });

  app.post('/v1/auth/session', async (c) => {
    limit(`addr:${address(c)}`);
    const body = await readJson(c, limits.jsonBodyBytesMax);
    const grant = hub.access.authenticate(body);
    hub.log.log('info', 'device authenticated', { device: grant.device });
    return c.json(grant);
  });

  app.post('/v1/devices/revoke', async (c) => {
    limit(`addr:${address(c)}`);
    const body = await readJson(c, limits.jsonBodyBytesMax);
    return c.json(hub.access.revoke(body));
  });

  app.post('/v1/sync', async (c) => {
    const device = authenticated(c);
    if (mediaType(c) !== SYNC_MESSAGE_TYPE)
      throw new HubError(415, 'unsupported_media_type', `send Content-Type: ${SYNC_MESSAGE_TYPE}`);
    const body = await readBody(c.req.raw, limits.bodyBytesMax);
    const answer = hub.sync(device, body);
    const headers = { 'content-type': SYNC_FRAMES_TYPE, 'aregula-applied': String(answer.applied) };
    if (answer.more === undefined) return c.body(answer.frames as Uint8Array<ArrayBuffer>, 200, headers);
    return c.body(streamAnswer(hub, answer.frames, answer.more), 200, headers);
  });

  app.get('/v1/events', (c) => {
    const device = authenticated(c);
    const last = c.req.header('last-event-id');
    if (last !== undefined && last.length > LAST_EVENT_ID_MAX)
      throw new HubError(400, 'bad_last_event_id', `Last-Event-ID longer than ${LAST_EVENT_ID_MAX}`);
    const stream = hub.streams.open(device, last);
    return new Response(stream, {
      status: 200,
      headers: {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        'x-accel-buffering': 'no',
      },
    });
  });

  registerSignaling(app, {
    signaling: new Signaling({ deviceStatus: (d) => hub.access.feedStatus(d), nowMs }),
    authenticated,
    readJson,
    stopping: () => state.draining,
  });

  app.notFound((c) =>
    c.json({ error: 'not_found', message: `no endpoint ${c.req.method} ${c.req.path}` }, 404),
  );
  app.onError((err, c) => {
    if (err instanceof HubError) return refusal(c, err);
    hub.log.log('error', 'internal error', { path: c.req.path, error: String((err as Error)?.stack ?? err) });
    return c.json({ error: 'internal', message: 'internal error' }, 500);
  });
  return app;
}
