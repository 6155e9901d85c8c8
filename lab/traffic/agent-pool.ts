// One agent per (place, identity), started on first use and listening on whatever ports were asked
// for: the verify plan and scenario steps share them instead of starting a process per probe.
import type { Lab, Place } from '../topology/lab.ts';
import { Agent } from './agent.ts';

export interface AgentIdentity {
  uid?: number;
  /** With `uid`: the GID (default: the same number). */
  gid?: number;
  /** false: in the pod's netns but outside its cgroup (cgroup BPF must not see it). */
  inCgroup?: boolean;
}

export class AgentPool {
  private readonly agents = new Map<string, Promise<Agent>>();
  private readonly listening = new Map<string, Promise<void>>();

  constructor(private readonly lab: Lab) {}

  agent(place: Place, identity: AgentIdentity = {}): Promise<Agent> {
    const key = `${place.kind}:${place.name}:${identity.uid ?? '-'}:${identity.gid ?? '-'}:${identity.inCgroup ?? true}`;
    let agent = this.agents.get(key);
    if (!agent) {
      agent = Agent.start(this.lab, place, identity);
      this.agents.set(key, agent);
    }
    return agent;
  }

  /** Makes the place's app listen on host:port (once; later calls are no-ops). */
  async listen(place: Place, host: string, port: number): Promise<void> {
    const key = `${place.name}:${host}:${port}`;
    let listening = this.listening.get(key);
    if (!listening) {
      listening = this.agent(place).then((a) => a.listen(host, port));
      this.listening.set(key, listening);
    }
    await listening;
  }
}
