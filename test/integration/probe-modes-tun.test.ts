// The passive probe on a real kernel, TUN modes: OpenClash TUN, and nikki (TCP redirect + UDP tun).
import { probeModeSuite } from '../lab/probe-mode-suite';

probeModeSuite('tun', 'ptun');
probeModeSuite('nikki', 'pnik');
