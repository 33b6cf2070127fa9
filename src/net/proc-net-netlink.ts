// Pure reader of /proc/net/netlink: whether a process's netlink socket has joined a multicast group.
// `nft monitor trace` prints nothing when it starts listening; its socket joining NFNLGRP_NFTRACE is the
// only sign that packets traced from now on will reach it.

/** NETLINK_NETFILTER, the protocol of nfnetlink sockets. */
export const NETLINK_NETFILTER = 12;
/** NFNLGRP_NFTRACE, nf_tables' trace events. */
export const NFNLGRP_NFTRACE = 9;

/**
 * True when /proc/net/netlink (its text) lists a socket of `protocol` with port id `pid` that has joined
 * `group` (groups 1-32 are the bits of the Groups column, group n at bit n - 1).
 */
export function hasJoinedGroup(text: string, pid: number, protocol: number, group: number): boolean {
  if (group < 1 || group > 32) return false;
  const bit = 2 ** (group - 1);
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 4 || f[0] === 'sk') continue;
    if (Number(f[1]) !== protocol || Number(f[2]) !== pid) continue;
    const groups = Number.parseInt(f[3] ?? '', 16);
    if (Number.isFinite(groups) && Math.floor(groups / bit) % 2 === 1) return true;
  }
  return false;
}
