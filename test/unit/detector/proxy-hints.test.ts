// Without a ruleset, the detector's nat-guard line names the chains that may redirect to the port
// the reply went to. A port shared by two proxies (7892: OpenClash and ShellCrash; 1041: Passwall and
// Passwall2), and fw4 against fw3, must each get their own chain — never one proxy's fw4 chain for all.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ReplyVerdict } from '../../../src/detector/classify-flow';
import { detectorFixes } from '../../../src/detector/fix-text';

function redirectedTo(port: number, serverIp = '192.168.1.10'): ReplyVerdict {
  return {
    proto: 'tcp',
    serverIp,
    serverPort: 443,
    peerIp: '93.184.216.34',
    peerPort: 40000,
    fate: 'redirected',
    divertedTo: { ip: '192.168.1.2', port, isRouter: true },
  };
}

const natLine = (v: ReplyVerdict) => {
  const fix = detectorFixes(v).find((f) => f.kind === 'nat_guard');
  assert.ok(fix, 'no nat guard line');
  return fix.text;
};

const GUARD = "'tcp flags & (fin|syn|rst|ack) != syn counter return'";

describe('nat guard without a ruleset', () => {
  it('7892: OpenClash and ShellCrash, each on fw4 and fw3', () => {
    const line = natLine(redirectedTo(7892));
    assert.ok(line.includes(`OpenClash (fw4): nft insert rule inet fw4 openclash ${GUARD}`), line);
    assert.ok(line.includes('OpenClash (fw3): iptables -t nat -I openclash 1 -p tcp ! --syn -j RETURN'), line);
    assert.ok(line.includes(`ShellCrash (fw4): nft insert rule inet shellcrash prerouting ${GUARD}`), line);
    assert.ok(line.includes('ShellCrash (fw3): iptables -t nat -I shellcrash 1 -p tcp ! --syn -j RETURN'), line);
  });

  it('1041: Passwall and Passwall2 chains, fw4 and fw3 (no Passwall chain offered to Passwall2)', () => {
    const line = natLine(redirectedTo(1041));
    assert.ok(line.includes(`Passwall (fw4): nft insert rule inet passwall PSW_NAT ${GUARD}`), line);
    assert.ok(line.includes('Passwall (fw3): iptables -t nat -I PSW 1 '), line);
    assert.ok(line.includes(`Passwall2 (fw4): nft insert rule inet passwall2 PSW2_NAT ${GUARD}`), line);
    assert.ok(line.includes('Passwall2 (fw3): iptables -t nat -I PSW2 1 '), line);
  });

  it('an IPv6 server gets ip6tables', () => {
    const line = natLine(redirectedTo(7892, 'fd00:1::10'));
    assert.ok(line.includes('ip6tables -t nat -I openclash 1'), line);
    assert.ok(!line.includes(' iptables '), line);
  });

  it('a port no proxy is known by, or one whose redirect lives in no chain of its own: no chain is named', () => {
    for (const port of [12345, 7874]) {
      const line = natLine(redirectedTo(port));
      assert.ok(line.includes('nft insert rule <table> <chain>'), line);
      assert.ok(!line.includes('inet fw4'), line);
      assert.ok(line.includes(`redirects to :${port}`), line);
    }
  });

  it("OpenClash's access list is offered where OpenClash may hold the redirect, not to a Passwall, homeproxy or nikki port", () => {
    const openclashLine = (port: number) =>
      detectorFixes(redirectedTo(port)).some((f) => f.kind === 'proxy_setting' && f.proxy === 'openclash');
    assert.equal(openclashLine(7892), true);
    assert.equal(openclashLine(12345), true);
    for (const port of [1041, 5331, 7891]) assert.equal(openclashLine(port), false, String(port));
  });
});
