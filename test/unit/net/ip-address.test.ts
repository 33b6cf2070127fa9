import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  canonicalAddress,
  formatAddress,
  formatEndpoint,
  isNonPublic,
  PrefixSet,
  parseAddress,
  parsePrefix,
  splitEndpoint,
} from '../../../src/net/ip-address';

describe('ip-address', () => {
  it('parses and canonicalises IPv4 and IPv6', () => {
    assert.equal(canonicalAddress('192.168.1.10'), '192.168.1.10');
    assert.equal(canonicalAddress('2001:DB8:0:0:0:0:0:1'), '2001:db8::1');
    assert.equal(canonicalAddress('::ffff:192.0.2.1'), '::ffff:c000:201');
    assert.equal(canonicalAddress('fe80::1%br-lan'), 'fe80::1');
    assert.equal(canonicalAddress('::'), '::');
    for (const bad of ['256.1.1.1', '1.2.3', '1.2.3.4.5', '1::2::3', 'g::1', '', '01234::', '1:2:3:4:5:6:7:8:9']) {
      assert.equal(parseAddress(bad), null, bad);
    }
  });

  it('normalises prefixes and tests membership', () => {
    assert.equal(parsePrefix('192.168.1.1/24')?.text, '192.168.1.0/24');
    assert.equal(parsePrefix('fd00::1/64')?.text, 'fd00::/64');
    assert.equal(parsePrefix('10.0.0.0/33'), null);
    const set = new PrefixSet([parsePrefix('192.168.50.0/24')!, parsePrefix('fd50::/64')!]);
    assert.equal(set.has('192.168.50.77'), true);
    assert.equal(set.has('192.168.51.1'), false);
    assert.equal(set.has('fd50::abcd'), true);
    assert.equal(set.has('not an ip'), false);
  });

  it('knows which peers cannot be outside clients', () => {
    for (const a of ['10.1.2.3', '172.31.0.1', '192.168.0.1', '100.64.0.1', '127.0.0.1', 'fd00::1', 'fe80::1']) {
      assert.equal(isNonPublic(parseAddress(a)!), true, a);
    }
    for (const a of ['203.0.113.50', '8.8.8.8', '2001:db8::1']) assert.equal(isNonPublic(parseAddress(a)!), false, a);
  });

  it('formats endpoints', () => {
    assert.equal(formatEndpoint('192.168.1.10', 443), '192.168.1.10:443');
    assert.equal(formatEndpoint('fd00::1', 443), '[fd00::1]:443');
  });

  it('splits endpoints, IPv6 in brackets, and only those with a port', () => {
    assert.deepEqual(splitEndpoint('[fd00::10]:443'), { ip: 'fd00::10', port: 443 });
    assert.deepEqual(splitEndpoint('192.168.1.10:443'), { ip: '192.168.1.10', port: 443 });
    assert.equal(splitEndpoint('192.168.1.10'), null);
    assert.equal(splitEndpoint('fd00::10:443'), null, 'IPv6 without brackets is ambiguous');
    for (const ep of ['192.168.1.10:443', '[fd00::1]:443']) {
      const parts = splitEndpoint(ep)!;
      assert.equal(formatEndpoint(parts.ip, parts.port), ep);
    }
  });

  it('round-trips every IPv6 address through text', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 8, maxLength: 8 }), (groups) => {
        const text = formatAddress({ family: 6, groups });
        assert.deepEqual(parseAddress(text)?.groups, groups);
      }),
      { numRuns: 2000 },
    );
  });
});
