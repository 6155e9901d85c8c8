// Replays iptables rule text into the final content of every chain, so that two rulesets written in
// different orders (Istio appends, then inserts with -I; the lab writes final order) can be compared
// chain by chain. Reads three dialects: the lab's iptables-restore input, Istio's golden files (the
// commands istio-iptables' test stub recorded, `* nat` / `-N` / `-A` / `-I`), and `iptables-save [-c]`.

/** Final rules of each table's chains, e.g. `{ nat: { ISTIO_OUTPUT: ['-o lo -s 127.0.0.6/32 -j RETURN'] } }`. */
export type IptablesChains = Record<string, Record<string, string[]>>;

interface TableState {
  rules: Map<string, string[]>;
  /** Chains created by -N or `:CHAIN - [..]`: kept even when empty. Builtins appear only with rules. */
  userChains: Set<string>;
}

/** Lines the golden files carry that are not rules: the save commands Istio's stub recorded. */
const RECORDED_COMMANDS = new Set(['iptables-save', 'ip6tables-save']);

function finish(tables: Map<string, TableState>): IptablesChains {
  const result: IptablesChains = {};
  for (const [table, state] of tables) {
    const chains: Record<string, string[]> = {};
    for (const [chain, rules] of state.rules) if (rules.length > 0 || state.userChains.has(chain)) chains[chain] = rules;
    if (Object.keys(chains).length > 0) result[table] = chains;
  }
  return result;
}

/**
 * Replays the text into one IptablesChains per restore input. A table header that repeats a table of
 * the current input starts the next input: Istio's goldens hold the IPv4 input, then the IPv6 one.
 * Any line it does not understand throws, so that a rule can never be skipped silently.
 */
export function replayIptables(text: string): IptablesChains[] {
  const inputs: IptablesChains[] = [];
  let tables = new Map<string, TableState>();
  let current: TableState | undefined;
  const chain = (name: string) => {
    if (!current) throw new Error(`a rule for ${name} before any table header`);
    let rules = current.rules.get(name);
    if (!rules) current.rules.set(name, (rules = []));
    return rules;
  };
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim().replace(/^\[\d+:\d+\] /, '');
    if (line === '' || line.startsWith('#') || RECORDED_COMMANDS.has(line) || line === 'COMMIT') return;
    const header = /^\* ?(\S+)$/.exec(line);
    if (header) {
      const name = header[1]!;
      if (tables.has(name)) {
        inputs.push(finish(tables));
        tables = new Map();
      }
      current = { rules: new Map(), userChains: new Set() };
      tables.set(name, current);
      return;
    }
    const declared = /^:(\S+) (\S+)/.exec(line) ?? /^-N (\S+)()$/.exec(line);
    if (declared) {
      chain(declared[1]!);
      if (declared[2] === '-' || declared[2] === '') current!.userChains.add(declared[1]!);
      return;
    }
    const appended = /^-A (\S+) (.+)$/.exec(line);
    if (appended) {
      chain(appended[1]!).push(appended[2]!);
      return;
    }
    // -I CHAIN [n] rule: n is 1-based and defaults to 1 (the chain's head).
    const inserted = /^-I (\S+) (?:(\d+) )?(.+)$/.exec(line);
    if (inserted) {
      const rules = chain(inserted[1]!);
      const position = Number(inserted[2] ?? '1') - 1;
      if (position > rules.length) throw new Error(`line ${index + 1}: -I ${inserted[1]} ${position + 1} past the chain's ${rules.length} rules`);
      rules.splice(position, 0, inserted[3]!);
      return;
    }
    throw new Error(`line ${index + 1}: not an iptables rule, chain or table line: ${JSON.stringify(raw)}`);
  });
  if (tables.size > 0) inputs.push(finish(tables));
  return inputs;
}

/** The one restore input of a ruleset that must hold exactly one (the lab's, or an IPv4-only golden). */
export function replaySingleIptables(text: string): IptablesChains {
  const inputs = replayIptables(text);
  if (inputs.length !== 1) throw new Error(`expected one restore input, found ${inputs.length}`);
  return inputs[0]!;
}

/** Number of rules in all chains. */
export function countIptablesRules(chains: IptablesChains): number {
  return Object.values(chains).reduce((sum, table) => sum + Object.values(table).reduce((n, rules) => n + rules.length, 0), 0);
}
