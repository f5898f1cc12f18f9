/**
 * Aregula's SDK: `open()` a local-first database on a storage of your choice, write and read
 * JSON documents, and sync with a hub (`db.sync.connect`) or directly with another device
 * over WebRTC (`db.sync.connectPeer`); query with `db.find`, `db.aggregate` and live
 * `db.subscribe` (docs/query.md), and search vectors with `db.vectorIndex` (docs/vector.md). Runs in Node and in browsers (inside a dedicated
 * worker for OPFS storage); this module imports nothing Node-only. Node's faster signer and
 * WebRTC come from `engine/sdk/node.ts`. Guide: docs/sdk.md.
 */

export type { JsonObject, JsonValue } from './crdt/json.ts';
export type { Collection, DbWriteOptions, Transaction, WriteReceipt } from './db/database.ts';
export type { ChangeListener, ChangeOrigin, DocChange } from './db/derived.ts';
export { AregulaError, ClosedError, InvalidArgumentError } from './errors.ts';
export { type Clock, systemClock } from './io/clock.ts';
export type { FileSystem } from './io/fs.ts';
export { MemoryFs } from './io/memory-fs.ts';
export { OpfsFs } from './io/opfs-fs.ts';
export { type Random, SeededRandom } from './io/random.ts';
export { generateIdentity, type Identity, identityFromSeed } from './log/identity.ts';
export { nobleSigner, type Signer } from './log/signer.ts';
export { QueryError } from './query/errors.ts';
export type { Explanation } from './query/explain.ts';
export type { LiveCallback } from './query/live.ts';
export type { LiveAggregateCallback } from './query/live-aggregate.ts';
export type { IndexInfo, IndexSpec } from './query/secondary-index.ts';
export type {
  Aggregate,
  AggregateQuery,
  AggregateRow,
  Cursor,
  Filter,
  Query,
  QueryResult,
  QueryRow,
  SortKey,
} from './query/types.ts';
export {
  type BackoffBounds,
  backoffDelayMs,
  DEFAULT_BACKOFF,
  RECONNECT_DELAY_MS_MAX,
  RECONNECT_DELAY_MS_MIN,
} from './sdk/backoff.ts';
export { DEVICE_KEY_FILE } from './sdk/device-key.ts';
export { decodeKeyFile, encodeKeyFile, type KeyFile, type KeyRole } from './sdk/key-file.ts';
export { AregulaDb, type OpenOptions, open } from './sdk/open.ts';
export {
  type PeerConnectionLease,
  type PeerTransport,
  type PeerTransportOptions,
  type SdkPlatform,
  webPlatform,
} from './sdk/platform.ts';
export { type BridgePort, type RtcBridgeOptions, serveRtcBridge, workerPlatform } from './sdk/rtc-bridge.ts';
export {
  SYNC_STATUSES,
  type SyncStatus,
  type SyncStatusEvent,
  type SyncStatusListener,
} from './sdk/status.ts';
export {
  type ConnectOptions,
  type ConnectPeerOptions,
  PUSH_DELAY_MS,
  RELAY_DELAY_MS,
  SyncManager,
  type SyncState,
} from './sdk/sync-manager.ts';
export { issueCertificate, issueRevocation } from './sync/pairing.ts';
export { systemTimers, type Timers } from './sync/transport.ts';
export type {
  CollectionVectorIndex,
  VectorIndexOptions,
  VectorIndexStats,
  VectorSearchOptions,
} from './vector/collection-index.ts';
export { type NearestCallback, type NearestQuery, subscribeNearest } from './vector/nearest-subscription.ts';
