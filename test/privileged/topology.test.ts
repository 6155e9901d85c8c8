import { readFile } from 'node:fs/promises';
import { expect, it } from 'vitest';
import { cgroupOfPid } from '../../lab/host/cgroup.ts';
import { listNetns } from '../../lab/host/ip.ts';
import { newRunId } from '../../lab/topology/ledger.ts';
import { Lab, withLab } from '../../lab/topology/lab.ts';
import { labDebris } from '../support/host-state.ts';
import { describePrivileged } from '../support/privileged.ts';

describePrivileged('topology', ['ping'], () => {
  it('joins two nodes over the underlay and pods in their cgroups', async () => {
    let runId = '';
    await withLab({ nodes: [{ name: 'node-a', pods: ['client'] }, { name: 'node-b', pods: ['server'] }] }, async (lab) => {
      runId = lab.runId;
      const server = lab.pod('server');
      expect(server.ip).toBe('198.18.2.10');
      const ping = await lab.exec(lab.pod('client'), 'ping', ['-c1', '-W2', server.ip]);
      expect(ping.stdout).toContain('1 received');
      const sleeper = lab.spawn(server, 'sleep', ['30']);
      // The shell wrapper joins the cgroup, then execs: give it a moment to reach `sleep`.
      await new Promise((r) => setTimeout(r, 200));
      expect(await cgroupOfPid(sleeper.pid)).toBe(`/lab-${lab.runId}/server`);
    });
    expect((await listNetns()).filter((n) => n.includes(runId))).toEqual([]);
    const mounts = await readFile('/proc/mounts', 'utf8');
    expect(mounts).toContain('cgroup2');
  });

  it('removes what it built when the topology is invalid', async () => {
    // Named run: other runs may be live on the machine, and only this one's leftovers are in question.
    const runId = newRunId();
    await expect(Lab.create({ nodes: [{ name: 'node-a', pods: ['dup', 'dup'] }] }, { runId })).rejects.toThrow(/used twice/);
    expect(labDebris(runId)).toEqual([]);
  });
});
