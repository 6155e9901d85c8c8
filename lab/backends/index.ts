// The backends the lab knows, by name. A backend lands here once it installs, verifies and
// uninstalls for real.
import { UsageError } from '../errors.ts';
import { noneBackend } from './none/none.ts';
import { redirectBackend } from './redirect/redirect.ts';
import { sockmapBackend } from './sockmap/sockmap.ts';
import { tcBackend } from './tc/tc.ts';
import { tproxyBackend } from './tproxy/tproxy.ts';
import { BACKEND_NAMES, type Backend, type BackendName } from './types.ts';

const registry: Partial<Record<BackendName, Backend>> = {
  none: noneBackend,
  redirect: redirectBackend,
  tproxy: tproxyBackend,
  sockmap: sockmapBackend,
  tc: tcBackend,
};

/** Implemented backends, in the canonical order (none, redirect, tproxy, sockmap, tc). */
export function availableBackends(): Backend[] {
  return BACKEND_NAMES.flatMap((name) => registry[name] ?? []);
}

export function availableBackendNames(): BackendName[] {
  return availableBackends().map((b) => b.name);
}

export function backendByName(name: string): Backend {
  const backend = (registry as Record<string, Backend | undefined>)[name];
  if (!backend) throw new UsageError(`unknown backend "${name}": valid backends are ${availableBackendNames().join(', ')}`);
  return backend;
}
