// The kernel-path tracer: what a lab run's traffic did inside the kernel, per namespace, as evidence
// (trace.ts), the per-backend expectations (signatures.ts), the `kernel-path` verdict (judge.ts),
// and the ordered trail of one request (trail.ts). See docs/kernel-paths.md.
export { KERNEL_PATH_FORMAT, NETNS_ROLES, type KernelPathEvidence, type NetnsRole, type TrailEvent } from './evidence.ts';
export { judgeKernelPath, KERNEL_PATH_CHECK, placementOf, type KernelPathCheck, type TracedTraffic } from './judge.ts';
export { SIGNALS, type EvidenceName, type SignalName } from './points.ts';
export { expectationFunctions, KERNEL_PATH_EXPECTATIONS, type KernelPathExpectation, type PathProhibition, type PathRequirement } from './signatures.ts';
export { netnsInode, pathNamespaces, startKernelPathTrace, type KernelFunction, type KernelPathTrace, type KernelPathTraceOptions } from './trace.ts';
export { firstRequestTrail, formatTrail, isKeyStep, type RequestTrail } from './trail.ts';
