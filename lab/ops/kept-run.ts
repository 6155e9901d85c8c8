// A run left up on purpose (`--keep`): how to get into each of its pods and nodes by hand, and how to
// remove it. The script that built it exits without tearing down; its ledger then names a dead owner,
// which is exactly what `lab clean` takes for a leftover.
import { formatCommand } from '../host/exec.ts';
import { commandIn, NETNS_DIR } from '../host/namespaces.ts';
import type { Lab } from '../topology/lab.ts';

export interface PlaceAccess {
  name: string;
  kind: 'pod' | 'node';
  /** The pod's address, or the node's underlay address. */
  ip: string;
  netns: string;
  /** A shell in the place's network namespace. */
  ipNetnsExec: string;
  nsenter: string;
  /**
   * Pods only: a shell in the pod's cgroup as well, the way the lab starts pod processes. cgroup BPF
   * (sockmap's programs) applies only to processes in the pod's cgroup; `ip netns exec` also remounts
   * /sys, which hides the cgroup2 mount from the shell it starts.
   */
  inPodCgroup?: string;
}

export interface KeptRun {
  runId: string;
  places: PlaceAccess[];
  /** Where the run's ledger lives: what `lab clean` reads. */
  ledgerDir: string;
  clean: string;
}

/** How to enter every pod and node of a live lab, and the command that removes it. */
export function keptRunAccess(lab: Lab): KeptRun {
  const shell = 'bash';
  const places: PlaceAccess[] = [
    ...[...lab.pods.values()].map((pod): PlaceAccess => {
      const [file, args] = commandIn(lab.targetOf(pod), shell, []);
      return {
        name: pod.name,
        kind: 'pod',
        ip: pod.ip,
        netns: pod.netns,
        ipNetnsExec: formatCommand('ip', ['netns', 'exec', pod.netns, shell]),
        nsenter: formatCommand('nsenter', [`--net=${NETNS_DIR}/${pod.netns}`, '--', shell]),
        inPodCgroup: formatCommand(file, args),
      };
    }),
    ...[...lab.nodes.values()].map(
      (node): PlaceAccess => ({
        name: node.name,
        kind: 'node',
        ip: node.underlayIp,
        netns: node.netns,
        ipNetnsExec: formatCommand('ip', ['netns', 'exec', node.netns, shell]),
        nsenter: formatCommand('nsenter', [`--net=${NETNS_DIR}/${node.netns}`, '--', shell]),
      }),
    ),
  ];
  return { runId: lab.runId, places, ledgerDir: lab.runDir, clean: 'sudo npx lab clean' };
}

export function formatKeptRun(kept: KeptRun): string {
  const lines = [`kept run ${kept.runId}: its namespaces, cgroups, rules and BPF objects stay until you remove them.`, ''];
  for (const place of kept.places) {
    lines.push(`${place.kind} ${place.name} (${place.ip}, netns ${place.netns}):`);
    lines.push(`  sudo ${place.ipNetnsExec}`);
    lines.push(`  sudo ${place.nsenter}`);
    if (place.inPodCgroup) lines.push(`  sudo ${place.inPodCgroup}    # also in the pod's cgroup, where cgroup BPF applies`);
  }
  lines.push(
    '',
    'The processes the run started (sidecars, node proxies, pod agents, servers) stopped with this script:',
    'connections the backend captures now find no proxy. Start your own in the pods above.',
    `Remove the run with: ${kept.clean}`,
    `(its ledger, ${kept.ledgerDir}/ledger.json, names this script as owner; once the script has exited,`,
    'lab clean, and any lab run that starts, take it for a leftover and remove it).',
  );
  return lines.join('\n');
}

/**
 * Ends the process without tearing the lab down: output is flushed, then the process exits, so the
 * teardown that would follow (withLab's) never runs. execa kills the run's child processes as the
 * process exits; the ledger stays for `lab clean`.
 */
export async function exitLeavingRunUp(code: number): Promise<never> {
  await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
  await new Promise<void>((resolve) => process.stderr.write('', () => resolve()));
  process.exit(code);
}
