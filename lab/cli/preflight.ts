// Checks a command makes before it creates anything: root, and the tools the work will run. Each
// failure names its fix (sudo, scripts/setup.sh), rather than surfacing as an odd error midway.
import type { BackendDescriptor } from '../backends/descriptor.ts';
import { missingTools } from '../host/tools.ts';

/** What every topology needs: namespaces, veths, cgroup joins, sysctls inside namespaces. */
const TOPOLOGY_TOOLS = ['ip', 'nsenter', 'setpriv', 'ss', 'sysctl'];

export class PreflightError extends Error {
  override readonly name = 'PreflightError';
}

export function requireRoot(command: string): void {
  const uid = process.getuid?.();
  if (uid !== 0) throw new PreflightError(`\`lab ${command}\` creates and removes network namespaces, cgroups and BPF objects, which needs root: run it with sudo (sudo lab ${command} ...); you are uid ${uid}`);
}

/** The tools a run of `backend` needs, plus `extra` (e.g. iperf3 for verify). */
export function requireTools(backend: BackendDescriptor, extra: readonly string[] = []): void {
  const missing = missingTools([...TOPOLOGY_TOOLS, ...backend.requires.tools, ...extra]);
  if (missing.length === 0) return;
  const list = missing.map((t) => `\`${t}\``).join(', ');
  throw new PreflightError(`${list} ${missing.length === 1 ? 'is' : 'are'} not installed (needed by the ${backend.name} backend's run): run scripts/setup.sh as root to install ${missing.length === 1 ? 'it' : 'them'}, and \`lab doctor\` to check the rest`);
}
