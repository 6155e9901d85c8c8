import { describe, expect, it } from 'vitest';
import { parseBpfFilters } from './tc.ts';

// `tc -j filter show dev veth-client egress` with one program attached by object-pinned (iproute2 6.1):
// the first entry is the per-protocol head, which carries no options.
const PINNED_FILTER_JSON =
  '[{"protocol":"all","pref":49152,"kind":"bpf","chain":0},{"protocol":"all","pref":49152,"kind":"bpf","chain":0,"options":{"handle":"0x1","bpf_name":"app_inbound:[*fsobj]","direct-action":true,"not_in_hw":true,"prog":{"id":1752,"name":"app_inbound","tag":"24494c01c02314be","jited":1}}}]';

describe('parseBpfFilters', () => {
  it('keeps the BPF filter with its program id and direct-action flag, and skips the protocol head', () => {
    expect(parseBpfFilters(PINNED_FILTER_JSON, 'veth-client', 'egress')).toEqual([
      { device: 'veth-client', direction: 'egress', pref: 49152, programName: 'app_inbound', programId: 1752, directAction: true },
    ]);
  });

  it('reads a device without filters (empty output or an empty list) as none', () => {
    expect(parseBpfFilters('', 'eth0', 'ingress')).toEqual([]);
    expect(parseBpfFilters('[]', 'eth0', 'ingress')).toEqual([]);
  });

  it('reports a filter attached without direct-action as such', () => {
    const json = JSON.stringify([{ kind: 'bpf', options: { bpf_name: 'x', prog: { id: 7, name: 'ztunnel_host_in' } } }]);
    expect(parseBpfFilters(json, 'veth-ztunnel-1', 'ingress')).toEqual([
      { device: 'veth-ztunnel-1', direction: 'ingress', pref: 0, programName: 'ztunnel_host_in', programId: 7, directAction: false },
    ]);
  });
});
