// Which Istio release a sidecar backend's rules are, and the Istio line a user-chosen version maps to
// (`lab verify --istio-version`). The iptables flavour generates the 1.24 line's rules or the 1.30
// line's (1.25 to 1.30); the native nftables flavour only 1.28 to 1.30's.
import { UsageError } from '../errors.ts';
import type { RulesFlavour } from '../istio/rule-ids.ts';
import { describeIstioLine, describeIstioNftables, istioLineOf, ISTIO_NFTABLES_RELEASE, reproducesNativeNftables, type IstioLine } from '../istio/version.ts';

/** The Istio line whose rules `version` generates; a UsageError, naming the versions there are, for others. */
function istioLineForVersion(version: string): IstioLine {
  try {
    return istioLineOf(version);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** The descriptor's `istio` text for a sidecar backend of this flavour generating `line`'s rules. */
export function sidecarIstioText(flavour: RulesFlavour, line: IstioLine): string {
  return flavour === 'nftables' ? describeIstioNftables() : describeIstioLine(line);
}

/** The Istio line whose rules a sidecar backend of this flavour installs for `version`; a UsageError if it has none. */
export function sidecarLineFor(flavour: RulesFlavour, version: string): IstioLine {
  const line = istioLineForVersion(version);
  if (flavour === 'nftables' && !reproducesNativeNftables(version)) {
    const minor = Number(/^1\.(\d+)/.exec(version.trim())?.[1]);
    const why = minor >= 27 ? `Istio ${version}'s native nftables rules have no per-rule counters (added in 1.28)` : `Istio ${version} has no native nftables mode (it arrived in 1.27)`;
    throw new UsageError(`${why}; the nftables flavours reproduce Istio ${ISTIO_NFTABLES_RELEASE.sameRulesAs} only. Use the iptables flavour (redirect or tproxy) for Istio ${version}`);
  }
  return line;
}
