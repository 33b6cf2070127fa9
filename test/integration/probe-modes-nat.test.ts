// The passive probe on a real kernel, nat REDIRECT modes: OpenClash fw4 fake-ip (TCP REDIRECT + UDP
// TPROXY) and plain nft REDIRECT. conntrack catches the TCP hijack too; the probe agrees (3 in, 2 out).
import { probeModeSuite } from '../lab/probe-mode-suite';

probeModeSuite('openclash-fw4-fakeip', 'pfak');
probeModeSuite('nft-redirect', 'pred');
