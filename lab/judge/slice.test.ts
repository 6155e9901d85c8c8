import { expect, it } from 'vitest';
import { redirectBackend } from '../backends/redirect/redirect.ts';
import { tproxyBackend } from '../backends/tproxy/tproxy.ts';

// Counter movements as redirect's pathCounters() reports them around a 2-connection iperf3 slice.
const redirectDelta = { 'client ISTIO_REDIRECT packets': 2, 'server ISTIO_IN_REDIRECT packets': 2, 'client sidecar connections': 2, 'server sidecar connections': 2 };

it('accepts a slice whose every connection crossed both sidecars', () => {
  expect(redirectBackend.judgeSlice!(redirectDelta, { metric: 'throughput', connections: 2 })).toMatchObject({ name: 'slice-on-path', ok: true });
});

it('rejects a slice in which a connection went around the server sidecar', () => {
  const check = redirectBackend.judgeSlice!({ ...redirectDelta, 'server ISTIO_IN_REDIRECT packets': 1, 'server sidecar connections': 1 }, { metric: 'throughput', connections: 2 });
  expect(check.ok).toBe(false);
  expect(check.detail).toMatch(/^short: server ISTIO_IN_REDIRECT packets, server sidecar connections;/);
});

it('rejects a tproxy slice that TPROXY never saw', () => {
  const delta = { 'client ISTIO_REDIRECT packets': 1, 'server ISTIO_TPROXY packets': 0, 'server ISTIO_DIVERT packets': 0, 'client sidecar connections': 1, 'server sidecar connections': 1 };
  const check = tproxyBackend.judgeSlice!(delta, { metric: 'latency', connections: 1 });
  expect(check.ok).toBe(false);
  expect(check.detail).toMatch(/short: server ISTIO_TPROXY packets/);
});

it('rejects a sockmap slice whose bytes did not all go through sk_msg (a fallback to plain TCP)', async () => {
  const { sockmapBackend } = await import('../backends/sockmap/sockmap.ts');
  const delta = { rewriteOutbound: 2, rewriteInbound: 2, msgRedirected: 900, msgRedirectedBytes: 1_000_000 };
  expect(sockmapBackend.judgeSlice!(delta, { metric: 'throughput', connections: 2, bytesSent: 1_000_000 }).ok).toBe(true);
  const check = sockmapBackend.judgeSlice!(delta, { metric: 'throughput', connections: 2, bytesSent: 5_000_000 });
  expect(check.ok).toBe(false);
  expect(check.detail).toMatch(/short: msgRedirectedBytes/);
});

it('rejects a tc slice whose connections were not steered to a proxy listener', async () => {
  const { tcBackend } = await import('../backends/tc/tc.ts');
  // On one node app_inbound redirects nothing (inbound_redirect 0): the proxy delivers to the server itself.
  const delta = { outbound_redirect: 40, inbound_redirect: 0, proxy_return: 41, assign_listener: 0, mark_outbound: 0, mark_inbound: 0, proxy_connections: 1 };
  const check = tcBackend.judgeSlice!(delta, { metric: 'latency', connections: 1 });
  expect(check.ok).toBe(false);
  expect(check.detail).toMatch(/short: steered/);
  expect(tcBackend.judgeSlice!({ ...delta, assign_listener: 2 }, { metric: 'latency', connections: 1 }).ok).toBe(true);
});
