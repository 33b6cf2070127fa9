// guard = auto across a proxy restart, nat REDIRECT modes (see guard-auto-suite.ts).
import { guardAutoSuite } from './guard-auto-suite';

guardAutoSuite([
  'iptables-redirect',
  'openclash-fw3',
  'nft-redirect',
  'openclash-fw4-fakeip',
  'passwall',
  'shellcrash',
  'nikki',
]);
