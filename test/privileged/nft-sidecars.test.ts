// The native nftables sidecars (redirect-nft, tproxy-nft) for real: their path counters, read from
// `nft -j list ruleset`, account for every connection of a loop (judgeSlice), and stop doing so when
// the client's nat table is gone; tproxy-nft's uninstall leaves no table, no policy routing, and pods
// that talk directly.
import { describe, expect, it } from 'vitest';
import { readNetfilterSummary } from '../../lab/evidence/netfilter.ts';
import { connectThroughPath } from '../../lab/bench/rule-scale.ts';
import { ipJson } from '../../lab/host/ip.ts';
import { nftApply } from '../../lab/host/nft.ts';
import { NFT_MANGLE_TABLE, NFT_NAT_TABLE, nftablesRemoval } from '../../lab/istio/nftables.ts';
import { VERIFY_PORTS } from '../../lab/judge/plan.ts';
import { withCapturedPair } from '../../lab/verify/setup.ts';
import { backendNeeds, describePrivileged } from '../support/privileged.ts';

const LOOP = { count: 40, maxSeconds: 10 };

describePrivileged('native nftables sidecars', backendNeeds('tproxy-nft', ['ss']), () => {
  describe.each(['redirect-nft', 'tproxy-nft'])('%s', (backend) => {
    it("its nft counters account for every connection, until the client's nat table is deleted", async () => {
      await withCapturedPair(backend, 'same-node', async (pair) => {
        await pair.agents.listen(pair.server, pair.server.ip, VERIFY_PORTS.app);
        const captured = await connectThroughPath(pair, VERIFY_PORTS.app, LOOP);
        expect(captured.loop.connections).toBe(LOOP.count);
        expect(captured.check, captured.check.detail).toMatchObject({ name: 'slice-on-path', ok: true });
        expect(captured.delta['client istio-redirect packets']).toBeGreaterThanOrEqual(LOOP.count);

        // Outbound now leaves the client pod untouched: the connections still succeed (the server
        // still captures them), but the client sidecar's counters no longer account for them.
        await nftApply(pair.client.netns, nftablesRemoval([NFT_NAT_TABLE]));
        const bypassed = await connectThroughPath(pair, VERIFY_PORTS.app, LOOP);
        expect(bypassed.loop.connections).toBe(LOOP.count);
        expect(bypassed.check.ok).toBe(false);
        expect(bypassed.check.detail).toMatch(/^short: client istio-redirect packets, client sidecar connections;/);
      });
    });
  });

  it('tproxy-nft uninstall removes both tables and the policy routing, and the pods then talk directly', async () => {
    await withCapturedPair('tproxy-nft', 'cross-node', async ({ client, server, clientAgent, serverAgent, installation }) => {
      for (const pod of [client, server]) {
        expect((await readNetfilterSummary(pod.netns)).nftTables).toEqual([`inet ${NFT_NAT_TABLE}`, `inet ${NFT_MANGLE_TABLE}`]);
        expect(await ipJson<Array<{ fwmark?: string; table?: string }>>(['rule', 'show'], pod.netns)).toContainEqual(expect.objectContaining({ fwmark: '0x539', table: '133' }));
      }
      await installation.uninstall();
      for (const pod of [client, server]) {
        expect(await readNetfilterSummary(pod.netns)).toEqual({ iptablesRules: 0, nftTables: [] });
        expect((await ipJson<Array<{ table?: string }>>(['rule', 'show'], pod.netns)).map((r) => r.table)).not.toContain('133');
      }
      await serverAgent.listen(server.ip, VERIFY_PORTS.proxyUid);
      const direct = await clientAgent.probe(server.ip, VERIFY_PORTS.proxyUid);
      expect(direct.ok, direct.error).toBe(true);
      expect((await serverAgent.accepts()).filter((a) => a.port === VERIFY_PORTS.proxyUid).map((a) => a.peer)).toEqual([client.ip]);
    });
  });
});
