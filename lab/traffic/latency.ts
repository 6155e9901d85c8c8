// The latency driver the lab uses: fortio where it is installed, otherwise sockperf. Both run open
// loop at a fixed rate and become the same LatencyResult, which records the tool that made it.
import { onPath } from '../host/tools.ts';
import type { BackgroundProcess } from '../host/exec.ts';
import type { Lab, Pod } from '../topology/lab.ts';
import { runFortio, startFortioTcpServer } from './fortio.ts';
import { runSockperf, startSockperfServer } from './sockperf.ts';
import type { LatencyResult } from './types.ts';

export type LatencyTool = 'fortio' | 'sockperf';

export interface LatencyLoad {
  rate: number;
  seconds: number;
  /** Concurrent connections; sockperf under-load drives one. */
  connections: number;
  messageBytes?: number;
}

export interface LatencyDriver {
  readonly tool: LatencyTool;
  /** Starts the tool's echo server in the server pod, bound to its IPv4 address. */
  startServer(lab: Lab, server: Pod, port: number): Promise<BackgroundProcess>;
  measure(lab: Lab, client: Pod, server: Pod, port: number, load: LatencyLoad): Promise<LatencyResult>;
}

export const fortioDriver: LatencyDriver = {
  tool: 'fortio',
  startServer: (lab, server, port) => startFortioTcpServer(lab, server, port),
  measure: (lab, client, server, port, load) => runFortio(lab, client, { url: `tcp://${server.ip}:${port}`, rate: load.rate, connections: load.connections, seconds: load.seconds, payloadBytes: load.messageBytes }),
};

export const sockperfDriver: LatencyDriver = {
  tool: 'sockperf',
  startServer: (lab, server, port) => startSockperfServer(lab, server, port),
  measure: (lab, client, server, port, load) => {
    if (load.connections !== 1) throw new Error('sockperf under-load drives one connection; use fortio for more');
    // sockperf's -t takes whole seconds.
    return runSockperf(lab, client, { host: server.ip, port, rate: load.rate, seconds: Math.max(1, Math.round(load.seconds)), messageBytes: load.messageBytes });
  },
};

/** fortio when installed, else sockperf; `prefer` forces one (an error if it is missing). */
export function chooseLatencyDriver(prefer?: LatencyTool, installed: (tool: string) => boolean = onPath): LatencyDriver {
  if (prefer !== undefined) {
    if (!installed(prefer)) throw new Error(`${prefer} is not installed (latency tools: fortio, sockperf)`);
    return prefer === 'fortio' ? fortioDriver : sockperfDriver;
  }
  if (installed('fortio')) return fortioDriver;
  if (installed('sockperf')) return sockperfDriver;
  throw new Error('no latency tool installed: install fortio, or sockperf (scripts/setup.sh installs sockperf)');
}
