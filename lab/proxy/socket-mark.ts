// Marking every socket a proxy creates (SO_MARK), for proxies that must mark their own traffic but
// cannot mark all of their sockets themselves. ztunnel, in Istio ambient's in-pod mode, sets SO_MARK
// 0x539 on its listeners and on the connections it opens; the packaged HAProxy 2.6 can mark only the
// client side of a connection (`tcp-request connection set-mark`; `haproxy -c` rejects `set-bc-mark`
// and a server `set-mark`). bpf/proxy/socket_mark.bpf.c, a cgroup/sock_create program attached to the
// proxy's own cgroup, sets the mark as each IPv4/IPv6 socket is created, whatever netns the proxy
// creates it in.
import { loadObject, pinnedMap, pinnedProgram, type LoadedObject } from '../bpf/objects.ts';
import { readCounters, updateMap } from '../bpf/maps.ts';
import { attachCgroupProgram, detachCgroupProgram } from '../host/bpftool.ts';
import type { Lab, Pod } from '../topology/lab.ts';

const OBJECT = 'socket_mark';
const PROGRAM = 'proxy_socket_mark';
const ATTACH_TYPE = 'sock_create';
const CONFIG_MAP = 'socket_mark_config';
const COUNTER_MAP = 'socket_mark_counters';

/** The program's counters, in the order of its enum. */
export const SOCKET_MARK_COUNTERS = ['marked', 'not_configured'] as const;
export type SocketMarkCounters = Record<(typeof SOCKET_MARK_COUNTERS)[number], number>;

export class SocketMarker {
  private readonly attached = new Set<string>();

  private constructor(
    private readonly object: LoadedObject,
    readonly mark: number,
  ) {}

  /** Loads the program with its mark written, ready to attach; the run's teardown unpins it. */
  static async load(lab: Lab, mark: number): Promise<SocketMarker> {
    if (!Number.isInteger(mark) || mark <= 0 || mark > 0xffffffff) throw new Error(`a socket mark is a non-zero 32-bit value, not ${mark}`);
    const object = await loadObject(lab, OBJECT);
    await updateMap(pinnedMap(object, CONFIG_MAP), 0, { mark });
    return new SocketMarker(object, mark);
  }

  /**
   * Marks every socket created from now on by a process in this pod's cgroup. Attach before the proxy
   * starts: sockets created earlier keep no mark. The ledger detaches it however the run ends.
   */
  async attach(lab: Lab, pod: Pod): Promise<void> {
    const program = pinnedProgram(this.object, PROGRAM);
    lab.record({ kind: 'cgroup-bpf', cgroupDir: pod.cgroupDir, attachType: ATTACH_TYPE, program });
    await attachCgroupProgram(pod.cgroupDir, ATTACH_TYPE, program);
    this.attached.add(pod.cgroupDir);
  }

  /** Sockets marked so far, over every cgroup it is attached to (and sockets created before the mark was written). */
  counters(): Promise<SocketMarkCounters> {
    return readCounters(pinnedMap(this.object, COUNTER_MAP), SOCKET_MARK_COUNTERS);
  }

  async detach(): Promise<void> {
    const program = pinnedProgram(this.object, PROGRAM);
    for (const cgroupDir of [...this.attached]) {
      await detachCgroupProgram(cgroupDir, ATTACH_TYPE, program);
      this.attached.delete(cgroupDir);
    }
  }
}
