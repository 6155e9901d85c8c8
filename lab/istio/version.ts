// The Istio releases whose generated rules the lab reproduces. Each line is pinned to one release tag
// of istio/istio; lab/istio/testdata/istio-<tag>/ holds that release's own golden output, and the
// conformance tests (test/unit/istio-*-conformance.test.ts) compare the lab's generators with it.

/** Release lines with different sidecar rules. '1.30' stands for 1.25 to 1.30: see ISTIO_RELEASES. */
export const ISTIO_LINES = ['1.24', '1.30'] as const;
export type IstioLine = (typeof ISTIO_LINES)[number];

/** The newest release line in the istio/istio snapshot the lab was checked against (1.31 was at rc.0). */
export const CURRENT_ISTIO_LINE: IstioLine = '1.30';

export interface IstioRelease {
  line: IstioLine;
  /** The release tag the golden files were copied from. */
  tag: string;
  commit: string;
  /** The minor versions that generate the same sidecar iptables rules as `tag`. */
  sameRulesAs: string;
}

export const ISTIO_RELEASES: Record<IstioLine, IstioRelease> = {
  // Istio 1.25.0 dropped `-p tcp` from `-A OUTPUT -j ISTIO_OUTPUT` (so UDP reaches ISTIO_OUTPUT too) and
  // gave every excluded outbound port a UDP RETURN beside the TCP one. The goldens the lab uses are
  // byte-identical from 1.25.0 to 1.30.3 (`git diff --stat 1.25.0 1.30.3 -- <those files>` is empty).
  '1.30': { line: '1.30', tag: '1.30.3', commit: '56df41f63e513f834c9a3af33d8aed82d1d961f2', sameRulesAs: '1.25 to 1.30' },
  '1.24': { line: '1.24', tag: '1.24.6', commit: '734e100e0cfbc22f431613b49b8932a700da6b35', sameRulesAs: '1.24' },
};

/**
 * Native nftables for sidecars (`values.global.nativeNftables`) arrived in Istio 1.27; a counter on
 * every rule arrived in 1.28 (istio/istio#57216). The lab generates it as 1.30.3 does; the nftables
 * goldens it uses are byte-identical from 1.28.0 to 1.30.3.
 */
export const ISTIO_NFTABLES_RELEASE = { tag: '1.30.3', commit: ISTIO_RELEASES['1.30'].commit, sameRulesAs: '1.28 to 1.30' } as const;

/** True for the Istio versions whose native nftables rules the lab generates (1.28 to 1.30). */
export function reproducesNativeNftables(version: string): boolean {
  const minor = Number(/^1\.(\d+)(?:\.\d+)?$/.exec(version.trim())?.[1]);
  return minor >= 28 && minor <= 30;
}

/**
 * The line whose rules a given Istio minor version generates, for backend options such as
 * `istioVersion: '1.27'`. Accepts "1.N" or "1.N.P"; throws for versions the lab has no goldens for.
 */
export function istioLineOf(version: string): IstioLine {
  const match = /^1\.(\d+)(?:\.\d+)?$/.exec(version.trim());
  const minor = match ? Number(match[1]) : NaN;
  if (minor === 24) return '1.24';
  if (minor >= 25 && minor <= 30) return '1.30';
  throw new Error(`istioVersion ${JSON.stringify(version)}: the lab reproduces Istio 1.24 and 1.25 to 1.30 (rules of ${ISTIO_RELEASES['1.30'].tag})`);
}

/** One line for verify output and reports, e.g. "Istio 1.30 (rules of 1.30.3, 56df41f)". */
export function describeIstioLine(line: IstioLine): string {
  const release = ISTIO_RELEASES[line];
  return `Istio ${release.line} (rules of ${release.tag}, ${release.commit.slice(0, 7)})`;
}

/** One line for the native nftables flavours, e.g. "Istio 1.28 to 1.30 native nftables (rules of 1.30.3, 56df41f)". */
export function describeIstioNftables(): string {
  return `Istio ${ISTIO_NFTABLES_RELEASE.sameRulesAs} native nftables (rules of ${ISTIO_NFTABLES_RELEASE.tag}, ${ISTIO_NFTABLES_RELEASE.commit.slice(0, 7)})`;
}
