/**
 * Feed exports, format version 1: every feed a replica holds, written to a directory so that
 * another tool (the simulator's `aregula replay --feeds`) can replay it into fresh replicas
 * and check that they reach the same state. docs/formats/feed-export.md documents the bytes;
 * in short, a directory holds
 *
 *   export.json              the manifest: format, version, the state hash a replica holding
 *                            exactly these feeds must reach, one line per feed
 *   feed-<author hex>.arf    one file per author: header ‖ entries (wire form) ‖ SHA-256
 *
 * Only what a peer could verify is exported: each feed up to its last stored signature, with
 * the signatures the store kept (every one of them verified or made by the store). A device's
 * own unsigned tail is left out and counted in the manifest.
 *
 * Reading is strict: sizes are bounded before anything is read, every field is checked, and
 * every signature in a file is verified along with the whole hash chain, so a corrupt or
 * hostile export is refused with a typed error instead of being half replayed.
 */

import { sha256 } from '@noble/hashes/sha2.js';
import { AlreadyExistsError, CorruptionError, InvalidArgumentError, LimitExceededError } from '../errors.ts';
import { bytesToHex, hexToBytes } from '../hex.ts';
import { type FileSystem, writeFileAtomic } from '../io/fs.ts';
import { BODY_HEADER_BYTES, decodeEntry, type Entry, encodeEntry, MAX_PAYLOAD_BYTES } from '../log/entry.ts';
import { FeedStore } from '../log/feed-store.ts';
import { PUBLIC_KEY_BYTES, SIGNATURE_BYTES } from '../log/identity.ts';
import { nobleSigner, type Signer } from '../log/signer.ts';
import { verifySignedRanges } from '../log/verify.ts';
import { bytesEqual } from '../lsm/coding.ts';
import { Lsm } from '../lsm/lsm.ts';
import { hashRows, ViewWriter, viewRows } from './views.ts';

/** The export format version this module writes and reads. */
export const FEED_EXPORT_VERSION = 1;
/** The manifest's `format` value. */
export const FEED_EXPORT_FORMAT = 'aregula-feed-export';
/** The manifest's file name. */
export const MANIFEST_FILE = 'export.json';
/** The first four bytes of a feed file: ASCII `ARFE`. */
export const FEED_FILE_MAGIC = Uint8Array.of(0x41, 0x52, 0x46, 0x45);
/** Bytes of a feed file's header. */
export const FEED_HEADER_BYTES = 48;
/** Bytes of a feed file's trailer (SHA-256 of everything before it). */
export const FEED_TRAILER_BYTES = 32;
/** Most feeds one export may hold. */
export const FEED_EXPORT_AUTHORS_MAX = 10_000;
/** Largest feed file a reader accepts (it is read whole). */
export const FEED_FILE_BYTES_MAX = 256 * 1024 * 1024;
/** Largest manifest a reader accepts. */
export const MANIFEST_BYTES_MAX = 4 * 1024 * 1024;
/** Longest `note` in a manifest, in UTF-16 code units. */
export const NOTE_CHARS_MAX = 1024;

/** Smallest record: an empty payload, unsigned. */
const RECORD_BYTES_MIN = BODY_HEADER_BYTES + 1;
/** Largest record: the largest payload, signed. */
const RECORD_BYTES_MAX = BODY_HEADER_BYTES + MAX_PAYLOAD_BYTES + 1 + SIGNATURE_BYTES;
/** Entries read from the store per scan while exporting. */
const EXPORT_READ_ENTRIES = 1024;
const HEX64 = /^[0-9a-f]{64}$/;
const MANIFEST_KEYS = [
  'format',
  'version',
  'stateHash',
  'sourceStateHash',
  'omittedEntries',
  'feeds',
  'note',
];
const FEED_KEYS = ['author', 'file', 'entries', 'headHash'];

/** One feed's line in the manifest. */
export interface ManifestFeed {
  /** The author's public key, 64 lowercase hex digits. */
  author: string;
  /** The feed file's name: `feed-<author>.arf`. */
  file: string;
  /** Entries in the file: seqs 1..entries, the last one signed. */
  entries: number;
  /** SHA-256 (hex) of the last entry's body. */
  headHash: string;
}

/** The manifest (`export.json`). */
export interface FeedExportManifest {
  format: typeof FEED_EXPORT_FORMAT;
  version: typeof FEED_EXPORT_VERSION;
  /** The state hash (`Database.stateHash()`) of views built from exactly the exported entries. */
  stateHash: string;
  /** The source's own state hash when it was exported (differs when entries were omitted). */
  sourceStateHash: string;
  /** Local entries the source held past its last signature, not exported. */
  omittedEntries: number;
  /** One line per feed, in author order. */
  feeds: ManifestFeed[];
  /** Free text: where the export came from. */
  note: string;
}

/** One feed read back: its entries (seq 1..n, verified) in order. */
export interface ExportedFeed {
  author: Uint8Array;
  /** The author in hex. */
  authorHex: string;
  entries: Entry[];
}

/** An export read back and verified. */
export interface FeedExport {
  manifest: FeedExportManifest;
  feeds: ExportedFeed[];
}

/** What is wrong with an export's bytes (stable names, for tools and tests). */
export type FeedExportProblem =
  | 'manifest-missing'
  | 'manifest-json'
  | 'manifest-schema'
  | 'version'
  | 'feed-missing'
  | 'feed-unlisted'
  | 'checksum'
  | 'header'
  | 'record'
  | 'head';

/** An export's bytes are malformed (code `ARE_CORRUPTION`, with the file, offset and problem). */
export class FeedExportError extends CorruptionError {
  /** Which rule the bytes break. */
  readonly problem: FeedExportProblem;
  constructor(options: { problem: FeedExportProblem; file: string; offset: number; detail: string }) {
    super({ file: options.file, offset: options.offset, detail: `${options.problem}: ${options.detail}` });
    this.problem = options.problem;
  }
}

/** Where an export reads feeds from: a {@link Database} fits. */
export interface FeedSource {
  readonly feeds: FeedStore;
  /** The source's current state hash. */
  stateHash(): string;
}

/** Options of {@link exportFeeds}. */
export interface ExportOptions {
  /** Free text recorded in the manifest (at most {@link NOTE_CHARS_MAX}). */
  note?: string;
}

/** The name of `author`'s feed file. */
export function feedFileName(authorHex: string): string {
  return `feed-${authorHex}.arf`;
}

/**
 * Writes every feed of `source` into `out`, which must be empty: one file per author, synced,
 * then the manifest last (atomically), so an export without a manifest is an unfinished one.
 */
export function exportFeeds(
  source: FeedSource,
  out: FileSystem,
  options: ExportOptions = {},
): FeedExportManifest {
  const note = options.note ?? '';
  if (note.length > NOTE_CHARS_MAX)
    throw new InvalidArgumentError(`note is longer than ${NOTE_CHARS_MAX} characters`);
  if (out.list().length > 0) throw new AlreadyExistsError('the export directory must be empty');
  const feeds: ManifestFeed[] = [];
  const views = new ViewWriter(() => undefined);
  let omitted = 0;
  const authors = source.feeds.authors();
  if (authors.length > FEED_EXPORT_AUTHORS_MAX) {
    throw new LimitExceededError({
      limit: 'FEED_EXPORT_AUTHORS_MAX',
      max: FEED_EXPORT_AUTHORS_MAX,
      actual: authors.length,
      what: 'feeds in an export',
    });
  }
  for (const author of authors) {
    const head = source.feeds.head(author);
    if (head === undefined) continue;
    omitted += head.seq - head.signedSeq;
    if (head.signedSeq === 0) continue;
    feeds.push(writeFeedFile(source.feeds, author, head.signedSeq, out, views));
  }
  out.syncDir();
  const manifest: FeedExportManifest = {
    format: FEED_EXPORT_FORMAT,
    version: FEED_EXPORT_VERSION,
    stateHash: hashRows(views.rows()),
    sourceStateHash: source.stateHash(),
    omittedEntries: omitted,
    feeds,
    note,
  };
  writeFileAtomic(out, MANIFEST_FILE, new TextEncoder().encode(`${JSON.stringify(manifest, null, 1)}\n`));
  return manifest;
}

/**
 * Exports the feeds of a closed database's directory `store` (no identity needed): opens its
 * LSM (which recovers from a crash like any open), exports, closes. Throws `LockedError` if the
 * store is open in this process.
 */
export function exportStoreFeeds(
  store: FileSystem,
  out: FileSystem,
  options: ExportOptions & { signer?: Signer } = {},
): FeedExportManifest {
  const lsm = Lsm.open(store);
  try {
    const feeds = new FeedStore(lsm, options.signer ?? nobleSigner);
    return exportFeeds({ feeds, stateHash: () => hashRows(viewRows(lsm)) }, out, options);
  } finally {
    lsm.close();
  }
}

/** Writes one feed file (entries 1..toSeq) and applies its entries to `views`. */
function writeFeedFile(
  store: FeedStore,
  author: Uint8Array,
  toSeq: number,
  out: FileSystem,
  views: ViewWriter,
): ManifestFeed {
  const hex = bytesToHex(author);
  const file = feedFileName(hex);
  const handle = out.open(file, { create: true, exclusive: true });
  try {
    const digest = sha256.create();
    const put = (bytes: Uint8Array) => {
      digest.update(bytes);
      handle.append(bytes);
    };
    const header = new Uint8Array(FEED_HEADER_BYTES);
    header.set(FEED_FILE_MAGIC, 0);
    header[4] = FEED_EXPORT_VERSION;
    header.set(author, 8);
    writeU64(header, 40, toSeq);
    put(header);
    let last: Entry | undefined;
    for (let from = 1; from <= toSeq; from += EXPORT_READ_ENTRIES) {
      const to = Math.min(toSeq, from + EXPORT_READ_ENTRIES - 1);
      for (const entry of store.readEntries(author, from, to)) {
        const wire = encodeEntry(entry);
        const length = new Uint8Array(4);
        new DataView(length.buffer).setUint32(0, wire.length);
        put(length);
        put(wire);
        views.applyEntry(entry);
        last = entry;
      }
    }
    if (last?.seq !== toSeq) {
      throw new CorruptionError({
        file: `feed store ${hex}`,
        offset: 0,
        detail: `entries below ${toSeq} are missing`,
      });
    }
    handle.append(digest.digest());
    handle.sync();
    return { author: hex, file, entries: toSeq, headHash: bytesToHex(sha256(last.body)) };
  } finally {
    handle.close();
  }
}

/**
 * Reads and verifies the export in `fs`: the manifest's schema, every listed feed file's size,
 * checksum, header and records, the hash chain and every signature, and each head against the
 * manifest. Throws {@link FeedExportError} for malformed bytes, `LimitExceededError` for an
 * oversized file, and the log's typed errors (`BadSignatureError`, `BrokenChainError`,
 * `SequenceGapError`, `MalformedEntryError`) for entries that do not verify.
 */
export function readFeedExport(fs: FileSystem, options: { signer?: Signer } = {}): FeedExport {
  const signer = options.signer ?? nobleSigner;
  const manifest = readManifest(fs);
  const listed = new Set(manifest.feeds.map((f) => f.file));
  for (const name of fs.list()) {
    if (name.startsWith('feed-') && name.endsWith('.arf') && !listed.has(name)) {
      throw new FeedExportError({
        problem: 'feed-unlisted',
        file: name,
        offset: 0,
        detail: 'a feed file the manifest does not list',
      });
    }
  }
  const feeds = manifest.feeds.map((line) => readFeedFile(fs, line, signer));
  return { manifest, feeds };
}

/** Reads and validates the manifest alone. */
export function readManifest(fs: FileSystem): FeedExportManifest {
  if (!fs.exists(MANIFEST_FILE)) {
    throw new FeedExportError({
      problem: 'manifest-missing',
      file: MANIFEST_FILE,
      offset: 0,
      detail: 'no manifest (not an export, or an unfinished one)',
    });
  }
  const bytes = readBounded(fs, MANIFEST_FILE, MANIFEST_BYTES_MAX, 'MANIFEST_BYTES_MAX');
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes));
  } catch (err) {
    throw new FeedExportError({
      problem: 'manifest-json',
      file: MANIFEST_FILE,
      offset: 0,
      detail: `not UTF-8 JSON: ${(err as Error).message}`,
    });
  }
  return checkManifest(value);
}

function schemaError(detail: string): FeedExportError {
  return new FeedExportError({ problem: 'manifest-schema', file: MANIFEST_FILE, offset: 0, detail });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkKeys(v: Record<string, unknown>, keys: readonly string[], what: string): void {
  for (const k of Object.keys(v)) if (!keys.includes(k)) throw schemaError(`${what}: unknown key "${k}"`);
  for (const k of keys) if (!(k in v)) throw schemaError(`${what}: missing key "${k}"`);
}

function checkHex64(v: unknown, what: string): string {
  if (typeof v !== 'string' || !HEX64.test(v)) throw schemaError(`${what} must be 64 lowercase hex digits`);
  return v;
}

function checkCount(v: unknown, min: number, what: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min)
    throw schemaError(`${what} must be an integer >= ${min}`);
  return v;
}

function checkNote(v: unknown, what: string): string {
  if (typeof v !== 'string') throw schemaError(`${what} must be a string`);
  if (v.length > NOTE_CHARS_MAX) throw schemaError(`${what} is longer than ${NOTE_CHARS_MAX} characters`);
  return v;
}

/** Validates a parsed manifest: exactly the documented keys, types and ranges. */
export function checkManifest(value: unknown): FeedExportManifest {
  if (!isObject(value)) throw schemaError('the manifest must be a JSON object');
  if (value.format !== FEED_EXPORT_FORMAT) throw schemaError(`format must be "${FEED_EXPORT_FORMAT}"`);
  if (value.version !== FEED_EXPORT_VERSION) {
    throw new FeedExportError({
      problem: 'version',
      file: MANIFEST_FILE,
      offset: 0,
      detail: `unsupported export version ${JSON.stringify(value.version)} (this reader knows ${FEED_EXPORT_VERSION})`,
    });
  }
  checkKeys(value, MANIFEST_KEYS, 'manifest');
  if (!Array.isArray(value.feeds)) throw schemaError('feeds must be an array');
  if (value.feeds.length > FEED_EXPORT_AUTHORS_MAX)
    throw schemaError(`more than ${FEED_EXPORT_AUTHORS_MAX} feeds`);
  const feeds: ManifestFeed[] = [];
  for (const [i, f] of value.feeds.entries()) {
    const what = `feeds[${i}]`;
    if (!isObject(f)) throw schemaError(`${what} must be an object`);
    checkKeys(f, FEED_KEYS, what);
    const author = checkHex64(f.author, `${what}.author`);
    if (f.file !== feedFileName(author)) throw schemaError(`${what}.file must be "${feedFileName(author)}"`);
    const prev = feeds[feeds.length - 1];
    if (prev !== undefined && prev.author >= author)
      throw schemaError(`${what}: authors must ascend, without repeats`);
    feeds.push({
      author,
      file: f.file,
      entries: checkCount(f.entries, 1, `${what}.entries`),
      headHash: checkHex64(f.headHash, `${what}.headHash`),
    });
  }
  return {
    format: FEED_EXPORT_FORMAT,
    version: FEED_EXPORT_VERSION,
    stateHash: checkHex64(value.stateHash, 'stateHash'),
    sourceStateHash: checkHex64(value.sourceStateHash, 'sourceStateHash'),
    omittedEntries: checkCount(value.omittedEntries, 0, 'omittedEntries'),
    feeds,
    note: checkNote(value.note, 'note'),
  };
}

function readBounded(fs: FileSystem, name: string, max: number, limit: string): Uint8Array {
  const h = fs.open(name);
  try {
    const size = h.size();
    if (size > max) throw new LimitExceededError({ limit, max, actual: size, what: name });
    return h.read(0, size);
  } finally {
    h.close();
  }
}

/** Reads, checks and verifies one feed file against its manifest line. */
function readFeedFile(fs: FileSystem, line: ManifestFeed, signer: Signer): ExportedFeed {
  const file = line.file;
  const fail = (problem: FeedExportProblem, offset: number, detail: string) =>
    new FeedExportError({ problem, file, offset, detail });
  if (!fs.exists(file)) throw fail('feed-missing', 0, 'listed in the manifest but absent');
  const bytes = readBounded(fs, file, FEED_FILE_BYTES_MAX, 'FEED_FILE_BYTES_MAX');
  if (bytes.length < FEED_HEADER_BYTES + FEED_TRAILER_BYTES)
    throw fail('header', 0, 'shorter than a header and trailer');
  const end = bytes.length - FEED_TRAILER_BYTES;
  if (!bytesEqual(sha256(bytes.subarray(0, end)), bytes.subarray(end)))
    throw fail('checksum', end, 'the SHA-256 trailer does not match the file');
  const author = checkHeader(bytes, line, fail);
  const entries: Entry[] = [];
  let at = FEED_HEADER_BYTES;
  for (let seq = 1; seq <= line.entries; seq++) {
    if (end - at < 4) throw fail('record', at, `record ${seq} of ${line.entries} is missing`);
    const length = new DataView(bytes.buffer, bytes.byteOffset + at, 4).getUint32(0);
    if (length < RECORD_BYTES_MIN || length > RECORD_BYTES_MAX)
      throw fail('record', at, `record length ${length} outside ${RECORD_BYTES_MIN}..${RECORD_BYTES_MAX}`);
    if (end - at - 4 < length) throw fail('record', at, `record ${seq} runs past the end`);
    let entry: Entry;
    try {
      entry = decodeEntry(bytes.subarray(at + 4, at + 4 + length));
    } catch (err) {
      throw fail('record', at + 4, `record ${seq}: ${(err as Error).message}`);
    }
    if (!bytesEqual(entry.author, author)) throw fail('record', at + 4, `record ${seq} has another author`);
    if (entry.seq !== seq) throw fail('record', at + 4, `record ${seq} holds seq ${entry.seq}`);
    entries.push(entry);
    at += 4 + length;
  }
  if (at !== end) throw fail('record', at, `${end - at} bytes after the last record`);
  const ends: number[] = [];
  entries.forEach((e, i) => {
    if (e.signature !== undefined && i < entries.length - 1) ends.push(i);
  });
  ends.push(entries.length - 1);
  // Every signature in the file is checked, not only the last: a replay must be able to hand
  // any range that ends at one of them to a replica, which will check it.
  const head = verifySignedRanges(undefined, entries, signer, ends);
  if (bytesToHex(head.hash) !== line.headHash)
    throw fail('head', end, `the last entry's hash is not the manifest's headHash ${line.headHash}`);
  return { author, authorHex: line.author, entries };
}

function checkHeader(
  bytes: Uint8Array,
  line: ManifestFeed,
  fail: (problem: FeedExportProblem, offset: number, detail: string) => FeedExportError,
): Uint8Array {
  if (!bytesEqual(bytes.subarray(0, 4), FEED_FILE_MAGIC)) throw fail('header', 0, 'bad magic (not ARFE)');
  if (bytes[4] !== FEED_EXPORT_VERSION) throw fail('header', 4, `unsupported feed file version ${bytes[4]}`);
  if (bytes[5] !== 0 || bytes[6] !== 0 || bytes[7] !== 0)
    throw fail('header', 5, 'reserved bytes are not zero');
  const author = bytes.slice(8, 8 + PUBLIC_KEY_BYTES);
  if (!bytesEqual(author, hexToBytes(line.author)))
    throw fail('header', 8, 'author differs from the manifest');
  const view = new DataView(bytes.buffer, bytes.byteOffset + 40, 8);
  const count = view.getUint32(0) * 2 ** 32 + view.getUint32(4);
  if (count !== line.entries)
    throw fail('header', 40, `entry count ${count} differs from the manifest's ${line.entries}`);
  return author;
}

/**
 * The state hash of views built from `feeds` alone: what every replica that holds exactly
 * these feeds must report from `Database.stateHash()`.
 */
export function rebuildStateHash(feeds: readonly ExportedFeed[]): string {
  const views = new ViewWriter(() => undefined);
  for (const feed of feeds) for (const e of feed.entries) views.applyEntry(e);
  return hashRows(views.rows());
}

function writeU64(b: Uint8Array, at: number, n: number): void {
  const view = new DataView(b.buffer, b.byteOffset + at, 8);
  view.setUint32(0, Math.floor(n / 2 ** 32));
  view.setUint32(4, n >>> 0);
}
