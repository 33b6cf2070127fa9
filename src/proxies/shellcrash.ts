// ShellCrash (juewuy/ShellCrash): scripts/starts/fw_nftables.sh makes table inet shellcrash, fw_iptables.sh
// the shellcrash* chains; redir port 7892 (the same default as OpenClash), TUN device utun.

import type { ProxyModule } from './proxy-module';

export const SHELLCRASH: ProxyModule = {
  name: 'shellcrash',
  label: 'ShellCrash',
  tables: ['shellcrash'],
  chains: /^shellcrash/,
  ports: [
    {
      port: 7892,
      natChains: [
        { proxy: 'ShellCrash', firewall: 'fw4', table: 'inet shellcrash', chain: 'prerouting' },
        { proxy: 'ShellCrash', firewall: 'fw3', table: 'nat', chain: 'shellcrash' },
      ],
    },
  ],
  tunDevices: ['utun'],
};
