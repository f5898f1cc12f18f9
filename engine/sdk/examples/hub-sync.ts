// Sync through a hub: node hub-sync.ts HUB_URL DEVICE_KEY_FILE CERT_FILE DATA_DIR NOTE
import { readFileSync } from 'node:fs';
import { decodeKeyFile, open } from '../../index.ts';
import { nodePlatform, nodeStorage } from '../node.ts';

const [hubUrl, keyFile, certFile, dataDir, note] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string,
];
const { identity } = decodeKeyFile(readFileSync(keyFile, 'utf8'), 'device');
const db = await open({ storage: nodeStorage(dataDir), identity, platform: nodePlatform });
db.sync.on('*', (e) => console.log(`status ${e.link} ${e.status}`));
db.sync.connect(hubUrl, { certificate: readFileSync(certFile) });
const notes = db.collection('notes');
if (notes.get(note) === undefined) notes.put(note, { text: `hello from ${note}` });
await db.sync.synced(); // the hub holds our note, and we hold everything it had
console.log(`notes ${[...notes.all()].map(([id]) => id).join(',')}`);
console.log(`hash ${db.stateHash()}`);
await db.close(); // no process.exit: nothing is left running
