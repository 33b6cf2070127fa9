// hasJoinedGroup on /proc/net/netlink text: the readiness sign `replyguard trace` waits for.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { hasJoinedGroup, NETLINK_NETFILTER, NFNLGRP_NFTRACE } from '../../../src/net/proc-net-netlink';

// As the kernel prints it (columns sk Eth Pid Groups …); pid 4242 is an nft monitor trace that has joined
// group 9 (bit 8, 0x100), 4243 an nft monitor of ruleset changes (NFNLGRP_NFTABLES = 7, 0x40).
const TEXT = `sk               Eth Pid        Groups   Rmem     Wmem     Dump  Locks    Drops    Inode
000000009a0d4796 0   0          00000000 0        0        0     2        0        4
00000000aa0d4796 12  4242       00000100 0        0        0     2        0        9001
00000000bb0d4796 12  4243       00000040 0        0        0     2        0        9002
00000000cc0d4796 16  4242       00000100 0        0        0     2        0        9003
`;

describe('hasJoinedGroup (/proc/net/netlink)', () => {
  it('finds the nfnetlink socket of a pid that joined the trace group', () => {
    assert.equal(hasJoinedGroup(TEXT, 4242, NETLINK_NETFILTER, NFNLGRP_NFTRACE), true);
  });
  it('another group, another protocol or another pid is not it', () => {
    assert.equal(hasJoinedGroup(TEXT, 4243, NETLINK_NETFILTER, NFNLGRP_NFTRACE), false);
    assert.equal(hasJoinedGroup(TEXT, 4243, NETLINK_NETFILTER, 7), true);
    assert.equal(hasJoinedGroup(TEXT, 4242, 16, 7), false);
    assert.equal(hasJoinedGroup(TEXT, 9999, NETLINK_NETFILTER, NFNLGRP_NFTRACE), false);
    assert.equal(hasJoinedGroup(TEXT, 4242, NETLINK_NETFILTER, 0), false);
  });
  it('never throws on any text', () => {
    fc.assert(
      fc.property(fc.string(), fc.integer(), fc.integer(), (t, pid, g) => {
        hasJoinedGroup(t, pid, NETLINK_NETFILTER, g);
      }),
    );
  });
});
