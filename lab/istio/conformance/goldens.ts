// Istio's own generated rules, copied byte for byte from istio/istio at a release tag into
// lab/istio/testdata/istio-<tag>/ (the README there says which file came from which path and which
// configuration produced it). Each golden is named here with the configuration it corresponds to.
import { readFileSync } from 'node:fs';
import { ambientInpodConfig, ISTIO_HOST_PROBE_SNAT_ADDRESS, type AmbientInpodConfig } from '../ambient.ts';
import { DEFAULT_CAPTURE, DEFAULT_TPROXY_CAPTURE, type IstioCaptureConfig, type TproxyCaptureConfig } from '../sidecar-config.ts';
import { ISTIO_RELEASES, type IstioLine } from '../version.ts';

export function readGolden(line: IstioLine, path: string): string {
  return readFileSync(new URL(`../testdata/istio-${ISTIO_RELEASES[line].tag}/${path}`, import.meta.url), 'utf8');
}

/**
 * The istio-iptables configuration of each Istio test case the lab's generators can express, as
 * written in Istio's tests at the tag (tools/istio-iptables/pkg/capture/run_test.go: constructTestConfig
 * plus the case; cni/pkg/plugin/plugin_dryrun_test.go for istio-cni's sidecar plugin, whose pod has
 * no traffic annotations, so the plugin's defaults apply (cni/pkg/plugin/sidecar_redirect.go): -b '*',
 * -i '*', -o 15020, and -d 15020,15021,15090, the list the plugin appends to every pod's exclusions).
 */
export function sidecarGoldenConfig(line: IstioLine, name: SidecarGolden): { mode: 'REDIRECT' | 'TPROXY'; config: IstioCaptureConfig | TproxyCaptureConfig } {
  const base: IstioCaptureConfig = { ...DEFAULT_CAPTURE, istioVersion: line, inboundPortsInclude: '', outboundIpRangesInclude: '', excludedInboundPorts: [] };
  const cniPlugin: IstioCaptureConfig = { ...base, inboundPortsInclude: '*', outboundIpRangesInclude: '*', excludedInboundPorts: [15020, 15021, 15090], excludedOutboundPorts: [15020] };
  switch (name) {
    case 'empty':
      return { mode: 'REDIRECT', config: base };
    case 'inbound-ports-wildcard':
      return { mode: 'REDIRECT', config: { ...base, inboundPortsInclude: '*' } };
    case 'inbound-ports-wildcard-tproxy':
      return { mode: 'TPROXY', config: { ...DEFAULT_TPROXY_CAPTURE, ...base, inboundPortsInclude: '*' } };
    case 'cni-basic':
      return { mode: 'REDIRECT', config: cniPlugin };
    case 'cni-tproxy':
      return { mode: 'TPROXY', config: { ...DEFAULT_TPROXY_CAPTURE, ...cniPlugin } };
  }
}

export const SIDECAR_GOLDENS = ['empty', 'inbound-ports-wildcard', 'inbound-ports-wildcard-tproxy', 'cni-basic', 'cni-tproxy'] as const;
export type SidecarGolden = (typeof SIDECAR_GOLDENS)[number];

/** Where each sidecar golden lives under testdata/istio-<tag>/ (iptables and, for 1.30, nftables). */
export function sidecarGoldenPath(name: SidecarGolden, flavour: 'iptables' | 'nftables'): string | undefined {
  if (name === 'cni-basic' || name === 'cni-tproxy') return flavour === 'iptables' ? `istio-cni-sidecar/${name.slice(4)}.txt.golden` : undefined;
  return flavour === 'iptables' ? `istio-iptables/${name}.golden` : `istio-nftables/${name}.golden`;
}

/** Ambient in-pod goldens (cni/pkg/iptables/testdata): DNS capture on (default) and off for the pod. */
export function ambientGoldenConfig(name: 'default' | 'dns_pod_disabled_and_on_globally'): AmbientInpodConfig {
  return ambientInpodConfig(ISTIO_HOST_PROBE_SNAT_ADDRESS, { captureDns: name === 'default' });
}

/**
 * The first restore input of an Istio iptables golden, as istio-iptables feeds it to iptables-restore
 * (`* nat`, `-N`, `-A`, `-I`, `COMMIT`): the stub's recorded `iptables-save` lines dropped, and the
 * IPv6 input, which starts where a table repeats, cut off.
 */
export function goldenRestoreInput(text: string): string {
  const kept: string[] = [];
  const seen = new Set<string>();
  for (const line of text.split('\n')) {
    if (line === 'iptables-save' || line === 'ip6tables-save') continue;
    const header = /^\* ?(\S+)$/.exec(line);
    if (header) {
      if (seen.has(header[1]!)) break;
      seen.add(header[1]!);
    }
    kept.push(line);
  }
  return kept.join('\n') + '\n';
}
