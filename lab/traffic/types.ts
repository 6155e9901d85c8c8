// What traffic drivers return. Every driver, whatever tool it wraps, yields one of these, and records
// which tool produced the numbers (a sockperf p99 is not a fortio p99: the report says which).

/** Bulk transfer: iperf3, one stream. */
export interface ThroughputResult {
  kind: 'throughput';
  tool: 'iperf3';
  bitsPerSecond: number;
  /** Bytes the client sent and the server received (they match when nothing was lost). */
  bytesSent: number;
  bytesReceived: number;
  seconds: number;
  retransmits: number | null;
}

export interface LatencyPercentiles {
  p50: number;
  p75: number;
  p90: number;
  p99: number;
  p999: number;
}

/**
 * How requests are paced. `open-loop`: sent at a fixed rate whatever the replies do, so at a low
 * rate every request starts from idle CPUs. `closed-loop`: the next request leaves as soon as the
 * reply arrives (ping-pong), so the time is the path's own per-message cost.
 */
export type LatencyMode = 'open-loop' | 'closed-loop';

/** Request/response latency; all times in microseconds. */
export interface LatencyResult {
  kind: 'latency';
  tool: 'fortio' | 'sockperf';
  /** Absent in results written before closed-loop runs existed: those were all open loop. */
  mode?: LatencyMode;
  /** The rate asked for (null when the tool ran unthrottled). */
  requestedRate: number | null;
  achievedRate: number;
  connections: number;
  percentilesUs: LatencyPercentiles;
  minUs: number;
  meanUs: number;
  maxUs: number;
  samples: number;
  /** Request/reply exchanges over the whole run, warm-up included, where the tool says (sockperf's total run). */
  exchanges?: number;
  errors: number;
  seconds: number;
}

/** New connections per second, each opened, used for one exchange, and closed. */
export interface ConnectionRateResult {
  kind: 'connection-rate';
  tool: 'lab-agent';
  connectionsPerSecond: number;
  connections: number;
  errors: number;
  seconds: number;
  /**
   * conntrack entries the measured connections created, across every namespace of the lab, per
   * 1000 connections (the first complaint about iptables interception), and per namespace.
   */
  conntrackEntriesPer1000?: number;
  conntrackByPlace?: Record<string, number>;
}

export type TrafficResult = ThroughputResult | LatencyResult | ConnectionRateResult;

/**
 * A latency client that is running: the bench starts it ahead of time (sockperf sleeps two seconds
 * after connecting, before it sends anything) and times its measurement by the tool's own markers.
 */
export interface LatencyRun {
  /** Resolves when the tool starts sending its measured traffic (performance.now() in ms). */
  readonly started: Promise<number>;
  /** Resolves when the tool stops sending (performance.now() in ms). */
  readonly ended: Promise<number>;
  /** The parsed result once the tool has exited; rejects with its output when it failed. */
  readonly result: Promise<LatencyResult>;
}
