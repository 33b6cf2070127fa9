// The proxy registry: which proxy owns a table or chain (names of earlier releases included), the port
// hints, and the TUN device names the evaluator treats as a proxy's.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  PROXY_MODULES,
  proxyHintForPort,
  proxyLabel,
  proxyOwning,
  TUN_DEVICE_NAME,
} from '../../../src/proxies/registry';
import { recognizeProxies } from '../../../src/ruleset/recognize-proxy';
import { makeSnapshot } from '../../../src/ruleset/ruleset-snapshot';

const owner = (table: string, chain: string) => proxyOwning(table, chain)?.name ?? null;

describe('proxy registry', () => {
  it("claims tables and chains by the names each proxy writes; PSW2 chains are never Passwall's", () => {
    assert.equal(owner('fw4', 'openclash_mangle'), 'openclash');
    assert.equal(owner('nat', 'openclash'), 'openclash');
    assert.equal(owner('passwall2', 'dstnat'), 'passwall2');
    assert.equal(owner('nat', 'PSW2'), 'passwall2');
    assert.equal(owner('nat', 'PSW'), 'passwall');
    assert.equal(owner('passwall', 'PSW_NAT'), 'passwall');
    assert.equal(owner('fw4', 'homeproxy_redirect'), 'homeproxy');
    assert.equal(owner('nikki', 'dstnat'), 'nikki');
    assert.equal(owner('shellcrash', 'prerouting'), 'shellcrash');
    // ShellClash, ShellCrash's name before its rename: table inet shellclash, iptables chains clash, clash_dns, ….
    assert.equal(owner('shellclash', 'prerouting'), 'shellcrash');
    assert.equal(owner('nat', 'clash'), 'shellcrash');
    assert.equal(owner('nat', 'clash_dns'), 'shellcrash');
    assert.equal(owner('mangle', 'clashv6'), 'shellcrash');
    assert.equal(owner('nat', 'clash_proxy'), null);
    assert.equal(owner('nat', 'CLASH'), null);
    assert.equal(owner('fw4', 'dstnat'), null);
    assert.equal(owner('sbx', 'pre'), null);
  });

  it("recognises OpenWrt-mihomo's table inet mihomo (nikki before its rename) as nikki", () => {
    const nft = JSON.stringify({
      nftables: [
        { table: { family: 'inet', name: 'mihomo', handle: 1 } },
        {
          chain: {
            family: 'inet',
            table: 'mihomo',
            name: 'dstnat',
            handle: 1,
            type: 'nat',
            hook: 'prerouting',
            prio: -99,
            policy: 'accept',
          },
        },
        {
          rule: {
            family: 'inet',
            table: 'mihomo',
            chain: 'dstnat',
            handle: 2,
            expr: [
              { match: { op: '==', left: { meta: { key: 'l4proto' } }, right: 'tcp' } },
              { redirect: { port: 7891 } },
            ],
          },
        },
      ],
    });
    const proxies = recognizeProxies(makeSnapshot({ nftJson: nft }).ruleset);
    assert.deepEqual(
      proxies.map((p) => [p.name, p.label, p.redirectPorts]),
      [['nikki', 'nikki', [7891]]],
    );
  });

  it("recognises ShellClash's table inet shellclash (ShellCrash before its rename) as ShellCrash (ShellClash)", () => {
    // ShellClash 1.7's Nft基础 mode, as the error output quoted in juewuy/ShellCrash issue #326 names the table and chain.
    const nft = JSON.stringify({
      nftables: [
        { table: { family: 'inet', name: 'shellclash', handle: 1 } },
        {
          chain: {
            family: 'inet',
            table: 'shellclash',
            name: 'prerouting',
            handle: 1,
            type: 'nat',
            hook: 'prerouting',
            prio: -100,
            policy: 'accept',
          },
        },
        {
          rule: {
            family: 'inet',
            table: 'shellclash',
            chain: 'prerouting',
            handle: 2,
            expr: [
              { match: { op: '==', left: { meta: { key: 'l4proto' } }, right: 'tcp' } },
              { redirect: { port: 7892 } },
            ],
          },
        },
      ],
    });
    const proxies = recognizeProxies(makeSnapshot({ nftJson: nft }).ruleset);
    assert.deepEqual(
      proxies.map((p) => [p.name, p.label, p.redirectPorts]),
      [['shellcrash', 'ShellCrash (ShellClash)', [7892]]],
    );
  });

  it('labels: every module its own, anything else the unknown proxy', () => {
    assert.deepEqual(
      PROXY_MODULES.map((m) => proxyLabel(m.name)),
      ['OpenClash', 'Passwall', 'Passwall2', 'homeproxy', 'nikki', 'ShellCrash'],
    );
    assert.equal(proxyLabel('unknown'), 'unknown transparent proxy');
  });

  it('port hints join the proxies sharing a default port', () => {
    assert.equal(proxyHintForPort(7892)?.proxy, 'OpenClash (or ShellCrash)');
    assert.equal(proxyHintForPort(1041)?.proxy, 'Passwall (or Passwall2)');
    assert.equal(proxyHintForPort(7874)?.proxy, 'OpenClash DNS');
    assert.equal(proxyHintForPort(7874)?.natChains.length, 0);
    assert.equal(proxyHintForPort(12345), undefined);
  });

  it('TUN device names: the proxies’ and the common ones, at the start of the name, any case', () => {
    for (const dev of [
      'utun',
      'clash0',
      'singtun0',
      'nikki',
      'mihomo',
      'Meta',
      'tun0',
      'sing-box',
      'singbox',
      'xray',
      'tproxy',
      'tailscale0',
      'wg0',
    ])
      assert.ok(TUN_DEVICE_NAME.test(dev), dev);
    for (const dev of ['br-lan', 'eth0', 'lan1', 'wan', 'lo', 'veth0']) assert.ok(!TUN_DEVICE_NAME.test(dev), dev);
  });
});
