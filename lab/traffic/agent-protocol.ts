// The JSON-lines protocol between the lab and the agent it runs inside each pod.

export interface AcceptRecord {
  /** The local port the app accepted on. */
  port: number;
  /** The peer address the app saw (127.0.0.6 when an Istio sidecar delivered it). */
  peer: string;
  peerPort: number;
  /** Bytes echoed back on this connection. */
  bytes: number;
}

export interface ProbeResult {
  /** host:port the probe dialled. */
  target: string;
  /** Connected, sent the payload and read the same bytes back. */
  ok: boolean;
  /** The local address:port of the probe's socket (what the peer's 4-tuple starts with). */
  local?: string;
  error?: string;
  millis: number;
}

/** A bulk echo: pseudorandom bytes sent, echoed back, compared by SHA-256. */
export interface BulkResult {
  target: string;
  ok: boolean;
  bytesSent: number;
  bytesEchoed: number;
  sha256Sent: string;
  sha256Echoed: string;
  millis: number;
  error?: string;
}

export interface ConnectLoopResult {
  connections: number;
  errors: number;
  seconds: number;
  firstError?: string;
}

export type AgentRequest =
  | { op: 'listen'; host: string; port: number }
  | { op: 'accepts' }
  | { op: 'probe'; host: string; port: number; payload: string; timeoutMs: number }
  | { op: 'bulk'; host: string; port: number; bytes: number; timeoutMs: number }
  | { op: 'connect-loop'; host: string; port: number; count: number; maxSeconds: number; concurrency: number };

export type AgentReply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };
