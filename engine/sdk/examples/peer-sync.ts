// Sync directly with another device over WebRTC, signaling through the hub:
// node peer-sync.ts HUB_URL DEVICE_KEY_FILE CERT_FILE PEER_ID NOTE
import { readFileSync } from 'node:fs';
import { decodeKeyFile, MemoryFs, open } from '../../index.ts';
import { nodePlatform } from '../node.ts';

const [hubUrl, keyFile, certFile, peer, note] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string,
];
const { identity } = decodeKeyFile(readFileSync(keyFile, 'utf8'), 'device');
const db = await open({ storage: new MemoryFs(), identity, platform: nodePlatform });
db.collection('notes').put(note, { text: `hello from ${note}` });
db.sync.connectPeer(peer, { hub: hubUrl, certificate: readFileSync(certFile) });
// Wait until the peer's note is here. Ours went out first: each side answers the other's
// `hello` before it can receive the other's entries, and the channel is ordered.
await new Promise<void>((resolve) => {
  const check = () => {
    if (db.collection('notes').get(note) && [...db.collection('notes').all()].length === 2) resolve();
  };
  db.onChange(check);
  check();
});
console.log(`hash ${db.stateHash()}`);
await db.close(); // closes the data channel and releases node-datachannel: the process exits
