// Attaching the object's programs to devices: clsact first, then a direct-action filter, each
// recorded in the ledger before it exists so a crash mid-install still gets cleaned up.
import { pinnedProgram, type LoadedObject } from '../../bpf/objects.ts';
import { addClsact, attachBpfFilter, deleteClsact, type TcDirection } from '../../host/tc.ts';
import type { Lab } from '../../topology/lab.ts';

export interface Attachment {
  netns: string;
  device: string;
  direction: TcDirection;
  program: string;
}

export async function attachAll(lab: Lab, object: LoadedObject, attachments: readonly Attachment[]): Promise<void> {
  for (const a of attachments) {
    lab.record({ kind: 'tc-filter', netns: a.netns, device: a.device, direction: a.direction });
    await addClsact(a.netns, a.device);
    await attachBpfFilter(a.netns, a.device, a.direction, pinnedProgram(object, a.program));
  }
}

/** Removes the clsact qdiscs (and so every filter) of these attachments' devices. */
export async function detachAll(attachments: readonly Attachment[]): Promise<void> {
  const devices = new Map(attachments.map((a) => [`${a.netns}/${a.device}`, a] as const));
  for (const a of devices.values()) await deleteClsact(a.netns, a.device);
}
