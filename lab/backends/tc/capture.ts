// Capturing a pod: what istio-cni did when a pod joined the ambient mesh. The pod's entry goes into
// tc_pods first, then the programs go on its host veth (ingress: what it sends; egress: what it
// receives); releasing undoes both.
import { pinnedMap, type LoadedObject } from '../../bpf/objects.ts';
import { deleteMapEntry, updateMap } from '../../bpf/maps.ts';
import type { Lab, Pod } from '../../topology/lab.ts';
import { attachAll, detachAll, type Attachment } from './attach.ts';
import { deviceInfo } from './devices.ts';
import { MAP_NAMES, podKey, podValue } from './maps.ts';

export function podAttachments(pod: Pod): Attachment[] {
  return [
    { netns: pod.node.netns, device: pod.hostVeth, direction: 'ingress', program: 'app_outbound' },
    { netns: pod.node.netns, device: pod.hostVeth, direction: 'egress', program: 'app_inbound' },
  ];
}

export async function capturePod(lab: Lab, object: LoadedObject, pod: Pod): Promise<Attachment[]> {
  const [hostSide, eth0] = await Promise.all([deviceInfo(pod.node.netns, pod.hostVeth), deviceInfo(pod.netns, 'eth0')]);
  await updateMap(pinnedMap(object, MAP_NAMES.pods), podKey(pod.ip), podValue({ hostIfindex: hostSide.ifindex, mac: eth0.mac, node: pod.node.index }));
  const attachments = podAttachments(pod);
  await attachAll(lab, object, attachments);
  return attachments;
}

export async function releasePod(object: LoadedObject, pod: Pod): Promise<void> {
  await detachAll(podAttachments(pod));
  await deleteMapEntry(pinnedMap(object, MAP_NAMES.pods), podKey(pod.ip));
}
