// The agent: a small program the lab runs inside a pod (in its netns and cgroup). It is the pod's
// "app": an echo server on the ports it is told to listen on, a probe client that sends a known
// payload and checks the echo, and a connection-rate loop. Commands arrive as JSON lines on stdin.
import { createHash, randomBytes } from 'node:crypto';
import { createServer, connect, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import type { AcceptRecord, AgentReply, AgentRequest, BulkResult, ConnectLoopResult, ProbeResult } from './agent-protocol.ts';

const accepts: AcceptRecord[] = [];

/** host:port this agent already listens on: asking again is a no-op, as for the lab's AgentPool. */
const listening = new Map<string, Promise<void>>();

function listen(host: string, port: number): Promise<void> {
  const key = `${host}:${port}`;
  let started = listening.get(key);
  if (!started) {
    started = startListening(host, port);
    listening.set(key, started);
    started.catch(() => listening.delete(key));
  }
  return started;
}

function startListening(host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const server = createServer((socket) => {
      const record: AcceptRecord = { port, peer: socket.remoteAddress ?? '?', peerPort: socket.remotePort ?? 0, bytes: 0 };
      accepts.push(record);
      socket.on('data', (chunk) => {
        record.bytes += chunk.length;
        socket.write(chunk);
      });
      socket.on('end', () => socket.end());
      socket.on('error', () => socket.destroy());
    });
    server.once('error', reject);
    // An explicit IPv4 address: a dual-stack [::] socket would hide the server from IPv4-only BPF.
    server.listen({ host, port, backlog: 1024 }, () => resolve());
  });
}

function probe(host: string, port: number, payload: string, timeoutMs: number): Promise<ProbeResult> {
  const started = performance.now();
  const target = `${host}:${port}`;
  return new Promise((resolve) => {
    let received = '';
    let settled = false;
    const socket: Socket = connect({ host, port });
    const finish = (ok: boolean, error?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      const local = socket.localAddress ? `${socket.localAddress}:${socket.localPort}` : undefined;
      socket.destroy();
      resolve({ target, ok, millis: Math.round(performance.now() - started), ...(local ? { local } : {}), ...(error ? { error } : {}) });
    };
    const timer = setTimeout(() => finish(false, `no echo within ${timeoutMs} ms`), timeoutMs);
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(payload));
    socket.on('data', (chunk: string) => {
      received += chunk;
      if (received.length >= payload.length) finish(received === payload, received === payload ? undefined : 'echo differs from payload');
    });
    socket.on('error', (e) => finish(false, e.message));
    socket.on('close', () => finish(false, received ? 'connection closed mid-echo' : 'connection closed before any echo'));
  });
}

function bulk(host: string, port: number, bytes: number, timeoutMs: number): Promise<BulkResult> {
  const started = performance.now();
  const payload = randomBytes(bytes);
  const sha256Sent = createHash('sha256').update(payload).digest('hex');
  const echoed = createHash('sha256');
  let bytesEchoed = 0;
  return new Promise((resolve) => {
    let settled = false;
    const socket = connect({ host, port });
    const finish = (error?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      const sha256Echoed = echoed.digest('hex');
      const ok = !error && bytesEchoed === bytes && sha256Echoed === sha256Sent;
      const millis = Math.round(performance.now() - started);
      resolve({ target: `${host}:${port}`, ok, bytesSent: bytes, bytesEchoed, sha256Sent, sha256Echoed, millis, ...(error ? { error } : ok ? {} : { error: 'echoed bytes differ' }) });
    };
    const timer = setTimeout(() => finish(`echo incomplete after ${timeoutMs} ms (${bytesEchoed} of ${bytes} B)`), timeoutMs);
    // The write side closes only once every byte is back, so no byte is in flight at a half-close.
    // Sending the payload and FIN at once (end(payload)) twice lost about 100 KB of the client's last
    // bytes through an HAProxy 2.6.12 sidecar: the sidecar's FIN to the server came that much early.
    socket.on('connect', () => socket.write(payload));
    socket.on('data', (chunk: Buffer) => {
      bytesEchoed += chunk.length;
      echoed.update(chunk);
      if (bytesEchoed >= bytes) socket.end();
    });
    socket.on('end', () => finish());
    socket.on('error', (e) => finish(e.message));
  });
}

async function connectLoop(host: string, port: number, count: number, maxSeconds: number, concurrency: number): Promise<ConnectLoopResult> {
  const started = performance.now();
  const deadline = started + maxSeconds * 1000;
  let issued = 0;
  let connections = 0;
  let errors = 0;
  let firstError: string | undefined;
  const worker = async () => {
    while (issued < count && performance.now() < deadline) {
      issued++;
      const result = await probe(host, port, 'x', 2000);
      if (result.ok) connections++;
      else {
        errors++;
        firstError ??= result.error;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { connections, errors, seconds: (performance.now() - started) / 1000, ...(firstError ? { firstError } : {}) };
}

async function handle(request: AgentRequest): Promise<unknown> {
  switch (request.op) {
    case 'listen':
      return listen(request.host, request.port);
    case 'accepts':
      return accepts;
    case 'probe':
      return probe(request.host, request.port, request.payload, request.timeoutMs);
    case 'bulk':
      return bulk(request.host, request.port, request.bytes, request.timeoutMs);
    case 'connect-loop':
      return connectLoop(request.host, request.port, request.count, request.maxSeconds, request.concurrency);
  }
}

const reply = (message: AgentReply) => process.stdout.write(JSON.stringify(message) + '\n');

createInterface({ input: process.stdin }).on('line', (line) => {
  const { id, ...request } = JSON.parse(line) as AgentRequest & { id: number };
  handle(request).then(
    (result) => reply({ id, ok: true, result: result ?? null }),
    (e: unknown) => reply({ id, ok: false, error: e instanceof Error ? e.message : String(e) }),
  );
});
// The lab closing stdin (or dying) ends the agent: no orphan outlives its run.
process.stdin.on('end', () => process.exit(0));
process.stdout.write(JSON.stringify({ id: 0, ok: true, result: 'ready' }) + '\n');
