// Capturing a pod: what istio-cni did when a pod joined the ambient mesh. The pod's entry goes into
// the map first, then the programs go on its host veth (egress + ingress); releasing undoes both.
import type { LoadedObject } from '../../bpf/objects.ts';
import type { Pod } from '../../topology/lab.ts';
import type { Lab } from '../../topology/lab.ts';
import { attachAll, detachAll, type Attachment } from './attach.ts';
import { deviceInfo } from './devices.ts';
import { deleteMapEntry, encodePod, ipv4Bytes, MAP_NAMES, updateMap } from './maps.ts';
import { mapPath } from './node-proxy.ts';

export function podAttachments(pod: Pod): Attachment[] {
  return [
    { netns: pod.node.netns, device: pod.hostVeth, direction: 'ingress', program: 'app_outbound' },
    { netns: pod.node.netns, device: pod.hostVeth, direction: 'egress', program: 'app_inbound' },
  ];
}

export async function capturePod(lab: Lab, object: LoadedObject, pod: Pod): Promise<Attachment[]> {
  const [hostSide, eth0] = await Promise.all([deviceInfo(pod.node.netns, pod.hostVeth), deviceInfo(pod.netns, 'eth0')]);
  await updateMap(mapPath(object, MAP_NAMES.pods), ipv4Bytes(pod.ip), encodePod({ hostIfindex: hostSide.ifindex, mac: eth0.mac, node: pod.node.index }));
  const attachments = podAttachments(pod);
  await attachAll(lab, object, attachments);
  return attachments;
}

export async function releasePod(object: LoadedObject, pod: Pod): Promise<void> {
  await detachAll(podAttachments(pod));
  await deleteMapEntry(mapPath(object, MAP_NAMES.pods), ipv4Bytes(pod.ip));
}
