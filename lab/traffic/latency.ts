// The latency driver the lab uses: fortio where it is installed, otherwise sockperf. Both measure
// two ways, and both become the same LatencyResult, which records the tool and the mode that made it:
// - open loop: requests at a fixed rate whatever the replies do (fortio -uniform -qps R, sockperf
//   under-load). At a low rate every request wakes idle CPUs, so the time includes those wake-ups.
// - closed loop: the next request leaves when the reply arrives (fortio -qps 0, sockperf ping-pong),
//   so the CPUs stay busy and the time is the path's own per-message cost.
import type { BackgroundProcess } from '../host/exec.ts';
import { onPath } from '../host/tools.ts';
import type { Lab, Pod } from '../topology/lab.ts';
import { startFortioClient, startFortioTcpServer } from './fortio.ts';
import { SOCKPERF_LEAD_SECONDS, sockperfClientArgs, sockperfPingPongArgs, startSockperfClient, startSockperfServer } from './sockperf.ts';
import type { LatencyMode, LatencyRun } from './types.ts';

export type LatencyTool = 'fortio' | 'sockperf';

export interface LatencyRequest {
  mode: LatencyMode;
  /** Requests per second; ignored in closed loop. */
  rate: number;
  seconds: number;
  messageBytes: number;
  /** CPUs to pin the client to (taskset); unpinned when absent. */
  cpus?: readonly number[];
}

export interface LatencyDriver {
  readonly tool: LatencyTool;
  /** Seconds between starting a client and its first measured request (sockperf sleeps first). */
  readonly leadSeconds: number;
  /** The shortest measurement the tool can make, in seconds, and whether it needs whole seconds. */
  readonly minimumSeconds: number;
  readonly wholeSeconds: boolean;
  /** Starts the tool's echo server in the server pod, bound to its IPv4 address. */
  startServer(lab: Lab, server: Pod, port: number, options?: { cpus?: readonly number[] }): Promise<BackgroundProcess>;
  /** Starts one client run and returns at once; see LatencyRun for its milestones. */
  start(lab: Lab, client: Pod, server: Pod, port: number, request: LatencyRequest): LatencyRun;
}

export const fortioDriver: LatencyDriver = {
  tool: 'fortio',
  leadSeconds: 0,
  minimumSeconds: 0.1,
  wholeSeconds: false,
  startServer: (lab, server, port, options = {}) => startFortioTcpServer(lab, server, port, options),
  start: (lab, client, server, port, request) =>
    startFortioClient(
      lab,
      client,
      { url: `tcp://${server.ip}:${port}`, rate: request.mode === 'closed-loop' ? 0 : request.rate, connections: 1, seconds: request.seconds, payloadBytes: request.messageBytes },
      request.cpus ? { cpus: request.cpus } : {},
    ),
};

export const sockperfDriver: LatencyDriver = {
  tool: 'sockperf',
  leadSeconds: SOCKPERF_LEAD_SECONDS,
  minimumSeconds: 1,
  wholeSeconds: true,
  startServer: (lab, server, port, options = {}) => startSockperfServer(lab, server, port, options),
  start: (lab, client, server, port, request) => {
    // sockperf's -t takes whole seconds.
    const seconds = Math.max(1, Math.round(request.seconds));
    const args =
      request.mode === 'closed-loop'
        ? sockperfPingPongArgs({ host: server.ip, port, seconds, messageBytes: request.messageBytes })
        : sockperfClientArgs({ host: server.ip, port, rate: request.rate, seconds, messageBytes: request.messageBytes });
    return startSockperfClient(lab, client, args, { mode: request.mode, requestedRate: request.mode === 'closed-loop' ? null : request.rate, seconds, ...(request.cpus ? { cpus: request.cpus } : {}) });
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
