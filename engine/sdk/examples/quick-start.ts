// Quick start: a database in memory, documents, a transaction, the state hash.
import { MemoryFs, open } from '../../index.ts';

const db = await open({ storage: new MemoryFs() });
const notes = db.collection('notes');
notes.put('n1', { text: 'buy milk', done: false });
notes.patch('n1', { done: true });
db.transaction((tx) => {
  tx.put('notes', 'n2', { text: 'call Ada', done: false });
  tx.delete('notes', 'n1');
});
console.log(JSON.stringify(notes.get('n2'))); // {"done":false,"text":"call Ada"}
console.log([...notes.all()].length); // 1
console.log(db.deviceId.length, db.stateHash().length); // 64 64
await db.close();
