/**
 * The key of a document's view row: `'d' ‖ collection (UTF-8) ‖ 0x00 ‖ id (UTF-8)`. Collection
 * names hold no NUL, so the key splits back into both. Its own module so that the payload
 * (which builds a local write's key while checking its id) and the views share it.
 */

import { copyBytes } from '../bytes.ts';

/** First byte of every view row's key. */
export const VIEW_PREFIX = 0x64;

/** Where the id starts in the key of a document of a collection whose name has `collectionBytes` bytes. */
export function docKeyIdAt(collectionBytes: number): number {
  return 2 + collectionBytes;
}

/** The key of a document's view row, from the UTF-8 of its collection name and id. */
export function viewKeyOf(collection: Uint8Array, id: Uint8Array): Uint8Array {
  const key = new Uint8Array(docKeyIdAt(collection.length) + id.length);
  writeKeyHead(key, collection);
  key.set(id, docKeyIdAt(collection.length));
  return key;
}

/** Writes `'d' ‖ collection ‖ 0x00` at the start of `key`. */
export function writeKeyHead(key: Uint8Array, collection: Uint8Array): void {
  key[0] = VIEW_PREFIX;
  copyBytes(collection, 0, collection.length, key, 1);
  key[1 + collection.length] = 0;
}
