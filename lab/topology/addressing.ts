// Addresses and names. Everything comes from 198.18.0.0/15, the range RFC 2544 sets aside for
// benchmarking: node N's pods live in 198.18.N.0/24 behind gateway 198.18.N.1, and the underlay
// that joins the nodes is 198.19.0.0/24.
export const LAB_RANGE = '198.18.0.0/15';
export const MAX_PODS_PER_NODE = 240;
export const MAX_NODES = 2;
export const IFNAMSIZ_MAX = 15;

export const nodeGateway = (nodeIndex: number) => `198.18.${nodeIndex}.1`;
export const nodePodCidr = (nodeIndex: number) => `198.18.${nodeIndex}.0/24`;
export const underlayAddress = (nodeIndex: number) => `198.19.0.${nodeIndex}`;
/** Pods are numbered from 0 on each node; .1 is the gateway, so pod 0 is .10. */
export const podAddress = (nodeIndex: number, podIndex: number) => `198.18.${nodeIndex}.${10 + podIndex}`;

/** The node-side veth of a pod, like a CNI's host interface (must fit IFNAMSIZ). */
export const hostVethName = (podName: string) => `veth-${podName}`;
export const UNDERLAY_DEVICE = 'underlay';
export const POD_DEVICE = 'eth0';

export const netnsName = (runId: string, objectName: string) => `lab-${runId}-${objectName}`;

/** True when the address lies in 198.18.0.0/15. */
export function inLabRange(address: string): boolean {
  const octets = address.split('.').map(Number);
  return octets.length === 4 && octets.every((o) => Number.isInteger(o) && o >= 0 && o <= 255) && octets[0] === 198 && (octets[1] === 18 || octets[1] === 19);
}
