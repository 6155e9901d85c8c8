import { expect, it } from 'vitest';
import { parseListeningSockets } from './sidecar-sockets.ts';

// `ss -Hltnp --inet-sockopt` in a TPROXY pod (iproute2 6.1): the sidecar's two listeners and an app's.
const LISTING = [
  'LISTEN 0      4096         0.0.0.0:15006      0.0.0.0:*    users:(("haproxy",pid=4242,fd=6))',
  '\t inet-sockopt: ( is_icsk transparent mc_loop mc_all)',
  'LISTEN 0      4096         0.0.0.0:15001      0.0.0.0:*    users:(("haproxy",pid=4242,fd=5))',
  '\t inet-sockopt: ( is_icsk mc_loop mc_all)',
  'LISTEN 0      511      198.18.1.11:8080       0.0.0.0:*    users:(("node",pid=17,fd=20),("node",pid=18,fd=20))',
  '\t inet-sockopt: ( is_icsk mc_loop mc_all)',
].join('\n');

it('reads each listener port, its processes and whether it is transparent', () => {
  expect(parseListeningSockets(LISTING)).toEqual([
    { port: 15006, pids: [4242], transparent: true },
    { port: 15001, pids: [4242], transparent: false },
    { port: 8080, pids: [17, 18], transparent: false },
  ]);
});

it('reads nothing from an empty listing', () => {
  expect(parseListeningSockets('')).toEqual([]);
});
