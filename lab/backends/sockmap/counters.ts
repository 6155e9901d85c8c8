// The programs' event counters, in the order of enum sockmap_counter in bpf/sockmap/sockmap.h
// (counters.test.ts checks the two agree).
export const SOCKMAP_COUNTERS = [
  'connectSeen',
  'connectNotAPod',
  'rewriteOutbound',
  'rewriteInbound',
  'skipLoopback',
  'skipHbone',
  'skipProxyUid',
  'skipOwnPod',
  'skipExcludedPort',
  'skipIpv6',
  'establishedActive',
  'establishedPassive',
  'establishedUnsupported',
  'pairRecorded',
  'sockhashInserted',
  'sockhashInsertFailed',
  'sockhashCrossNode',
  'msgRedirected',
  'msgRedirectedBytes',
  'msgMiss',
  'msgNoKey',
  'originalDstAnswered',
  'originalDstUnknown',
  'pairForgotten',
] as const;

export type SockmapCounterName = (typeof SOCKMAP_COUNTERS)[number];
export type SockmapCounters = Record<SockmapCounterName, number>;

/** SOCKMAP_CONNECT_NOT_A_POD -> connectNotAPod */
export const counterNameFromEnum = (enumName: string) =>
  enumName
    .replace(/^SOCKMAP_/, '')
    .toLowerCase()
    .replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** Named counter values for check details ("rewriteOutbound=3 msgRedirected=812"). */
export function describeCounters(counters: SockmapCounters, names: readonly SockmapCounterName[] = SOCKMAP_COUNTERS): string {
  return names.map((n) => `${n}=${counters[n]}`).join(' ');
}
