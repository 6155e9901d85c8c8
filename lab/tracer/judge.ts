// The `kernel-path` check: does a trace's evidence show the steps a backend's path implies, and none
// of the steps of another path? Pure: evidence and expectation in, a verdict out.
import type { KernelPathEvidence, NetnsRole } from './evidence.ts';
import { matchesFlags, pointOf, type EvidenceName } from './points.ts';
import type { KernelPathExpectation, PathProhibition, PathRequirement, Placement } from './signatures.ts';

/** Structurally the lab's Check (lab/judge/check.ts), kept local so lab/tracer depends on nothing above it. */
export interface KernelPathCheck {
  name: string;
  ok: boolean;
  detail: string;
}

export const KERNEL_PATH_CHECK = 'kernel-path';

/** How much traffic the trace saw: the per-connection and per-message minimums scale with it. */
export interface TracedTraffic {
  connections: number;
  messages: number;
}

type Availability = { available: true } | { available: false; reason: string };

function availability(evidence: KernelPathEvidence, name: EvidenceName): Availability {
  const status = evidence.points.find((p) => p.point === pointOf(name));
  if (!status) return { available: false, reason: 'not traced: the trace was not asked for it' };
  return status.available ? { available: true } : { available: false, reason: status.reason ?? 'unavailable' };
}

function namespacesOf(evidence: KernelPathEvidence, roles: readonly NetnsRole[]): string[] {
  return evidence.namespaces.filter((n) => n.roles.some((r) => roles.includes(r))).map((n) => n.name);
}

function countOf(evidence: KernelPathEvidence, name: EvidenceName, namespaces: readonly string[]): number {
  const point = pointOf(name);
  return evidence.counts.filter((c) => c.point === point && namespaces.includes(c.netns) && matchesFlags(name, c.flags)).reduce((sum, c) => sum + c.count, 0);
}

/** Same node when one namespace plays both node roles. */
export function placementOf(evidence: KernelPathEvidence): Placement {
  const clientNode = namespacesOf(evidence, ['client-node']);
  const serverNode = namespacesOf(evidence, ['server-node']);
  return clientNode.length > 0 && clientNode.every((n) => serverNode.includes(n)) ? 'same-node' : 'cross-node';
}

const where = (namespaces: readonly string[]) => namespaces.join('+');

interface ItemVerdict {
  state: 'met' | 'failed' | 'unavailable';
  text: string;
}

function judgeRequirement(evidence: KernelPathEvidence, item: PathRequirement, traffic: TracedTraffic, unavailable: Map<EvidenceName, string>): ItemVerdict {
  const namespaces = namespacesOf(evidence, item.in);
  const minimum = item.per === 'connection' ? traffic.connections : traffic.messages;
  if (namespaces.length === 0) return { state: 'failed', text: `${item.anyOf.join('|')}: no traced namespace is ${item.in.join(' or ')}` };
  const available = item.anyOf.filter((name) => {
    const a = availability(evidence, name);
    if (!a.available) unavailable.set(name, a.reason);
    return a.available;
  });
  if (available.length === 0) return { state: 'unavailable', text: item.anyOf.join('|') };
  const counted = available.map((name) => ({ name, count: countOf(evidence, name, namespaces) }));
  const best = counted.reduce((a, b) => (b.count > a.count ? b : a));
  const text = `${counted.map((c) => `${c.name}@${where(namespaces)} ${c.count}`).join(', ')} (need >= ${minimum}: one per ${item.per})`;
  return best.count >= minimum ? { state: 'met', text } : { state: 'failed', text: `${text}: ${item.why}` };
}

function judgeProhibition(evidence: KernelPathEvidence, item: PathProhibition, unavailable: Map<EvidenceName, string>): ItemVerdict {
  const namespaces = namespacesOf(evidence, item.in);
  const available = item.anyOf.filter((name) => {
    const a = availability(evidence, name);
    if (!a.available) unavailable.set(name, a.reason);
    return a.available;
  });
  if (available.length === 0 || namespaces.length === 0) return { state: 'unavailable', text: item.anyOf.join('|') };
  const counted = available.map((name) => ({ name, count: countOf(evidence, name, namespaces) }));
  const hit = counted.filter((c) => c.count > 0);
  if (hit.length === 0) return { state: 'met', text: `${available.join(', ')}@${where(namespaces)} 0` };
  return { state: 'failed', text: `${hit.map((c) => `${c.name}@${where(namespaces)} ${c.count}`).join(', ')} (must be 0: ${item.why})` };
}

/**
 * The verdict. It passes when no item failed, at least one must-hit item and (if the expectation has
 * any) one must-not-hit item could be checked, and nothing was lost from the evidence. Items whose
 * points are all unavailable on this kernel are listed with the reason, never passed over silently.
 */
export function judgeKernelPath(evidence: KernelPathEvidence, expectation: KernelPathExpectation, traffic: TracedTraffic = { connections: 1, messages: 1 }): KernelPathCheck {
  const placement = placementOf(evidence);
  const unavailable = new Map<EvidenceName, string>();
  const hits = expectation.mustHit.filter((r) => !r.placements || r.placements.includes(placement)).map((r) => judgeRequirement(evidence, r, traffic, unavailable));
  const misses = expectation.mustNotHit.map((p) => judgeProhibition(evidence, p, unavailable));
  const failed = [...hits, ...misses].filter((v) => v.state === 'failed');
  const problems = failed.map((v) => v.text);
  if (!hits.some((v) => v.state === 'met') && !hits.some((v) => v.state === 'failed')) problems.push('no must-hit step could be checked on this kernel');
  if (misses.length > 0 && !misses.some((v) => v.state === 'met') && !misses.some((v) => v.state === 'failed')) problems.push('no must-not-hit step could be checked on this kernel');
  if (evidence.trailLost > 0) problems.push(`${evidence.trailLost} trail events lost`);
  const parts: string[] = [];
  if (problems.length > 0) parts.push(`FAILED: ${problems.join('; ')}`);
  const met = hits.filter((v) => v.state === 'met').map((v) => v.text);
  const clean = misses.filter((v) => v.state === 'met').map((v) => v.text);
  if (met.length > 0) parts.push(`hit: ${met.join('; ')}`);
  if (clean.length > 0) parts.push(`not hit: ${clean.join('; ')}`);
  if (unavailable.size > 0) {
    const byReason = new Map<string, EvidenceName[]>();
    for (const [name, reason] of unavailable) byReason.set(reason, [...(byReason.get(reason) ?? []), name]);
    parts.push(`unavailable on ${evidence.kernel}: ${[...byReason].map(([reason, names]) => `${names.join(', ')} (${reason})`).join('; ')}`);
  }
  return { name: KERNEL_PATH_CHECK, ok: problems.length === 0, detail: parts.join(' | ') };
}
