// guard = auto across a proxy restart, TPROXY and TUN modes (see guard-auto-suite.ts).
import { guardAutoSuite } from './guard-auto-suite';

guardAutoSuite(['nft-tproxy', 'tun', 'passwall2-tproxy']);
