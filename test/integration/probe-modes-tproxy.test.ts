// The passive probe on a real kernel, TPROXY modes (conntrack sees nothing of the TCP hijack here).
import { probeModeSuite } from '../lab/probe-mode-suite';

probeModeSuite('nft-tproxy', 'ptp');
probeModeSuite('passwall2-tproxy', 'ppw');
