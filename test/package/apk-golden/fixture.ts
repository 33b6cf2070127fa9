// Fixed packages the apk golden files are made from (test/package/apk-golden/regenerate.ts), so that they do not
// change with the bundle or the LuCI app: a package with a conffile, an executable, an empty file, its
// own postinst/prerm (with "#!" lines OpenWrt drops), a dependency with a data block over 64 KiB, and libc.

import type { PackageSpec } from '../../../openwrt/tools/ipk';

export const FIXTURE_MTIME = 1_700_000_000;

const spec = (s: Partial<PackageSpec> & Pick<PackageSpec, 'name' | 'version' | 'files'>): PackageSpec => ({
  depends: ['libc'],
  source: 'feeds/replyguard/test',
  license: 'MIT',
  section: 'net',
  maintainer: 'replyguard tests',
  description: `Fixture ${s.name} for the apk golden files`,
  ...s,
});

export const FIXTURES: readonly PackageSpec[] = [
  spec({
    name: 'rg-fixture',
    version: '1.2.3-r4',
    depends: ['libc', 'rg-fixture-data'],
    description: '  A fixture   with\n  a description on two lines ',
    url: 'https://example.org/rg-fixture',
    files: [
      { path: '/usr/sbin/rg-fixture', data: Buffer.from(`#!/bin/sh\n${'echo fixture\n'.repeat(30)}`), mode: 0o755 },
      { path: '/etc/config/rg-fixture', data: Buffer.from("config main 'main'\n\toption enabled '1'\n"), mode: 0o600 },
      { path: '/etc/rg-fixture/empty', data: Buffer.alloc(0), mode: 0o644 },
    ],
    conffiles: ['/etc/config/rg-fixture'],
    postinstPkg: `#!/bin/sh\n[ -n "\${IPKG_INSTROOT}" ] || echo installed\nexit 0\n`,
    prermPkg: '#!/bin/sh\necho removing\n',
  }),
  spec({
    name: 'rg-fixture-data',
    version: '1.0.0-r1',
    files: [
      {
        path: '/usr/share/rg-fixture/data.bin',
        data: Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 7) & 0xff)),
        mode: 0o644,
      },
    ],
  }),
  spec({ name: 'libc', version: '1.2.5-r1', depends: [], files: [] }),
];
