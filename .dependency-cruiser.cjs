// The lab's layers, enforced by dependency-cruiser in `npm test` (docs/architecture.md explains them).
// Each layer may import only from the layers before it. A layer that is a list holds siblings that
// may not import each other either, unless a later entry puts one above the other.
const LAYERS = [
  ['host', 'errors.ts'], // the only code that runs commands
  ['topology'], // nodes, pods, veths, cgroups, the ledger
  ['istio', 'bpf', 'traffic'], // Istio's facts and generators; the BPF object layer; traffic drivers
  ['evidence'], // readers of kernel and proxy state
  ['proxy', 'tracer', 'features'], // HAProxy; the kernel-path tracer; kernel feature probes
  ['judge'], // the plan's data and the shared pure checks
  ['backends'], // one folder per backend, and the registry
  ['verify', 'report', 'experiments'], // the verify runner; results, statistics, rendering; studies
  ['scenario', 'bench', 'doctor', 'ops'], // scenarios; the benchmark; the machine check; the operator scripts' helpers
  ['cli'], // the `lab` command
];

const folder = (name) => (name.endsWith('.ts') ? `^lab/${name.replace('.', '\\.')}$` : `^lab/${name}/`);
const rules = [];
LAYERS.forEach((layer, index) => {
  const later = LAYERS.slice(index + 1).flat();
  for (const name of layer) {
    const siblings = layer.filter((other) => other !== name);
    const forbidden = [...later, ...siblings];
    if (forbidden.length === 0) continue;
    rules.push({
      name: `layer-${name.replace('.ts', '')}`,
      comment: `lab/${name} may import only from the layers below it (${LAYERS.slice(0, index).flat().join(', ') || 'none'})`,
      severity: 'error',
      from: { path: folder(name) },
      to: { path: forbidden.map(folder) },
    });
  }
});

module.exports = {
  forbidden: [
    ...rules,
    {
      name: 'no-circular',
      comment: 'no module may depend on itself through others',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'commands-only-in-host',
      comment: 'only lab/host runs commands (execa, child_process); everything else calls it',
      severity: 'error',
      from: { path: '^lab/', pathNot: '^lab/host/' },
      to: { path: ['node_modules/execa/', '^(node:)?child_process$'] },
    },
    {
      name: 'library-not-on-callers',
      comment: 'the library never imports scenarios, scripts or tests',
      severity: 'error',
      from: { path: '^lab/' },
      to: { path: ['^scenarios/', '^scripts/', '^test/'] },
    },
    {
      name: 'layer-unknown-folder',
      comment: 'every folder of lab/ has a place in LAYERS above',
      severity: 'error',
      from: { path: '^lab/', pathNot: [...LAYERS.flat().map(folder)] },
      to: {},
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: ['\\.test\\.ts$', 'node_modules', '^bpf/build'] },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: { extensions: ['.ts', '.mjs', '.js'] },
  },
};
