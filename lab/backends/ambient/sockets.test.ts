import { describe, expect, it } from 'vitest';
import { parseListeningSockets } from './sockets.ts';

// `ss -Hltnpe` inside the client pod of a real run (test/fixtures/evidence/ambient-same-node.json):
// the node proxy's outbound listener, and the app's loopback listener.
const LISTING = [
  'LISTEN 0      4096     0.0.0.0:15001 0.0.0.0:* users:(("haproxy",pid=23017,fd=7)) ino:380092 sk:704 fwmark:0x539 cgroup:/lab-qzwr6/ztunnel-1 <->',
  'LISTEN 0      1024   127.0.0.1:8082  0.0.0.0:* users:(("node",pid=23035,fd=18)) ino:378794 sk:718 cgroup:/lab-qzwr6/client <->',
  '',
].join('\n');

describe('ss -Hltnpe listeners', () => {
  it('reads the port, the owning process, the mark and the cgroup', () => {
    const [proxy, app] = parseListeningSockets(LISTING);
    expect(proxy).toMatchObject({ local: '0.0.0.0:15001', port: 15001, owners: [{ process: 'haproxy', pid: 23017 }], fwmark: 0x539, cgroup: '/lab-qzwr6/ztunnel-1' });
    expect(app).toMatchObject({ local: '127.0.0.1:8082', port: 8082, owners: [{ process: 'node', pid: 23035 }], cgroup: '/lab-qzwr6/client' });
    expect(app!.fwmark).toBeUndefined();
  });

  it('skips lines that are not listeners', () => {
    expect(parseListeningSockets('ESTAB 0 0 198.18.1.10:40000 198.18.1.11:8080\n\n')).toEqual([]);
  });
});
