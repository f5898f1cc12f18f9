/**
 * The hub on Node's HTTP server: listens, bounds header size, and shuts down gracefully (stop
 * accepting, end event streams, let in-flight requests finish within a grace period, then
 * close the replica so everything acknowledged is on disk).
 */

import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { type AppState, createHubApp } from './app.ts';
import { Hub, type HubOptions } from './hub.ts';

/** How to start a hub server. */
export interface HubServerOptions extends HubOptions {
  /** TCP port; 0 picks a free one. */
  port: number;
  /** Address to bind. Default `127.0.0.1`. */
  host?: string;
  /** Origins of web apps whose pages may call the hub from a browser (cors.ts). Default none. */
  corsOrigins?: readonly string[];
}

/** A running hub server. */
export interface HubServer {
  readonly hub: Hub;
  readonly port: number;
  /** `http://host:port`. */
  readonly url: string;
  /** Graceful shutdown; resolves when the replica is closed. Idempotent. */
  close(): Promise<void>;
}

/** Opens the hub and starts serving it. */
export async function startHubServer(options: HubServerOptions): Promise<HubServer> {
  const hub = Hub.open(options);
  const state: AppState = { draining: false, startedAtMs: Date.now() };
  let app: ReturnType<typeof createHubApp>;
  try {
    app = createHubApp(hub, state, { corsOrigins: options.corsOrigins });
  } catch (err) {
    hub.close();
    throw err;
  }
  const host = options.host ?? '127.0.0.1';
  const server = serve({
    fetch: app.fetch,
    port: options.port,
    hostname: host,
    serverOptions: { maxHeaderSize: hub.limits.headerBytesMax, requestTimeout: 60_000 },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const port = (server.address() as AddressInfo).port;
  hub.log.log('info', 'hub listening', { host, port });
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      state.draining = true;
      hub.log.log('info', 'hub shutting down', { streams: hub.streams.count });
      hub.streams.closeAll('shutdown');
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      const httpServer = server as unknown as {
        closeIdleConnections?: () => void;
        closeAllConnections?: () => void;
      };
      httpServer.closeIdleConnections?.();
      const timer = setTimeout(() => httpServer.closeAllConnections?.(), hub.limits.shutdownGraceMs);
      await closed;
      clearTimeout(timer);
      hub.close();
    })();
    return closing;
  };
  return { hub, port, url: `http://${host}:${port}`, close };
}
