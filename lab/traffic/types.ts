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

/** Request/response latency at a fixed, open-loop rate; all times in microseconds. */
export interface LatencyResult {
  kind: 'latency';
  tool: 'fortio' | 'sockperf';
  /** The rate asked for (null when the tool ran unthrottled). */
  requestedRate: number | null;
  achievedRate: number;
  connections: number;
  percentilesUs: LatencyPercentiles;
  minUs: number;
  meanUs: number;
  maxUs: number;
  samples: number;
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
