// The lab's default sidecar pod against the closest Istio golden, istio-cni's sidecar plugin
// (cni/pkg/plugin/testdata/{basic,tproxy}.txt.golden): the two ways in which they differ, as code, so
// that a test can turn the golden into the lab's expected rules and a third difference cannot hide.
// Both stem from the inputs, not the generator: istio-cni's plugin passes `-d 15020,15021,15090
// -o 15020`, the injector's istio-init passes `-d 15090,15021,15020` and no -o. Works on rule text in
// Istio's own form and in iptables-save's canonical form alike.
import type { IptablesChains } from './iptables-replay.ts';

export interface DocumentedDifference {
  name: string;
  why: string;
  apply(chains: IptablesChains): IptablesChains;
}

const EXCLUDED_INBOUND = /--dport (15020|15021|15090) -j RETURN$/;
const INJECTOR_ORDER = ['15090', '15021', '15020'];

/** The same table with one chain's rules replaced. */
function withChain(chains: IptablesChains, table: string, chain: string, rules: string[]): IptablesChains {
  return { ...chains, [table]: { ...chains[table], [chain]: rules } };
}

export const LAB_DEFAULT_DIFFERENCES: readonly DocumentedDifference[] = [
  {
    name: 'excluded-inbound-port-order',
    why: "the injector's istio-init passes -d 15090,15021,15020; istio-cni's plugin passes 15020,15021,15090. The rules keep the order given.",
    apply(chains) {
      // ISTIO_INBOUND lives in nat (REDIRECT mode) or mangle (TPROXY mode): reorder wherever the three are.
      let result = chains;
      for (const [table, tableChains] of Object.entries(chains)) {
        const rules = tableChains.ISTIO_INBOUND;
        if (!rules || rules.filter((r) => EXCLUDED_INBOUND.test(r)).length !== 3) continue;
        const excluded = rules.filter((r) => EXCLUDED_INBOUND.test(r));
        const reordered = INJECTOR_ORDER.map((port) => excluded.find((r) => EXCLUDED_INBOUND.exec(r)![1] === port)!);
        let next = 0;
        result = withChain(result, table, 'ISTIO_INBOUND', rules.map((r) => (EXCLUDED_INBOUND.test(r) ? reordered[next++]! : r)));
      }
      return result;
    },
  },
  {
    name: 'no-excluded-outbound-port',
    why: "istio-cni's plugin excludes outbound 15020 (-o 15020: a TCP and a UDP RETURN atop ISTIO_OUTPUT); the injector's istio-init excludes no outbound port.",
    apply(chains) {
      const output = chains.nat?.ISTIO_OUTPUT;
      return output ? withChain(chains, 'nat', 'ISTIO_OUTPUT', output.filter((r) => !/--dport 15020 -j RETURN$/.test(r))) : chains;
    },
  },
];

/** The golden's chains turned into the lab default's, by every documented difference in turn. */
export function applyLabDefaultDifferences(chains: IptablesChains): IptablesChains {
  return LAB_DEFAULT_DIFFERENCES.reduce((acc, difference) => difference.apply(acc), chains);
}
