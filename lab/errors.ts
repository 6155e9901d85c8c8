// Errors the CLI turns into exit code 2: the user asked for something that cannot be (an unknown
// backend, a malformed scenario), as opposed to the lab failing while doing it.
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
