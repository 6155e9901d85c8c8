// What an installed tc backend holds: the loaded object, the proxy-side steering in use, one node
// proxy per node with captured pods, the captured pods, and the trace reader started before traffic.
import type { LoadedObject } from '../../bpf/objects.ts';
import type { TraceReader } from '../../evidence/trace-pipe.ts';
import type { Pod } from '../../topology/lab.ts';
import type { Attachment } from './attach.ts';
import { podAttachments } from './capture.ts';
import type { NodeProxy } from './node-proxy.ts';
import type { ProxySteering } from './steering.ts';

export class TcState {
  constructor(
    readonly object: LoadedObject,
    readonly steering: ProxySteering,
    readonly proxies: Map<string, NodeProxy>,
    readonly captured: Pod[],
    readonly trace: TraceReader,
  ) {}

  /** The node proxy serving a pod's node. */
  proxyOf(pod: Pod): NodeProxy {
    const proxy = this.proxies.get(pod.node.name);
    if (!proxy) throw new Error(`node ${pod.node.name} has no node proxy (is ${pod.name} captured?)`);
    return proxy;
  }

  /** Every filter the backend attached: the proxies' and the captured pods'. */
  attachments(): Attachment[] {
    return [...[...this.proxies.values()].flatMap((p) => p.attachments), ...this.captured.flatMap(podAttachments)];
  }
}
