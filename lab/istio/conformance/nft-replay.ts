// Replays an `nft -f` script into the final content of every table and chain, so that Istio's
// nftables goldens (appends, then `insert rule ... index N`) and the lab's generator (final order)
// can be compared chain by chain. Understands the commands those scripts use and throws on any other.

export interface NftChainContent {
  /** The base-chain specification, whitespace collapsed, e.g. "type nat hook output priority -100 ;". */
  spec?: string;
  rules: string[];
}

/** `{ 'inet istio-proxy-nat': { output: { spec, rules } } }` */
export type NftTables = Record<string, Record<string, NftChainContent>>;

const collapse = (s: string) => s.trim().replace(/\s+/g, ' ');

export function replayNftScript(text: string): NftTables {
  const tables = new Map<string, Map<string, NftChainContent>>();
  const table = (family: string, name: string, line: number) => {
    const found = tables.get(`${family} ${name}`);
    if (!found) throw new Error(`line ${line}: table ${family} ${name} used before \`add table\``);
    return found;
  };
  const chain = (family: string, tableName: string, name: string, line: number) => {
    const found = table(family, tableName, line).get(name);
    if (!found) throw new Error(`line ${line}: chain ${name} used before \`add chain\``);
    return found;
  };
  text.split('\n').forEach((raw, index) => {
    const line = collapse(raw);
    const n = index + 1;
    if (line === '' || line.startsWith('#')) return;
    let m: RegExpExecArray | null;
    if ((m = /^add table (\S+) (\S+)$/.exec(line))) {
      if (!tables.has(`${m[1]} ${m[2]}`)) tables.set(`${m[1]} ${m[2]}`, new Map());
    } else if ((m = /^flush table (\S+) (\S+)$/.exec(line))) {
      // Flushing a table empties its chains and keeps them, as nft does.
      for (const content of table(m[1]!, m[2]!, n).values()) content.rules = [];
    } else if ((m = /^delete table (\S+) (\S+)$/.exec(line))) {
      table(m[1]!, m[2]!, n);
      tables.delete(`${m[1]} ${m[2]}`);
    } else if ((m = /^add chain (\S+) (\S+) (\S+)(?: \{ (.*) \})?$/.exec(line))) {
      const chains = table(m[1]!, m[2]!, n);
      const existing = chains.get(m[3]!);
      if (!existing) chains.set(m[3]!, { ...(m[4] === undefined ? {} : { spec: collapse(m[4]) }), rules: [] });
      else if (m[4] !== undefined && existing.spec !== collapse(m[4])) throw new Error(`line ${n}: chain ${m[3]} redefined`);
    } else if ((m = /^add rule (\S+) (\S+) (\S+) (.+)$/.exec(line))) {
      chain(m[1]!, m[2]!, m[3]!, n).rules.push(m[4]!);
    } else if ((m = /^insert rule (\S+) (\S+) (\S+) (?:index (\d+) )?(.+)$/.exec(line))) {
      // `insert ... index N` puts the rule before the one now at index N (0-based); no index: first.
      const content = chain(m[1]!, m[2]!, m[3]!, n);
      const at = Number(m[4] ?? '0');
      if (at > content.rules.length) throw new Error(`line ${n}: index ${at} past the chain's ${content.rules.length} rules`);
      content.rules.splice(at, 0, m[5]!);
    } else {
      throw new Error(`line ${n}: not an nft command this replay understands: ${JSON.stringify(raw)}`);
    }
  });
  const result: NftTables = {};
  for (const [name, chains] of tables) result[name] = Object.fromEntries(chains);
  return result;
}
