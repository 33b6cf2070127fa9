// OpenClash's Bypass Gateway Compatible (bypass_gateway_compatible=1) with the daemon on a real kernel. In
// redir-host mode with common ports on, OpenClash's own chains let the forward's replies pass, and its
// masquerade chain openclash_post rewrites them to the side router's address: the outside client's TLS is
// reset, the UDP echo comes back from another port. The daemon reports both replies as masqueraded (conntrack
// shows the rewrite, the ruleset names openclash_post) and prints OpenClash's switch first; with the switch off
// (no openclash_post and no srcnat jump, as OpenClash's restart leaves fw4 then) both forwards work, and
// `replyguard diagnose` finds nothing at risk. native-fixes.test.ts proves the same on replyguard's model.
// Run as root: node --import tsx --test test/integration/openclash-bypass-gateway-live.test.ts

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BUNDLE, hijacksOf, type RunningDaemon, startDaemon } from '../helpers/daemon';
import { createLab, type Lab } from '../lab/lab';

/** redir-host with common_ports 1 (init.d/openclash 1567-1570, 1676-1678, 1719-1721), a few of its ports. */
const COMMON_PORTS = `add set inet fw4 common_ports { type inet_service; flags interval; elements = { 22, 443, 8443 } }
insert rule inet fw4 openclash index 3 th dport != @common_ports counter return
insert rule inet fw4 openclash_mangle index 2 th dport != @common_ports counter return
`;

/** nft on the side router: the arguments, or with a script a `-f -` run of it. */
async function nft(lab: Lab, args: string[], script?: string): Promise<string> {
  const r = await lab.exec(lab.ns.side, ['nft', ...args], script === undefined ? {} : { input: script });
  assert.equal(r.code, 0, `nft ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

describe('OpenClash bypass_gateway_compatible with the daemon: the masquerade reported, the switch-off repairs', () => {
  let lab: Lab;
  let daemon: RunningDaemon;
  const udpFrom = () => `echo from ${lab.addr.mainWan}:${lab.forward.udpWanPort}`;

  before(async () => {
    lab = await createLab({ mode: 'openclash-fw4-fakeip', bypassGatewayCompatible: true, tag: 'ocbgc' });
    await nft(lab, ['-f', '-'], COMMON_PORTS);
    daemon = await startDaemon(lab);
  });
  after(async () => {
    await daemon?.stop();
    await lab?.destroy();
  });

  it('the forwards break and the daemon names the masquerade and its chain, with the switch-off first', async () => {
    const tls = await lab.tlsThroughForward({ timeoutMs: 2500 });
    assert.equal(tls.ok, false);
    assert.match(tls.detail, /reset/i);
    const udp = await lab.udpThroughForward({ timeoutMs: 1500 });
    assert.notEqual(udp.detail, udpFrom(), 'the echo should not come from the forward');
    const servers = [`${lab.addr.server}:${lab.forward.serverPort}`, `${lab.addr.server}:${lab.forward.udpServerPort}`];
    // The probe may report the same replies first ("enter this router and never leave"); the conntrack
    // finding is the one that sees the rewritten source, so it is the one looked for.
    const masqueraded = new RegExp(`masqueraded to ${lab.addr.side.replace(/\./g, '\\.')}:\\d+ \\(this router\\)`);
    const attributed = (f: ReturnType<typeof hijacksOf>[number]) =>
      masqueraded.test(f.summary) &&
      f.evidence.some((e) => e.startsWith('ruleset: ') && e.includes('masqueraded by nft inet fw4 openclash_post #5'));
    const s = await daemon.waitFor(
      'both replies reported as masqueraded by openclash_post',
      (st) => servers.every((sv) => hijacksOf(st, sv).some(attributed)),
      8000,
    );
    for (const server of servers) {
      const f = hijacksOf(s, server).find(attributed);
      assert.ok(f, `a finding for ${server} that says the masquerade`);
      assert.equal(f.rule?.chain, 'openclash_post');
      const first = f.typed_fixes?.[0];
      assert.equal(first?.kind, 'masquerade_setting', server);
      assert.deepEqual(first?.uci, [
        { op: 'set', config: 'openclash', section: 'config', option: 'bypass_gateway_compatible', value: '0' },
      ]);
      assert.match(f.fixes?.[0] ?? '', /^OpenClash: turn off "Bypass Gateway Compatible"/);
    }
  });

  it('with bypass_gateway_compatible 0 both forwards work and diagnose finds nothing at risk', async () => {
    const h = /jump openclash_post .*# handle (\d+)/.exec(
      await nft(lab, ['-a', 'list', 'chain', 'inet', 'fw4', 'srcnat']),
    );
    assert.ok(h, 'the srcnat jump');
    await nft(lab, ['-f', '-'], `delete rule inet fw4 srcnat handle ${h[1]}\ndelete chain inet fw4 openclash_post\n`);
    const tls = await lab.tlsThroughForward({ timeoutMs: 3000 });
    assert.equal(tls.ok, true, tls.detail);
    const udp = await lab.udpThroughForward({ timeoutMs: 3000 });
    assert.equal(udp.detail, udpFrom());
    const r = await lab.exec(lab.ns.side, [process.execPath, BUNDLE, 'diagnose', '--config', daemon.configPath]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
  });
});
