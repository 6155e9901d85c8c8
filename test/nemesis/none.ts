// The baseline's nemesis: nothing may stand between the client and the server, so anything put on
// the path (a rule in a pod, a native nft table, a proxy, a node's NAT, a neighbour's firewall) must
// fail one of none's checks.
import { startSidecars } from '../../lab/proxy/sidecar.ts';
import type { CapturedPair } from '../../lab/verify/setup.ts';
import type { Nemesis } from './break.ts';
import { all, iptables, nft } from './support/sidecar.ts';

/** A node's iptables rule (the node is a lab namespace; never the root one). */
const inClientNode =
  (...args: string[]) =>
  async (pair: CapturedPair): Promise<void> => {
    await pair.lab.exec(pair.client.node, 'iptables', args);
  };

export const nemesis: Nemesis = {
  backend: 'none',
  breaks: [
    {
      name: "a REDIRECT rule in the server pod's nat PREROUTING",
      apply: iptables('server', 'nat', '-A', 'PREROUTING', '-p', 'tcp', '--dport', '8080', '-j', 'REDIRECT', '--to-ports', '8080'),
      caughtBy: { check: 'no-iptables-rules-in-pods', detail: /server: [1-9]\d* iptables rules/ },
    },
    {
      name: "a native nftables table hooked into the client pod's output",
      apply: all(nft('client', 'add', 'table', 'inet', 'neighbour'), nft('client', 'add', 'chain', 'inet', 'neighbour', 'out', '{ type filter hook output priority 0 ; }'), nft('client', 'add', 'rule', 'inet', 'neighbour', 'out', 'counter')),
      caughtBy: { check: 'no-iptables-rules-in-pods', detail: /client: 0 iptables rules, nft tables inet neighbour/ },
    },
    {
      name: 'a stray proxy in the server pod, fed by a REDIRECT of :8080 to it',
      apply: async (pair) => {
        await startSidecars(pair.lab, [pair.server]);
        await iptables('server', 'nat', '-A', 'PREROUTING', '-p', 'tcp', '--dport', '8080', '-j', 'REDIRECT', '--to-ports', '15006')(pair);
      },
      caughtBy: { check: 'app-sees-client-directly', detail: /not from the client: :8080 from 127\.0\.0\.6/ },
      alsoFailing: ['no-iptables-rules-in-pods'],
    },
    {
      name: "the client's node MASQUERADEs pod traffic",
      apply: (pair) => inClientNode('-t', 'nat', '-A', 'POSTROUTING', '-s', `${pair.client.ip}/32`, '-j', 'MASQUERADE')(pair),
      caughtBy: { check: 'app-sees-client-directly', detail: /not from the client: :8080 from 198\.18\./ },
    },
    {
      name: "a neighbour's firewall DROPs :8083 in the client pod's OUTPUT",
      apply: iptables('client', 'filter', '-A', 'OUTPUT', '-p', 'tcp', '--dport', '8083', '-j', 'DROP'),
      caughtBy: { check: 'probes-echoed', detail: /outside-cgroup: 198\.18\.\S+:8083 failed/ },
      alsoFailing: ['no-iptables-rules-in-pods'],
    },
  ],
};
