// What a scenario's steps (and its `custom` functions) get to work with: the live lab, the installed
// backend, and the pod agents. Its own module so that the schema and the runner both depend on it,
// and not on each other.
import type { BackendDescriptor, Installation } from '../backends/descriptor.ts';
import type { AgentPool } from '../traffic/agent-pool.ts';
import type { Lab } from '../topology/lab.ts';

export interface ScenarioContext {
  lab: Lab;
  backend: BackendDescriptor;
  installation: Installation;
  agents: AgentPool;
}
