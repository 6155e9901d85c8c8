#!/usr/bin/env node
// The `lab` command. The library is TypeScript; tsx compiles it on the fly so that a clean checkout
// runs without a build step (`npx lab ...`, `sudo npm run lab -- ...`).
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../lab/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
