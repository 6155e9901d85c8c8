// Explaining sk_msg misses. A miss is a message sent on a SOCKHASH socket whose peer socket was not
// in the SOCKHASH, so it took the normal TCP path. Each one is traced with the sender's 4-tuple;
// a miss is explained when the trace shows why the peer was missing at that moment.
import { formatSockKey, peerKey, type SockKey } from './layout.ts';
import { eventsOf, type SockmapTraceEvent } from './trace-events.ts';

export interface MissReport {
  total: number;
  /** The peer was inserted after the message: the sender's first bytes raced the peer's ESTABLISHED. */
  racedPeer: number;
  /** The peer had already been closed (a closing socket leaves the SOCKHASH): its last bytes went by TCP. */
  peerClosed: number;
  /** The peer was deliberately left out (another node, or not a captured leg). */
  peerNotCaptured: number;
  unexplained: string[];
  detail: string;
}

const sameKey = (a: SockKey, b: SockKey) =>
  a.local.ip === b.local.ip && a.local.port === b.local.port && a.remote.ip === b.remote.ip && a.remote.port === b.remote.port;

/** `counted` is the miss counter for the same period: misses it has beyond the traced ones are unexplained. */
export function explainMisses(events: readonly SockmapTraceEvent[], counted: number): MissReport {
  const established = eventsOf(events, 'established');
  const misses = eventsOf(events, 'msg-miss');
  const closing = eventsOf(events, 'closing');
  let racedPeer = 0;
  let peerClosed = 0;
  let peerNotCaptured = 0;
  const unexplained: string[] = [];
  for (const miss of misses) {
    const peer = peerKey(miss.key);
    const peerEvent = established.find((e) => e.key !== undefined && sameKey(e.key, peer));
    const peerClosing = closing.find((e) => sameKey(e.key, peer) && e.at <= miss.at);
    if (peerEvent?.action === 'inserted' && peerEvent.at >= miss.at) racedPeer++;
    else if (peerEvent?.action === 'inserted' && peerClosing) peerClosed++;
    else if (peerEvent && peerEvent.action !== 'inserted') peerNotCaptured++;
    else unexplained.push(`${formatSockKey(miss.key)} (${miss.size} B) at ${miss.at}: peer ${peerEvent ? `inserted at ${peerEvent.at} and not closing` : 'never established in the trace'}`);
  }
  if (counted > misses.length) unexplained.push(`${counted - misses.length} counted misses have no trace line`);
  const detail =
    counted === 0 && misses.length === 0
      ? 'no sk_msg miss traced'
      : `${counted} misses counted, ${misses.length} traced: ${racedPeer} raced the peer's ESTABLISHED, ${peerClosed} came after the peer closed, ` +
        `${peerNotCaptured} had a peer left to the network` +
        (unexplained.length ? `; unexplained: ${unexplained.slice(0, 5).join('; ')}` : '');
  return { total: Math.max(counted, misses.length), racedPeer, peerClosed, peerNotCaptured, unexplained, detail };
}
