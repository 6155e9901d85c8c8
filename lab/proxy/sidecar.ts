// The Istio-style sidecar every sidecar backend runs in each captured pod: HAProxy as UID 1337,
// outbound listener on 15001, inbound listener on 15006 handing connections to the app from
// 127.0.0.6. TPROXY mode makes the inbound listener transparent.
import { ISTIO_PORTS } from '../istio/ports.ts';
import type { Lab, Pod } from '../topology/lab.ts';
import type { ProxySpec } from './haproxy-config.ts';
import { RunningProxy } from './proxy.ts';

export const OUTBOUND_LISTENER = 'outbound';
export const INBOUND_LISTENER = 'inbound';

export function sidecarSpec(options: { transparentInbound?: boolean } = {}): ProxySpec {
  return {
    uid: ISTIO_PORTS.proxyUid,
    listeners: [
      { name: OUTBOUND_LISTENER, port: ISTIO_PORTS.outboundCapture },
      { name: INBOUND_LISTENER, port: ISTIO_PORTS.inboundCapture, upstreamSource: ISTIO_PORTS.inboundPassthroughSource, transparent: options.transparentInbound ?? false },
    ],
  };
}

/** Starts one sidecar per pod, in parallel; resolves once all listen. */
export async function startSidecars(lab: Lab, pods: readonly Pod[], options: { transparentInbound?: boolean } = {}): Promise<Map<string, RunningProxy>> {
  const proxies = await Promise.all(pods.map((pod) => RunningProxy.start(lab, pod, sidecarSpec(options))));
  return new Map(proxies.map((p) => [p.pod.name, p]));
}
