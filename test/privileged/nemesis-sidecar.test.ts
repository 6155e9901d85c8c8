// The nemesis of the sidecar family and the baseline: each backend installed for real, broken live
// (test/nemesis/<backend>.ts), and verify required to fail the named check with a detail naming the break.
import { nemesis as none } from '../nemesis/none.ts';
import { nemesis as redirectNft } from '../nemesis/redirect-nft.ts';
import { nemesis as redirect } from '../nemesis/redirect.ts';
import { nemesis as tproxyNft } from '../nemesis/tproxy-nft.ts';
import { nemesis as tproxy } from '../nemesis/tproxy.ts';
import { nemesisSuite } from '../nemesis/run.ts';

const TRAFFIC = ['haproxy', 'iperf3', 'ss'];

nemesisSuite(none, [...TRAFFIC, 'iptables']);
nemesisSuite(redirect, [...TRAFFIC, 'iptables']);
nemesisSuite(redirectNft, [...TRAFFIC, 'nft', 'iptables']);
nemesisSuite(tproxy, [...TRAFFIC, 'iptables', 'ip', 'sysctl']);
nemesisSuite(tproxyNft, [...TRAFFIC, 'nft', 'ip', 'sysctl']);
