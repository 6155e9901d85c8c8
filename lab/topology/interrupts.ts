// Ctrl-C and SIGTERM: tear down every live lab before the process exits, so an interrupted run
// leaves nothing behind. (SIGKILL cannot be caught: the ledger covers that case.)
type Teardown = () => Promise<unknown>;

const active = new Set<Teardown>();
let exiting = false;

async function onSignal(signal: NodeJS.Signals): Promise<void> {
  if (exiting) return; // a second Ctrl-C while tearing down: keep tearing down
  exiting = true;
  process.stderr.write(`\nlab: ${signal} received, tearing down ${active.size} run(s)...\n`);
  for (const teardown of [...active]) await teardown().catch(() => undefined);
  process.exit(signal === 'SIGINT' ? 130 : 143);
}

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
const handler = (signal: NodeJS.Signals) => void onSignal(signal);

/** Registers a live lab's teardown; the handlers exist only while some lab is live. */
export function registerTeardown(teardown: Teardown): () => void {
  if (active.size === 0) for (const signal of SIGNALS) process.on(signal, handler);
  active.add(teardown);
  return () => {
    active.delete(teardown);
    if (active.size === 0 && !exiting) for (const signal of SIGNALS) process.off(signal, handler);
  };
}
