import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { entityFingerprint, entityRow, murmur3Bytes, murmur3String, murmur3Words2, murmur3Words5 } from './hash.js';

describe('murmur3 x86_32', () => {
  it('matches the reference test vectors', () => {
    assert.equal(murmur3String('', 0), 0);
    assert.equal(murmur3String('', 1), 0x514e28b7);
    assert.equal(murmur3String('hello', 0), 0x248bfa47);
    assert.equal(murmur3String('The quick brown fox jumps over the lazy dog', 0), 0x2e4ff723);
    assert.equal(murmur3Bytes(new Uint8Array([0x21, 0x43, 0x65, 0x87]), 0), 0xf55b516b);
    assert.equal(murmur3Bytes(new Uint8Array([0x21, 0x43, 0x65]), 0), 0x7e4a8634);
    assert.equal(murmur3Bytes(new Uint8Array([0x21, 0x43]), 0), 0xa0f7b07a);
    assert.equal(murmur3Bytes(new Uint8Array([0x21]), 0), 0x72661cf4);
  });

  it('hashes strings as their UTF-8 bytes (ASCII fast path and non-ASCII agree with the byte version)', () => {
    for (const s of ['user_1', 'i-0caa75b1c88bf0f16', 'héllo wörld', '日本語', 'a😀b', 'x'.repeat(37)]) {
      assert.equal(murmur3String(s, 7), murmur3Bytes(new TextEncoder().encode(s), 7), s);
    }
  });

  it('word hashes equal the byte hash of the little-endian words', () => {
    const le = (...w: number[]): Uint8Array => {
      const b = new Uint8Array(w.length * 4);
      const v = new DataView(b.buffer);
      w.forEach((x, i) => v.setUint32(i * 4, x >>> 0, true));
      return b;
    };
    assert.equal(murmur3Words2(0xdeadbeef, 0x418, 9), murmur3Bytes(le(0xdeadbeef, 0x418), 9));
    assert.equal(murmur3Words5(1, 2, 0xffffffff, 4, 0x680, 3), murmur3Bytes(le(1, 2, 0xffffffff, 4, 0x680), 3));
  });

  it('maps entities into [0, num_entity_vectors) and fingerprints are stable, distinct float64 integers', () => {
    const seen = new Set<number>();
    for (let i = 0; i < 5000; i++) {
      const r = entityRow(`user_${i}`, 20000);
      assert.ok(r >= 0 && r < 20000 && Number.isInteger(r));
      const fp = entityFingerprint(`user_${i}`);
      assert.ok(Number.isSafeInteger(fp) && fp >= 0 && fp < 2 ** 52);
      seen.add(fp);
    }
    assert.equal(seen.size, 5000);
    assert.equal(entityFingerprint('abc'), entityFingerprint('abc'));
    assert.equal(entityRow('user_1', 1), 0);
  });
});
