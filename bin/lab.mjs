#!/usr/bin/env node
// The `lab` command. The library is TypeScript; tsx compiles it on the fly so that a clean checkout
// runs without a build step (`npx lab ...`, `sudo npm run lab -- ...`).
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../lab/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
// Teardown has run by now. The run owns its samplers and readers and stops them, so the process
// normally ends here by itself; should anything still hold the event loop, exit anyway rather than
// leave a terminal or a CI job waiting. The timer does not itself keep the process alive.
setTimeout(() => process.exit(), 1000).unref();
