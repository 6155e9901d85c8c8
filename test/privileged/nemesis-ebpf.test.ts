// The nemesis for the eBPF family of backends (sockmap, tc, ambient): each installed for real, its
// live state broken, and the break required to fail one named check (test/nemesis/run.ts).
import { ambientNemesis } from '../nemesis/ambient.ts';
import { nemesisSuite } from '../nemesis/run.ts';
import { sockmapNemesis } from '../nemesis/sockmap.ts';
import { tcNemesis } from '../nemesis/tc.ts';

// What the plan and the breaks run beyond each backend's own tools (test/nemesis/live.ts).
const TRAFFIC = ['iperf3', 'ss'];
nemesisSuite(sockmapNemesis, [...TRAFFIC, 'bpftool']);
nemesisSuite(tcNemesis, [...TRAFFIC, 'tc', 'sysctl', 'clang']);
nemesisSuite(ambientNemesis, [...TRAFFIC, 'iptables', 'bpftool']);
