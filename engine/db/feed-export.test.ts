import { sha256 } from '@noble/hashes/sha2.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AregulaError } from '../errors.ts';
import { bytesToHex } from '../hex.ts';
import type { FileSystem } from '../io/fs.ts';
import { readWholeFile } from '../io/fs.ts';
import { MemoryFs } from '../io/memory-fs.ts';
import { encodeEntry } from '../log/entry.ts';
import { testHlc, testIdentity } from '../log/feed-fixtures.ts';
import { FeedStore } from '../log/feed-store.ts';
import { identityFromSeed } from '../log/identity.ts';
import { nodeSigner } from '../log/node-signer.ts';
import { Lsm } from '../lsm/lsm.ts';
import { Database } from './database.ts';
import {
  exportFeeds,
  exportStoreFeeds,
  FEED_TRAILER_BYTES,
  FeedExportError,
  feedFileName,
  MANIFEST_BYTES_MAX,
  MANIFEST_FILE,
  readFeedExport,
  rebuildStateHash,
} from './feed-export.ts';
import { hashRows } from './views.ts';

const signer = nodeSigner;

function identity(n: number) {
  return identityFromSeed(new Uint8Array(32).fill(n + 1));
}

function openDb(n: number, fs = new MemoryFs()) {
  const clock = { t: 1_700_000_000_000 + n, nowMs: () => clock.t++ };
  return Database.open({ fs, identity: identity(n), clock, signer, groupCommitEntries: 4 });
}

/** Two devices: `b` writes, receives all of `a`'s signed feed, and writes again. */
function twoDevices() {
  const aFs = new MemoryFs();
  const bFs = new MemoryFs();
  const a = openDb(0, aFs);
  const b = openDb(1, bFs);
  for (let i = 0; i < 11; i++) a.collection('notes').patch(`n${i % 4}`, { i, by: 'a' });
  a.collection('notes').delete('n1');
  a.commit();
  for (let i = 0; i < 6; i++) b.collection('notes').patch(`n${i % 3}`, { j: i, by: 'b' });
  const aHead = a.feeds.head(a.identity.publicKey)!;
  const r = b.replica.ingest(a.feeds.read(a.identity.publicKey, 1, aHead.signedSeq));
  expect(r.rejected).toEqual([]);
  b.collection('lists').put('l', { items: [1, 2] }, { commit: true });
  return { a, b, aFs, bFs };
}

/** Exports `db` into a fresh MemoryFs. */
function exported(db: Database) {
  const out = new MemoryFs();
  const manifest = exportFeeds(db, out, { note: 'test' });
  return { out, manifest };
}

function rewrite(fs: FileSystem, name: string, bytes: Uint8Array) {
  const h = fs.open(name, { create: true });
  h.truncate(0);
  h.write(0, bytes);
  h.close();
}

function editManifest(fs: FileSystem, edit: (m: Record<string, unknown>) => void) {
  const m = JSON.parse(new TextDecoder().decode(readWholeFile(fs, MANIFEST_FILE)));
  edit(m);
  rewrite(fs, MANIFEST_FILE, new TextEncoder().encode(JSON.stringify(m)));
}

/** Rewrites a feed file's bytes by `edit` and, when `fixChecksum`, recomputes its trailer. */
function editFeed(fs: FileSystem, name: string, edit: (b: Uint8Array) => Uint8Array, fixChecksum: boolean) {
  let bytes = edit(readWholeFile(fs, name).slice());
  if (fixChecksum && bytes.length >= FEED_TRAILER_BYTES) {
    const end = bytes.length - FEED_TRAILER_BYTES;
    bytes = bytes.slice();
    bytes.set(sha256(bytes.subarray(0, end)), end);
  }
  rewrite(fs, name, bytes);
}

/** An edit that xors the byte at `at` with `xor`. */
function flip(at: number, xor: number) {
  return (b: Uint8Array) => {
    b[at]! ^= xor;
    return b;
  };
}

/** The error `fn` throws: its class name, code and (for export errors) problem. */
function failure(fn: () => unknown): { name: string; code: string; problem?: string } {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof AregulaError)) throw err;
    return {
      name: err.name,
      code: err.code,
      ...(err instanceof FeedExportError ? { problem: err.problem } : {}),
    };
  }
  throw new Error('expected a typed error, got none');
}

/** The worked example of docs/formats/feed-export.md (its checksum checked with Python's hashlib). */
const DOC_EXAMPLE_FEED =
  '41524645010000008a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c0000000000000002' +
  '0000005d' +
  '018a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c0000000000000001' +
  '0000000000000000000000000000000000000000000000000000000000000000018bcfe56800000000000000000568656c6c6f00' +
  '00000099' +
  '018a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c0000000000000002' +
  '24134084759145a228346a4fd74dbd76b46ca9e1fb83e14f9df106afeff35471018bcfe568000000000100000001ff01' +
  '902d09eea58f4717259284ad10d46bf9ce56029c120077be1639b7106dd898ba' +
  '008452f0b3a6912894b7f214f1a3c35b91cb2196cdbe53da954c1a3b1f931204' +
  'c4a8aa3ea393b2685fa52286f79c997013441fa298437b90516f5d62daacc70b';

describe('feed export: the documented worked example', () => {
  it('writes the feed file and manifest of docs/formats/feed-export.md byte for byte', () => {
    const alice = testIdentity(1);
    const lsm = Lsm.open(new MemoryFs());
    const feeds = new FeedStore(lsm, signer);
    const hello = new TextEncoder().encode('hello');
    feeds.appendLocal(alice, { hlc: testHlc(1_700_000_000_000, 0), payload: hello }, { sign: false });
    feeds.appendLocal(
      alice,
      { hlc: testHlc(1_700_000_000_000, 1), payload: Uint8Array.of(0xff) },
      { sign: true },
    );
    const out = new MemoryFs();
    exportFeeds({ feeds, stateHash: () => hashRows([]) }, out, { note: 'worked example' });
    const author = bytesToHex(alice.publicKey);
    expect(bytesToHex(readWholeFile(out, feedFileName(author)))).toBe(DOC_EXAMPLE_FEED);
    const empty = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
    const manifest = {
      format: 'aregula-feed-export',
      version: 1,
      stateHash: empty,
      sourceStateHash: empty,
      omittedEntries: 0,
      feeds: [
        {
          author,
          file: feedFileName(author),
          entries: 2,
          headHash: '07fc745bcdae877b588e5622ac149ed1bb425bb3bb4fb644b1e07ef695cc2501',
        },
      ],
      note: 'worked example',
    };
    expect(new TextDecoder().decode(readWholeFile(out, MANIFEST_FILE))).toBe(
      `${JSON.stringify(manifest, null, 1)}\n`,
    );
    lsm.close();
  });
});

describe('feed export: round trip', () => {
  it('writes one file per author and a manifest; reading it back gives the same entries and state', () => {
    const { a, b } = twoDevices();
    const { out, manifest } = exported(b);
    const authors = [a, b].map((d) => bytesToHex(d.identity.publicKey)).sort();
    expect(manifest.feeds.map((f) => f.author)).toEqual(authors);
    expect(out.list().sort()).toEqual([MANIFEST_FILE, ...authors.map(feedFileName)].sort());
    expect(manifest.omittedEntries).toBe(0);
    expect(manifest.stateHash).toBe(b.stateHash());
    expect(manifest.sourceStateHash).toBe(b.stateHash());
    expect(manifest.note).toBe('test');

    const back = readFeedExport(out, { signer });
    expect(back.manifest).toEqual(manifest);
    for (const feed of back.feeds) {
      const src = b.feeds.readEntries(feed.author, 1, feed.entries.length);
      expect(feed.entries.map((e) => bytesToHex(encodeEntry(e)))).toEqual(
        src.map((e) => bytesToHex(encodeEntry(e))),
      );
    }
    expect(rebuildStateHash(back.feeds)).toBe(manifest.stateHash);

    // A fresh replica that ingests the export reaches the source's state.
    const fresh = openDb(7);
    for (const feed of back.feeds)
      expect(fresh.replica.ingest(feed.entries.map(encodeEntry)).rejected).toEqual([]);
    expect(fresh.stateHash()).toBe(manifest.stateHash);
  });

  it("leaves out a device's unsigned tail, counts it, and hashes only what it exported", () => {
    const db = openDb(2);
    for (let i = 0; i < 6; i++) db.collection('c').patch('x', { i }); // signed at 4, two unsigned
    const { out, manifest } = exported(db);
    expect(manifest.feeds[0]!.entries).toBe(4);
    expect(manifest.omittedEntries).toBe(2);
    expect(manifest.sourceStateHash).toBe(db.stateHash());
    expect(manifest.stateHash).not.toBe(manifest.sourceStateHash);
    expect(rebuildStateHash(readFeedExport(out, { signer }).feeds)).toBe(manifest.stateHash);
  });

  it('exports nothing but a manifest from an empty database', () => {
    const { out, manifest } = exported(openDb(3));
    expect(manifest.feeds).toEqual([]);
    expect(out.list()).toEqual([MANIFEST_FILE]);
    expect(readFeedExport(out, { signer }).feeds).toEqual([]);
    expect(manifest.stateHash).toBe(manifest.sourceStateHash);
  });

  it('exports a closed store without its identity, with the same manifest', () => {
    const { b, bFs } = twoDevices();
    const live = exported(b).manifest;
    b.close();
    const out = new MemoryFs();
    const offline = exportStoreFeeds(bFs, out, { signer, note: 'test' });
    expect(offline).toEqual(live);
    expect(readFeedExport(out, { signer }).manifest).toEqual(live);
  });

  it('refuses a non-empty output directory and an over-long note', () => {
    const { b } = twoDevices();
    const out = new MemoryFs();
    rewrite(out, 'other', Uint8Array.of(1));
    expect(failure(() => exportFeeds(b, out))).toMatchObject({ code: 'ARE_ALREADY_EXISTS' });
    expect(failure(() => exportFeeds(b, new MemoryFs(), { note: 'x'.repeat(1025) }))).toMatchObject({
      code: 'ARE_INVALID_ARGUMENT',
    });
  });
});

describe('feed export: corrupt and hostile exports are refused with typed errors', () => {
  function setup() {
    const { a, b } = twoDevices();
    const { out, manifest } = exported(b);
    const aFile = feedFileName(bytesToHex(a.identity.publicKey));
    return { out, manifest, aFile };
  }

  it.each<[string, (m: Record<string, unknown>) => void, string]>([
    ['an unknown key', (m) => (m.extra = 1), 'manifest-schema'],
    ['a missing key', (m) => delete m.note, 'manifest-schema'],
    ['a short state hash', (m) => (m.stateHash = 'abc'), 'manifest-schema'],
    [
      'an upper-case state hash',
      (m) => (m.stateHash = (m.stateHash as string).toUpperCase()),
      'manifest-schema',
    ],
    ['a negative omitted count', (m) => (m.omittedEntries = -1), 'manifest-schema'],
    [
      'a fractional entry count',
      (m) => ((m.feeds as { entries: number }[])[0]!.entries = 1.5),
      'manifest-schema',
    ],
    ['feeds out of order', (m) => (m.feeds as unknown[]).reverse(), 'manifest-schema'],
    ['a path in a file name', (m) => ((m.feeds as { file: string }[])[0]!.file = '../x'), 'manifest-schema'],
    ['another format', (m) => (m.format = 'zip'), 'manifest-schema'],
    ['a later version', (m) => (m.version = 2), 'version'],
    ['a non-object', (m) => (m.feeds = 'all'), 'manifest-schema'],
  ])('a manifest with %s', (_, edit, problem) => {
    const { out } = setup();
    editManifest(out, edit);
    expect(failure(() => readFeedExport(out, { signer }))).toMatchObject({ code: 'ARE_CORRUPTION', problem });
  });

  it('a missing, non-JSON, non-UTF-8 or oversized manifest', () => {
    const { out } = setup();
    rewrite(out, MANIFEST_FILE, new TextEncoder().encode('{"format": '));
    expect(failure(() => readFeedExport(out, { signer }))).toMatchObject({ problem: 'manifest-json' });
    rewrite(out, MANIFEST_FILE, Uint8Array.of(0x7b, 0xff, 0x7d));
    expect(failure(() => readFeedExport(out, { signer }))).toMatchObject({ problem: 'manifest-json' });
    rewrite(out, MANIFEST_FILE, new Uint8Array(MANIFEST_BYTES_MAX + 1).fill(0x20));
    expect(failure(() => readFeedExport(out, { signer }))).toMatchObject({ code: 'ARE_LIMIT_EXCEEDED' });
    out.delete(MANIFEST_FILE);
    expect(failure(() => readFeedExport(out, { signer }))).toMatchObject({ problem: 'manifest-missing' });
  });

  it('a listed feed file that is missing, and a feed file the manifest does not list', () => {
    const { out, aFile } = setup();
    const bytes = readWholeFile(out, aFile);
    out.delete(aFile);
    expect(failure(() => readFeedExport(out, { signer }))).toMatchObject({ problem: 'feed-missing' });
    rewrite(out, aFile, bytes);
    rewrite(out, feedFileName('ab'.repeat(32)), bytes);
    expect(failure(() => readFeedExport(out, { signer }))).toMatchObject({ problem: 'feed-unlisted' });
  });

  it('a flipped bit without a new checksum, and a truncated file', () => {
    const { out, aFile } = setup();
    editFeed(out, aFile, flip(100, 1), false);
    expect(failure(() => readFeedExport(out, { signer }))).toMatchObject({ problem: 'checksum' });
    editFeed(out, aFile, (b) => b.subarray(0, 40), false);
    expect(failure(() => readFeedExport(out, { signer }))).toMatchObject({ problem: 'header' });
  });

  it('a changed payload with a recomputed checksum fails the chain or the signature', () => {
    const { out, aFile, manifest } = setup();
    const original = readWholeFile(out, aFile);
    // The first record's payload: its hash changes, so entry 2's prev no longer matches.
    editFeed(out, aFile, flip(48 + 4 + 87, 1), true);
    expect(failure(() => readFeedExport(out, { signer }))).toMatchObject({ code: 'ARE_BROKEN_CHAIN' });
    // The last record's payload: nothing chains to it, its signature no longer matches.
    rewrite(out, aFile, original);
    const lastPayloadByte = original.length - FEED_TRAILER_BYTES - 64 - 1 - 1;
    editFeed(out, aFile, flip(lastPayloadByte, 1), true);
    expect(failure(() => readFeedExport(out, { signer }))).toMatchObject({ code: 'ARE_BAD_SIGNATURE' });
    // A wrong head hash in the manifest.
    rewrite(out, aFile, original);
    editManifest(out, (m) => {
      const line = (m.feeds as { file: string; headHash: string }[]).find((f) => f.file === aFile)!;
      line.headHash = '0'.repeat(64);
    });
    expect(failure(() => readFeedExport(out, { signer }))).toMatchObject({ problem: 'head' });
    expect(manifest.feeds.length).toBe(2);
  });

  it('a header whose count, author or reserved bytes disagree', () => {
    const { out, aFile } = setup();
    const original = readWholeFile(out, aFile);
    for (const at of [0, 4, 5, 8, 47]) {
      rewrite(out, aFile, original);
      editFeed(out, aFile, flip(at, 1), true);
      expect(
        failure(() => readFeedExport(out, { signer })),
        `byte ${at}`,
      ).toMatchObject({ problem: 'header' });
    }
  });

  it('every single-byte change anywhere in a feed file is refused with a typed error', () => {
    const { out, aFile } = setup();
    const original = readWholeFile(out, aFile);
    fc.assert(
      fc.property(
        fc.nat({ max: original.length - 1 }),
        fc.integer({ min: 1, max: 255 }),
        fc.boolean(),
        (anywhere, xor, fixChecksum) => {
          // With a recomputed checksum, a change inside the trailer would be undone.
          const at = fixChecksum ? anywhere % (original.length - FEED_TRAILER_BYTES) : anywhere;
          rewrite(out, aFile, original);
          editFeed(out, aFile, flip(at, xor), fixChecksum);
          const f = failure(() => readFeedExport(out, { signer }));
          expect(f.code).toMatch(/^ARE_/);
        },
      ),
      { numRuns: 300 },
    );
  });
});
