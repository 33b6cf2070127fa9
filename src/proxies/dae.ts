// dae (and daed, its web UI, which runs dae's core): a transparent proxy in eBPF. It attaches its
// programs to the LAN interface's tc ingress, before netfilter, so the replies it takes never reach
// conntrack, the ruleset or the probe. replyguard cannot watch them; it can only say that they are there.
// Source: github.com/daeuniverse/dae, control/control_plane_core.go (bindLan: a clsact qdisc and a
// BpfFilter on HANDLE_MIN_INGRESS named AppName + "_lan_ingress" + "_l2"/"_l3"), common/consts/app.go
// (AppName = "dae"), control/kern/tproxy.c (the programs tproxy_lan_ingress_l2/_l3).

export interface EbpfProxy {
  label: string;
  /** Starts of the tc filter names it gives its programs (tc shows them as bpf_name). */
  filterNames: readonly string[];
  /** Starts of the kernel's names of its programs (15 characters at most, tc shows them as prog.name). */
  programNames: readonly string[];
  /** Its processes' names (/proc/PID/comm), which hold the programs while it runs. */
  processes: readonly string[];
}

export const DAE: EbpfProxy = {
  label: 'dae',
  filterNames: ['dae_'],
  programNames: ['tproxy_lan_', 'tproxy_wan_', 'tproxy_dae0'],
  processes: ['dae', 'daed'],
};

export const EBPF_PROXIES: readonly EbpfProxy[] = [DAE];
