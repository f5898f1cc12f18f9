/**
 * A hub served on a real loopback port, as `aregula hub` serves it (Node's HTTP server through
 * @hono/node-server), that also counts the bytes its TCP connections carried: HTTP request and
 * answer lines, headers and bodies, in both directions. That is what the `sync` suite reports
 * as bytes on the wire (TCP/IP headers are not counted).
 */

import type { Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { serve } from '@hono/node-server';
import { type AppState, createHubApp } from '../../../hub/app.ts';
import { Hub } from '../../../hub/hub.ts';
import { memoryLog } from '../../../hub/log.ts';
import { BENCH_OWNER } from './fixtures.ts';

/** A running hub with a byte counter. */
export interface CountedHub {
  readonly hub: Hub;
  readonly url: string;
  /** Bytes read and written by every connection so far (closed ones included). */
  wireBytes(): number;
  close(): Promise<void>;
}

/** Opens a hub over `dataDir` (owned by the bench owner) on a free loopback port. */
export async function startCountedHub(dataDir: string): Promise<CountedHub> {
  const hub = Hub.open({
    dataDir,
    owner: BENCH_OWNER.publicKey,
    log: memoryLog(),
    // The bench's clients make few, large requests; the limit is not what is measured.
    limits: { requestsPerSecond: 100_000, requestBurst: 100_000 },
  });
  const state: AppState = { draining: false, startedAtMs: Date.now() };
  const app = createHubApp(hub, state);
  const sockets = new Set<Socket>();
  let closedBytes = 0;
  const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }) as Server;
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => {
      closedBytes += socket.bytesRead + socket.bytesWritten;
      sockets.delete(socket);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const port = (server.address() as AddressInfo).port;
  return {
    hub,
    url: `http://127.0.0.1:${port}`,
    wireBytes() {
      let total = closedBytes;
      for (const s of sockets) total += s.bytesRead + s.bytesWritten;
      return total;
    },
    async close() {
      state.draining = true;
      hub.streams.closeAll('shutdown');
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      hub.close();
    },
  };
}
