// The baseline: no interception at all. Traffic goes pod to pod directly, and the checks prove that
// nothing was in the way (the app sees the client's pod IP, the pods hold no rules).
import { bulkBytesIntact, iperfThroughPath, peersSeen, podsHaveNoIptablesRules, probesEchoed } from '../../verify/checks.ts';
import { VERIFY_PORTS } from '../../verify/context.ts';
import type { Backend, Installation } from '../types.ts';

export const noneBackend: Backend = {
  name: 'none',
  summary: 'baseline: no interception, pod to pod directly',
  requiredTools: [],
  async install({ captured }): Promise<Installation> {
    return {
      async verify(context) {
        const peers = peersSeen(context, VERIFY_PORTS.app);
        return [
          probesEchoed(context, ['app', 'proxy-uid', 'loopback', 'outside-cgroup']),
          {
            name: 'app-sees-client-directly',
            ok: peers.length > 0 && peers.every((p) => p === context.client.ip),
            detail: `server app on :${VERIFY_PORTS.app} saw peers ${peers.join(', ') || 'none'} (client pod is ${context.client.ip})`,
          },
          await podsHaveNoIptablesRules(captured),
          bulkBytesIntact(context),
          iperfThroughPath(context),
        ];
      },
      async uninstall() {},
    };
  },
};
