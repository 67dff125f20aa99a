import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import ipaddr from 'ipaddr.js';
import { Rng } from '../../core/rng.js';
import { formatIp, formatIpv6, parseIp, parseIpInto } from './ip.js';

describe('IP parsing', () => {
  it('parses IPv4 dotted quads', () => {
    assert.deepEqual(parseIp('0.0.0.0'), { family: 4, words: [0, 0, 0, 0] });
    assert.deepEqual(parseIp('255.255.255.255'), { family: 4, words: [0xffffffff, 0, 0, 0] });
    assert.deepEqual(parseIp(' 10.0.103.247 '), { family: 4, words: [0x0a0067f7, 0, 0, 0] });
  });

  it('rejects malformed IPv4', () => {
    for (const bad of ['', '1.2.3', '1.2.3.4.5', '256.1.1.1', '1.2.3.-4', '01.2.3.4', '1..2.3', '1.2.3.4 x', 'a.b.c.d', '1.2.3.4.', '1234.1.1.1', '-']) {
      assert.equal(parseIp(bad), undefined, bad);
    }
  });

  it('parses IPv6 forms (compression, case, embedded IPv4, zone)', () => {
    assert.deepEqual(parseIp('::'), { family: 6, words: [0, 0, 0, 0] });
    assert.deepEqual(parseIp('::1'), { family: 6, words: [0, 0, 0, 1] });
    assert.deepEqual(parseIp('2001:DB8::8:800:200C:417A'), { family: 6, words: [0x20010db8, 0, 0x00080800, 0x200c417a] });
    assert.deepEqual(parseIp('2001:db8:0:0:1:0:0:1'), parseIp('2001:db8::1:0:0:1'));
    assert.deepEqual(parseIp('fe80::1%eth0'), { family: 6, words: [0xfe800000, 0, 0, 1] });
    assert.deepEqual(parseIp('64:ff9b::192.0.2.33'), { family: 6, words: [0x0064ff9b, 0, 0, 0xc0000221] });
    assert.deepEqual(parseIp('1:2:3:4:5:6:7::'), { family: 6, words: [0x00010002, 0x00030004, 0x00050006, 0x00070000] });
  });

  it('canonicalises IPv4-mapped IPv6 to IPv4', () => {
    const v4 = parseIp('10.1.2.3');
    assert.deepEqual(parseIp('::ffff:10.1.2.3'), v4);
    assert.deepEqual(parseIp('::FFFF:a01:203'), v4);
    assert.deepEqual(parseIp('0:0:0:0:0:ffff:10.1.2.3'), v4);
    assert.equal(formatIp(parseIp('::ffff:192.168.0.1')!), '192.168.0.1');
    // IPv4-compatible (deprecated) and NAT64 stay IPv6
    assert.equal(parseIp('::10.1.2.3')!.family, 6);
  });

  it('rejects malformed IPv6', () => {
    for (const bad of [':', ':::', '1:::2', '1::2::3', '12345::', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7', 'g::1', '::ffff:1.2.3', '1:2:3:4:5:6:7:1.2.3.4', '::1%', '2001:db8::1:']) {
      assert.equal(parseIp(bad), undefined, bad);
    }
  });

  it('agrees with ipaddr.js on random addresses and prints RFC 5952 text', () => {
    const rng = new Rng(11);
    const out = new Uint32Array(4);
    for (let i = 0; i < 2000; i++) {
      const parts = Array.from({ length: 8 }, () => (rng.next() < 0.4 ? 0 : rng.int(65536)));
      const text = parts.map((p) => p.toString(16)).join(':');
      const ref = ipaddr.IPv6.parse(text);
      const fam = parseIpInto(text, out);
      if (ref.isIPv4MappedAddress()) {
        assert.equal(fam, 4);
        continue;
      }
      assert.equal(fam, 6, text);
      assert.equal(formatIpv6(out), ref.toRFC5952String(), text);
      const compact = ref.toRFC5952String();
      assert.equal(parseIpInto(compact, out), 6, compact);
      assert.equal(formatIpv6(out), compact);
    }
  });
});
