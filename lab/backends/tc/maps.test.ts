import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { COUNTER_NAMES, podEntry, podKey, podValue, proxyEntry, proxyValue, tcConfig } from './maps.ts';

describe('tc maps', () => {
  it('names the counters in the order of enum tc_counter', () => {
    const header = readFileSync(new URL('../../../bpf/tc/tc_redirect.h', import.meta.url), 'utf8');
    const enumBody = /enum tc_counter \{([\s\S]*?)\};/.exec(header)?.[1] ?? '';
    const names = [...enumBody.matchAll(/^\s*C_(\w+)/gm)].map((m) => m[1]!.toLowerCase()).filter((n) => n !== 'count');
    expect(names).toEqual([...COUNTER_NAMES]);
  });

  it('gives tc_config every member of struct tc_config, the ports and marks the proxy side uses', () => {
    const header = readFileSync(new URL('../../../bpf/tc/tc_redirect.h', import.meta.url), 'utf8');
    const body = /struct tc_config \{([\s\S]*?)\};/.exec(header)?.[1] ?? '';
    const members = [...body.matchAll(/^\s*(?:char|__u\d+)\s+(\w+)/gm)].map((m) => m[1]).filter((m) => m !== 'reserved');
    expect(Object.keys(tcConfig('lab-ab1cd')).sort()).toEqual(members.sort());
    expect(tcConfig('lab-ab1cd')).toMatchObject({ outbound_port: 15001, inbound_port: 15006, hbone_port: 15008, proxy_local_mark: 0x400 });
  });

  it('keys pods by their network-order address and reads entries back into plain terms', () => {
    const value = podValue({ hostIfindex: 258, mac: '0a:1b:2c:3d:4e:5f', node: 1 });
    // As bpftool printed this very entry (lab/bpf/testdata/btf-dumps.json, tc_pods).
    expect({ key: podKey('198.18.1.10'), value }).toEqual({ key: 167842502, value: { host_ifindex: 258, mac: [10, 27, 44, 61, 78, 95], node: 1 } });
    expect(podEntry(167842502, { ...value, node: 1 })).toEqual({ ip: '198.18.1.10', hostIfindex: 258, mac: '0a:1b:2c:3d:4e:5f', node: 1 });
    const proxy = proxyValue({ hostIfindex: 7, mac: 'aa:bb:cc:dd:ee:ff', nodeIp: '198.18.1.1' });
    expect(proxy.node_ip).toBe(16847558);
    expect(proxyEntry(1, proxy)).toEqual({ node: 1, hostIfindex: 7, mac: 'aa:bb:cc:dd:ee:ff', nodeIp: '198.18.1.1' });
  });
});
