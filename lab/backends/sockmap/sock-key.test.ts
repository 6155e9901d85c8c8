// The one sock-key builder (bpf/include/lab_sock_key.h), compiled for the host and fed sockets laid
// out the way the kernel presents them to sockops/sk_msg and to cgroup/getsockopt; its bytes are
// compared byte for byte. The sides that must meet (sockops inserting a socket,
// sk_msg and getsockopt looking up its peer) have to produce identical bytes.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { output, run } from '../../host/exec.ts';

const INCLUDE = fileURLToPath(new URL('../../../bpf/include/', import.meta.url));
const DRIVER = join(INCLUDE, 'tests', 'lab_sock_key_host.c');

let dir = '';
let binary = '';

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lab-sock-key-'));
  binary = join(dir, 'sock_key');
  await run('cc', ['-Wall', '-Werror', '-I', INCLUDE, '-o', binary, DRIVER]);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Family = '4' | '6' | 'mapped';
interface Socket {
  family: Family;
  local: [string, number];
  remote: [string, number];
}

/** Builds keys in the compiled C helper: [kind, key bytes] per request. */
async function build(requests: Array<{ socket: Socket; side: 'self' | 'peer'; layout: 'ctx' | 'bpf_sock' }>): Promise<Array<{ kind: number; key: Buffer }>> {
  const input = requests.map(({ socket: s, side, layout }) => `${s.family} ${s.local[0]} ${s.local[1]} ${s.remote[0]} ${s.remote[1]} ${side} ${layout}`).join('\n') + '\n';
  const lines = (await output(binary, [], { input })).trim().split('\n');
  return lines.map((line) => {
    const [kind, hex] = line.split(' ');
    return { kind: Number(kind), key: Buffer.from(hex!, 'hex') };
  });
}

// An app's connection to its sidecar, as rewritten by connect4: both ends in the pod.
const app: Socket = { family: '4', local: ['198.18.1.10', 40000], remote: ['198.18.1.10', 15001] };
const sidecar: Socket = { family: '4', local: ['198.18.1.10', 15001], remote: ['198.18.1.10', 40000] };

describe('lab_sock_key.h', () => {
  it('lays out addresses in network order and ports in host order', async () => {
    const [self] = await build([{ socket: app, side: 'self', layout: 'ctx' }]);
    expect(self!.kind).toBe(4);
    // 198.18.1.10 twice, then 40000 and 15001 little-endian.
    expect(self!.key.toString('hex')).toBe('c612010a' + 'c612010a' + '409c' + '993a');
  });

  it('gives the peer key sk_msg looks up equal to the key sockops inserted for the other end', async () => {
    const [inserted, lookedUp, reverse, reverseLookup] = await build([
      { socket: app, side: 'self', layout: 'ctx' },
      { socket: sidecar, side: 'peer', layout: 'ctx' },
      { socket: sidecar, side: 'self', layout: 'ctx' },
      { socket: app, side: 'peer', layout: 'ctx' },
    ]);
    expect(lookedUp!.key).toEqual(inserted!.key);
    expect(reverseLookup!.key).toEqual(reverse!.key);
    expect(reverse!.key).not.toEqual(inserted!.key);
  });

  it('builds the same key from struct bpf_sock (getsockopt) as from sock_ops (a port whose bytes differ)', async () => {
    const accepting: Socket = { family: '4', local: ['198.18.2.10', 15006], remote: ['198.18.1.10', 0x1234] };
    const [fromSockOps, fromBpfSock] = await build([
      { socket: accepting, side: 'peer', layout: 'ctx' },
      { socket: accepting, side: 'peer', layout: 'bpf_sock' },
    ]);
    expect(fromBpfSock!.key).toEqual(fromSockOps!.key);
    // The peer of the accepting socket: 198.18.1.10:0x1234 -> 198.18.2.10:15006.
    expect(fromBpfSock!.key.toString('hex')).toBe('c612010a' + 'c612020a' + '3412' + '9e3a');
  });

  it('keys an IPv4-mapped IPv6 socket (a dual-stack listener) like the IPv4 socket at the other end', async () => {
    const client: Socket = { family: '4', local: ['127.0.0.1', 35000], remote: ['127.0.0.1', 5201] };
    const server: Socket = { family: 'mapped', local: ['127.0.0.1', 5201], remote: ['127.0.0.1', 35000] };
    const [clientSelf, serverPeer, serverSelf] = await build([
      { socket: client, side: 'self', layout: 'ctx' },
      { socket: server, side: 'peer', layout: 'ctx' },
      { socket: server, side: 'self', layout: 'ctx' },
    ]);
    expect(serverSelf!.kind).toBe(6);
    expect(serverPeer!.key).toEqual(clientSelf!.key);
  });

  it('refuses native IPv6, leaving a zero key', async () => {
    const [v6] = await build([{ socket: { family: '6', local: ['1.2.3.4', 1], remote: ['1.2.3.4', 2] }, side: 'self', layout: 'ctx' }]);
    expect(v6!.kind).toBe(0);
    expect(v6!.key.equals(Buffer.alloc(12))).toBe(true);
  });
});
