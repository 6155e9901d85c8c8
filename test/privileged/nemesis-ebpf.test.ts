// The nemesis for the eBPF family of backends (sockmap, tc, ambient): each installed for real, its
// live state broken, and the break required to fail one named check (test/nemesis/run.ts).
import { ambientNemesis } from '../nemesis/ambient.ts';
import { nemesisSuite } from '../nemesis/run.ts';
import { sockmapNemesis } from '../nemesis/sockmap.ts';
import { tcNemesis } from '../nemesis/tc.ts';

nemesisSuite(sockmapNemesis);
nemesisSuite(tcNemesis);
nemesisSuite(ambientNemesis);
