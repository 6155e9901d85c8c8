// The interface every interception backend implements. A backend captures some pods of a lab
// (install), proves from evidence that traffic took its path (verify), and removes itself (uninstall).
// Backends never reach into each other's folders; what they share lives in lab/proxy, lab/evidence
// and lab/verify.
import type { Lab, Pod } from '../topology/lab.ts';
import type { VerifyContext } from '../verify/context.ts';

export const BACKEND_NAMES = ['none', 'redirect', 'tproxy', 'sockmap', 'tc'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

/** One verdict, built from evidence: `detail` says what was seen (counter values, log lines). */
export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

export interface InstallRequest {
  lab: Lab;
  /** Pods whose traffic the backend intercepts (their apps get a sidecar, or the node proxy serves them). */
  captured: Pod[];
}

export interface Installation {
  /** Judges the traffic the verify plan drove, from this backend's evidence. */
  verify(context: VerifyContext): Promise<Check[]>;
  /**
   * Stops the proxy that serves this pod (its sidecar, or its node's proxy), for fault scenarios:
   * with the proxy gone, captured traffic must fail rather than bypass it. Absent for `none`.
   */
  stopProxy?(pod: Pod): Promise<void>;
  /** Removes what install added. Teardown of the lab removes it too; this is for early removal. */
  uninstall(): Promise<void>;
}

export interface Backend {
  readonly name: BackendName;
  /** One line for `lab verify --help` and reports. */
  readonly summary: string;
  /** Commands the backend runs; `lab doctor` and bad-input errors name the missing ones. */
  readonly requiredTools: readonly string[];
  install(request: InstallRequest): Promise<Installation>;
}
