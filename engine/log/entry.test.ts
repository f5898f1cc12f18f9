import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AregulaError, InvalidArgumentError, LimitExceededError } from '../errors.ts';
import {
  BODY_HEADER_BYTES,
  createEntry,
  createEntryInBody,
  decodeBody,
  decodeEntry,
  decodeEntryAt,
  ENTRY_SIGNING_DOMAIN,
  Entry,
  encodeEntry,
  entryHash,
  hasValidSignature,
  MAX_PAYLOAD_BYTES,
  signEntry,
  signingMessage,
  withSignature,
  ZERO_HASH,
} from './entry.ts';
import { MalformedEntryError } from './errors.ts';
import { concatWire, makeFeed, testHlc, testIdentity } from './feed-fixtures.ts';
import { nodeSigner } from './node-signer.ts';
import { nobleSigner } from './signer.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const alice = testIdentity(1);

/** The worked example of docs/formats/entry.md (checked against Python hashlib and the openssl CLI). */
const DOC_EXAMPLE = {
  publicKey: '8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c',
  wire1:
    '018a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c0000000000000001' +
    '0000000000000000000000000000000000000000000000000000000000000000' +
    '018bcfe56800000000000000000568656c6c6f00',
  hash1: '24134084759145a228346a4fd74dbd76b46ca9e1fb83e14f9df106afeff35471',
  wire2:
    '018a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c0000000000000002' +
    '24134084759145a228346a4fd74dbd76b46ca9e1fb83e14f9df106afeff35471' +
    '018bcfe568000000000100000001ff01' +
    '902d09eea58f4717259284ad10d46bf9ce56029c120077be1639b7106dd898ba' +
    '008452f0b3a6912894b7f214f1a3c35b91cb2196cdbe53da954c1a3b1f931204',
  hash2: '07fc745bcdae877b588e5622ac149ed1bb425bb3bb4fb644b1e07ef695cc2501',
};

function fields(seq = 1) {
  return {
    author: alice.publicKey,
    seq,
    prev: ZERO_HASH,
    hlc: testHlc(5),
    payload: new Uint8Array([1, 2, 3]),
  };
}

describe('encoding', () => {
  it('matches the worked example in docs/formats/entry.md, byte for byte, with both backends', () => {
    expect(hex(alice.publicKey)).toBe(DOC_EXAMPLE.publicKey);
    const e1 = createEntry({
      author: alice.publicKey,
      seq: 1,
      prev: ZERO_HASH,
      hlc: testHlc(1_700_000_000_000, 0),
      payload: new TextEncoder().encode('hello'),
    });
    expect(hex(encodeEntry(e1))).toBe(DOC_EXAMPLE.wire1);
    expect(hex(entryHash(e1.body))).toBe(DOC_EXAMPLE.hash1);
    for (const signer of [nobleSigner, nodeSigner]) {
      const e2 = createEntry({
        author: alice.publicKey,
        seq: 2,
        prev: entryHash(e1.body, signer),
        hlc: testHlc(1_700_000_000_000, 1),
        payload: new Uint8Array([0xff]),
      });
      const signed = signEntry(e2, alice, signer);
      expect(hex(encodeEntry(signed)), signer.name).toBe(DOC_EXAMPLE.wire2);
      expect(hex(entryHash(signed.body, signer))).toBe(DOC_EXAMPLE.hash2);
    }
  });

  it('round-trips any fields, signed or not, through the wire form', () => {
    fc.assert(
      fc.property(
        fc.record({
          author: fc.uint8Array({ minLength: 32, maxLength: 32 }),
          seq: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
          prev: fc.uint8Array({ minLength: 32, maxLength: 32 }),
          hlc: fc.uint8Array({ minLength: 10, maxLength: 10 }),
          payload: fc.uint8Array({ maxLength: 600 }),
        }),
        fc.option(fc.uint8Array({ minLength: 64, maxLength: 64 }), { nil: undefined }),
        (f, sig) => {
          const e = withSignature(createEntry(f), sig);
          const wire = encodeEntry(e);
          expect(wire.length).toBe(e.wireBytes);
          expect(wire.length).toBe(BODY_HEADER_BYTES + f.payload.length + 1 + (sig ? 64 : 0));
          const d = decodeEntry(wire);
          expect(d.version).toBe(1);
          expect(hex(d.author)).toBe(hex(f.author));
          expect(d.seq).toBe(f.seq);
          expect(hex(d.prev)).toBe(hex(f.prev));
          expect(hex(d.hlc)).toBe(hex(f.hlc));
          expect(hex(d.payload)).toBe(hex(f.payload));
          expect(d.signature === undefined ? undefined : hex(d.signature)).toBe(
            sig === undefined ? undefined : hex(sig),
          );
          expect(hex(decodeBody(e.body).body)).toBe(hex(e.body));
        },
      ),
    );
  });

  it('reads entries back to back with decodeEntryAt', () => {
    const feed = makeFeed(alice, 5, { signed: (s) => s % 2 === 0 });
    const wire = concatWire(feed);
    let at = 0;
    const seqs: number[] = [];
    while (at < wire.length) {
      const { entry, end } = decodeEntryAt(wire, at);
      expect(hex(entry.body)).toBe(hex(feed[seqs.length]!.body));
      expect(entry.signed).toBe(feed[seqs.length]!.signed);
      seqs.push(entry.seq);
      at = end;
    }
    expect(seqs).toEqual([1, 2, 3, 4, 5]);
  });

  it('copies decoded bytes, so later changes to the input buffer do not reach the entry', () => {
    const wire = encodeEntry(signEntry(createEntry(fields()), alice, nodeSigner));
    const e = decodeEntry(wire);
    const before = hex(encodeEntry(e));
    wire.fill(0);
    expect(hex(encodeEntry(e))).toBe(before);
  });
});

describe('createEntry validation', () => {
  it('refuses each malformed field with InvalidArgumentError', () => {
    const bad: Array<[string, Record<string, unknown>]> = [
      ['author 31 bytes', { author: new Uint8Array(31) }],
      ['author 33 bytes', { author: new Uint8Array(33) }],
      ['seq 0', { seq: 0 }],
      ['seq -1', { seq: -1 }],
      ['seq 1.5', { seq: 1.5 }],
      ['seq 2^53', { seq: 2 ** 53 }],
      ['seq NaN', { seq: Number.NaN }],
      ['seq string', { seq: '1' }],
      ['prev 31 bytes', { prev: new Uint8Array(31) }],
      ['hlc 9 bytes', { hlc: new Uint8Array(9) }],
      ['hlc 11 bytes', { hlc: new Uint8Array(11) }],
      ['payload array', { payload: [1, 2] }],
    ];
    for (const [what, patch] of bad) {
      expect(() => createEntry({ ...fields(), ...patch } as never), what).toThrow(InvalidArgumentError);
    }
  });

  it('accepts the largest seq and payload and refuses one byte more with LimitExceededError', () => {
    expect(createEntry({ ...fields(), seq: Number.MAX_SAFE_INTEGER }).seq).toBe(Number.MAX_SAFE_INTEGER);
    expect(createEntry({ ...fields(), payload: new Uint8Array(MAX_PAYLOAD_BYTES) }).payload.length).toBe(
      MAX_PAYLOAD_BYTES,
    );
    const err = catchError(() =>
      createEntry({ ...fields(), payload: new Uint8Array(MAX_PAYLOAD_BYTES + 1) }),
    );
    expect(err).toBeInstanceOf(LimitExceededError);
    expect((err as LimitExceededError).limit).toBe('MAX_PAYLOAD_BYTES');
  });
});

describe('createEntryInBody', () => {
  it('gives the entry createEntry gives, writing the header over whatever the body held', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.integer({ min: 1, max: 2 ** 40 }), (payload, seq) => {
        const f = { ...fields(), seq, payload };
        const body = new Uint8Array(BODY_HEADER_BYTES + payload.length).fill(0xa5);
        body.set(payload, BODY_HEADER_BYTES);
        const made = createEntryInBody({ author: f.author, seq, prev: f.prev, hlc: f.hlc }, body);
        const want = createEntry(f);
        expect(Array.from(made.body)).toEqual(Array.from(want.body));
        expect(made.body).toBe(body);
        expect([made.seq, made.payload.length]).toEqual([want.seq, want.payload.length]);
      }),
    );
  });

  it('refuses a malformed field, a body shorter than a header and an oversized payload', () => {
    const { payload: _, ...head } = fields();
    const body = () => new Uint8Array(BODY_HEADER_BYTES + 3);
    expect(() => createEntryInBody({ ...head, author: new Uint8Array(31) }, body())).toThrow(
      InvalidArgumentError,
    );
    expect(() => createEntryInBody({ ...head, seq: 0 }, body())).toThrow(InvalidArgumentError);
    expect(() => createEntryInBody({ ...head, hlc: new Uint8Array(9) }, body())).toThrow(
      InvalidArgumentError,
    );
    expect(() => createEntryInBody(head, new Uint8Array(BODY_HEADER_BYTES - 1))).toThrow(
      InvalidArgumentError,
    );
    expect(() => createEntryInBody(head, [1, 2] as never)).toThrow(InvalidArgumentError);
    const err = catchError(() =>
      createEntryInBody(head, new Uint8Array(BODY_HEADER_BYTES + MAX_PAYLOAD_BYTES + 1)),
    );
    expect((err as LimitExceededError).limit).toBe('MAX_PAYLOAD_BYTES');
    expect(createEntryInBody(head, new Uint8Array(BODY_HEADER_BYTES)).payload.length).toBe(0);
  });
});

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected an error');
}

describe('decoding rejects malformed bytes with typed errors', () => {
  const signed = encodeEntry(signEntry(createEntry(fields()), alice, nodeSigner));
  const unsigned = encodeEntry(createEntry(fields()));

  it('every truncation of a signed and an unsigned entry', () => {
    for (const wire of [signed, unsigned]) {
      for (let n = 0; n < wire.length; n++) {
        const err = catchError(() => decodeEntry(wire.subarray(0, n)));
        expect(err, `length ${n}`).toBeInstanceOf(MalformedEntryError);
        expect((err as MalformedEntryError).code).toBe('ARE_CORRUPTION');
      }
    }
  });

  it('trailing bytes', () => {
    for (const wire of [signed, unsigned]) {
      const err = catchError(() => decodeEntry(new Uint8Array([...wire, 0])));
      expect(err).toBeInstanceOf(MalformedEntryError);
      expect((err as MalformedEntryError).offset).toBe(wire.length);
    }
  });

  it('unknown versions and flags', () => {
    for (const v of [0, 2, 255]) {
      const w = signed.slice();
      w[0] = v;
      expect(() => decodeEntry(w), `version ${v}`).toThrow(/unsupported entry version/);
    }
    const flagsAt = BODY_HEADER_BYTES + 3;
    for (const f of [0x02, 0x03, 0x80, 0xff]) {
      const w = unsigned.slice();
      w[flagsAt] = f;
      const err = catchError(() => decodeEntry(w));
      expect(err, `flags ${f}`).toBeInstanceOf(MalformedEntryError);
      expect((err as MalformedEntryError).offset).toBe(flagsAt);
    }
  });

  it('seq 0 and seq beyond 2^53 - 1', () => {
    const zero = unsigned.slice();
    zero.fill(0, 33, 41);
    expect(() => decodeEntry(zero)).toThrow(/seq 0/);
    const huge = unsigned.slice();
    huge[34] = 0x20; // 2^53
    expect(() => decodeEntry(huge)).toThrow(/2\^53/);
  });

  it('payload lengths past the bytes or past MAX_PAYLOAD_BYTES', () => {
    const longer = unsigned.slice();
    longer[BODY_HEADER_BYTES - 1] = 4; // says 4, has 3
    expect(() => decodeEntry(longer)).toThrow(MalformedEntryError);
    const huge = unsigned.slice();
    huge.set([0, 0x10, 0, 1], BODY_HEADER_BYTES - 4); // MAX_PAYLOAD_BYTES + 1
    expect(() => decodeEntry(huge)).toThrow(LimitExceededError);
  });

  it('decodeBody refuses a wire form (flags byte trailing) and non-bytes', () => {
    expect(() => decodeBody(unsigned)).toThrow(/trailing bytes/);
    expect(() => decodeBody('x' as unknown as Uint8Array)).toThrow(InvalidArgumentError);
    expect(() => decodeEntry([1] as unknown as Uint8Array)).toThrow(InvalidArgumentError);
  });

  it('the Entry constructor refuses a malformed body or a short signature', () => {
    expect(() => new Entry(unsigned, undefined)).toThrow(MalformedEntryError);
    expect(() => new Entry(unsigned.subarray(0, 10), undefined)).toThrow(MalformedEntryError);
    expect(() => new Entry(createEntry(fields()).body, new Uint8Array(63))).toThrow(InvalidArgumentError);
  });

  it('random bytes either decode to an entry that re-encodes identically or throw a typed error', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 300 }),
        fc.nat(signed.length - 1),
        fc.nat(255),
        (junk, at, v) => {
          for (const input of [junk, Uint8Array.from(signed, (b, i) => (i === at ? v : b))]) {
            try {
              expect(hex(encodeEntry(decodeEntry(input)))).toBe(hex(input));
            } catch (err) {
              expect(err).toBeInstanceOf(AregulaError);
            }
          }
        },
      ),
    );
  });
});

describe('signing entries', () => {
  it('signs the domain-separated hash, verifiable by both backends', () => {
    const e = signEntry(createEntry(fields()), alice, nobleSigner);
    const hash = entryHash(e.body);
    const msg = signingMessage(hash);
    expect(new TextDecoder().decode(msg.subarray(0, 16))).toBe(ENTRY_SIGNING_DOMAIN);
    expect(hex(msg.subarray(16))).toBe(hex(hash));
    expect(msg).toHaveLength(48);
    expect(hasValidSignature(e, hash, nobleSigner)).toBe(true);
    expect(hasValidSignature(e, hash, nodeSigner)).toBe(true);
    // The domain matters: the same key's signature over the bare hash is a different one.
    expect(nodeSigner.verify(alice.publicKey, hash, e.signature!)).toBe(false);
    expect(hasValidSignature(createEntry(fields()), hash, nodeSigner)).toBe(false);
  });

  it('refuses to sign for another author or a malformed hash', () => {
    expect(() => signEntry(createEntry(fields()), testIdentity(2), nodeSigner)).toThrow(
      /not the entry author/,
    );
    expect(() => signingMessage(new Uint8Array(31))).toThrow(InvalidArgumentError);
  });

  it('withSignature attaches a copy and can remove it', () => {
    const sig = new Uint8Array(64).fill(7);
    const e = withSignature(createEntry(fields()), sig);
    sig.fill(0);
    expect(hex(e.signature!)).toBe('07'.repeat(64));
    expect(withSignature(e, undefined).signed).toBe(false);
  });
});
