// Stand-ins for the OpenWrt packages the rig's image lacks and replyguard depends on. They hold no
// files: the binaries are the host's, bound into the tree by the rig (test/openwrt/rig.ts), and the
// kernel module is the host kernel's own. Only their names and versions are OpenWrt's.

import { buildIpk, type PackageSpec } from '../../openwrt/tools/ipk';

const standIn = (name: string, version: string, what: string, postinst?: string): PackageSpec => ({
  name,
  version,
  // OpenWrt's packages all depend on libc (opkg's parser also crashes on an empty Depends line).
  depends: ['libc'],
  source: 'test/openwrt/stand-ins.ts',
  license: 'MIT',
  section: 'stand-in',
  maintainer: 'replyguard tests',
  description: `Stand-in for OpenWrt's ${name} (test rig only): ${what}`,
  files: [],
  ...(postinst ? { postinstPkg: postinst } : {}),
});

/** OpenWrt 23.05's versions of the packages replyguard's Depends names. */
export const STAND_INS: readonly PackageSpec[] = [
  standIn('node', '20.20.2-r1', "the host's node is bound at /usr/bin/node"),
  standIn('conntrack', '1.4.7-r1', "the host's conntrack is bound at /usr/sbin/conntrack"),
  standIn('kmod-nf-conntrack-netlink', '5.15.137-r1', "the host kernel's ctnetlink"),
  // ip-full puts /sbin/ip on its binary through opkg's alternatives (priority 300 over BusyBox's link).
  standIn(
    'ip-full',
    '6.3.0-r1',
    "the host's iproute2 ip is bound at /usr/libexec/ip-full",
    ['#!/bin/sh', '[ -n "$IPKG_INSTROOT" ] || ln -sf /usr/libexec/ip-full /sbin/ip', 'exit 0', ''].join('\n'),
  ),
];

export function standInIpks(mtime: number): Array<{ name: string; data: Buffer }> {
  return STAND_INS.map((spec) => ({ name: `${spec.name}_${spec.version}_all.ipk`, data: buildIpk(spec, mtime) }));
}
