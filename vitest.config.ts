import { defineConfig } from 'vitest/config';

// Two projects: `unit` (generators, parsers, statistics, rendering; no root needed) and `privileged`
// (real namespaces, real traffic). Privileged files run one at a time: they share the kernel's
// global state (trace_pipe, bpf_stats_enabled) and two cores.
export default defineConfig({
  test: {
    reporters: ['default', './test/support/count-reporter.ts'],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['lab/**/*.test.ts', 'scenarios/**/*.test.ts', 'test/unit/**/*.test.ts'],
        },
      },
      {
        test: {
          name: 'privileged',
          include: ['test/privileged/**/*.test.ts'],
          fileParallelism: false,
          testTimeout: 180_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
