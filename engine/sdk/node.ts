/**
 * The SDK's Node platform: node:crypto for signing (about 9x the portable signer), and
 * node-datachannel for WebRTC. Its own file, never imported by `engine/index.ts`, so browser
 * bundles stay free of Node-only modules. Import it in Node:
 *
 * ```ts
 * import { open } from 'aregula/engine/index.ts';
 * import { nodePlatform, nodeStorage } from 'aregula/engine/sdk/node.ts';
 * const db = await open({ storage: nodeStorage('./data'), platform: nodePlatform });
 * ```
 */

import type { FileSystem } from '../io/fs.ts';
import { NodeFs } from '../io/node-fs.ts';
import { nodeSigner } from '../log/node-signer.ts';
import { nodeBackgroundMerger } from '../lsm/node-background.ts';
import type { LsmOptions } from '../lsm/options.ts';
import { nodePeerConnectionFactory, webRtcCleanup } from '../sync/webrtc-node.ts';
import {
  cryptoRandomBytes,
  type PeerTransportOptions,
  type SdkPlatform,
  webRtcTransportOf,
} from './platform.ts';

/** Leases on node-datachannel not yet released (databases in this process linked to peers). */
let leases = 0;

/**
 * Node: node:crypto signatures, WebCrypto randomness, node-datachannel peer connections, and
 * for a directory on disk (`NodeFs`) flushes and compactions on worker threads, so writes and
 * sync never wait for a table to be built (`lsm: { background: undefined }` keeps them inline).
 */
export const nodePlatform: SdkPlatform = Object.freeze({
  name: 'node',
  signer: nodeSigner,
  randomBytes: cryptoRandomBytes,
  leasePeerConnections: () => {
    leases++;
    let released = false;
    return {
      makeTransport: (o: PeerTransportOptions) => webRtcTransportOf(nodePeerConnectionFactory, o),
      release: () => {
        if (released) return;
        released = true;
        leases--;
        // node-datachannel's cleanup is process-wide: only the last lease may call it.
        if (leases === 0) webRtcCleanup();
      },
    };
  },
  lsmOptionsFor: (storage: FileSystem): LsmOptions | undefined =>
    storage instanceof NodeFs ? { background: nodeBackgroundMerger(storage.dir) } : undefined,
});

/** A directory on disk as the database's storage (`NodeFs` creates it if missing). */
export function nodeStorage(dir: string): NodeFs {
  return new NodeFs(dir);
}
