// The two facts the tc programs need about a device: its ifindex (bpf_redirect's target, only
// meaningful inside its own namespace) and its MAC (the destination the redirected frame carries).
import { ipJson } from '../../host/ip.ts';

export interface DeviceInfo {
  ifindex: number;
  mac: string;
}

export async function deviceInfo(netns: string, device: string): Promise<DeviceInfo> {
  const [link] = await ipJson<Array<{ ifindex: number; address: string }>>(['link', 'show', 'dev', device], netns);
  if (!link) throw new Error(`no device ${device} in ${netns}`);
  return { ifindex: link.ifindex, mac: link.address };
}
