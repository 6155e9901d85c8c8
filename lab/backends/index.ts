// The registry: every backend the lab knows, one line each, in the order reports show them. Adding a
// backend is one folder exporting a BackendDescriptor, and one line here.
import { UsageError } from '../errors.ts';
import { ambientBackend } from './ambient/ambient.ts';
import type { BackendDescriptor } from './descriptor.ts';
import { noneBackend } from './none/none.ts';
import { redirectBackend, redirectNftBackend } from './redirect/redirect.ts';
import { sockmapBackend } from './sockmap/sockmap.ts';
import { tcBackend } from './tc/tc.ts';
import { tproxyBackend, tproxyNftBackend } from './tproxy/tproxy.ts';

const BACKENDS: readonly BackendDescriptor[] = [noneBackend, redirectBackend, tproxyBackend, redirectNftBackend, tproxyNftBackend, sockmapBackend, tcBackend, ambientBackend];

export function allBackends(): readonly BackendDescriptor[] {
  return BACKENDS;
}

export function backendNames(): string[] {
  return BACKENDS.map((b) => b.name);
}

export function backendByName(name: string): BackendDescriptor {
  const backend = BACKENDS.find((b) => b.name === name);
  if (!backend) throw new UsageError(`unknown backend "${name}": valid backends are ${backendNames().join(', ')}`);
  return backend;
}
