// nftables counters as evidence, in the same shape as the iptables counters (lab/evidence/iptables.ts):
// which rules matched, how many packets, per table and chain. Read from `nft -j list ruleset`
// (libnftables-json(5)); each rule's text is rendered back from its JSON expressions in the syntax
// `nft list ruleset` prints, without the counter's numbers, e.g. `tcp dport 15008 counter return`.
import { nftListRulesetJson } from '../host/nft.ts';
import type { IptablesSnapshot, RuleCounter } from './iptables.ts';

export interface NftRuleCounter extends RuleCounter {
  /** "family name", e.g. "inet istio-proxy-nat". */
  table: string;
  /**
   * What the rule does: the chain it jumps to (as an iptables -j CHAIN target), or the first action
   * statement's keyword (`return`, `accept`, `redirect`, `tproxy`, `mangle` for `... set ...`).
   */
  target: string;
  /** False for a rule without a counter statement: its packets and bytes are 0 because unknown. */
  counted: boolean;
  handle: number;
}

export interface NftSnapshot extends IptablesSnapshot {
  rules: NftRuleCounter[];
  /** Every table, as "family name". */
  tables: string[];
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const isObject = (v: Json | undefined): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Meta keys nft prints without the `meta` keyword. */
const UNQUALIFIED_META = new Set(['iif', 'oif', 'iifname', 'oifname', 'iifgroup', 'oifgroup']);
/** Keys whose values nft prints as quoted strings or as 32-bit hex. */
const STRING_KEYS = new Set(['meta iifname', 'meta oifname']);
const HEX_KEYS = new Set(['meta mark', 'ct mark']);

/** "meta mark", "ct state", "tcp dport": what a left-hand expression is, for formatting its value. */
function keyOf(expr: Json | undefined): string {
  if (!isObject(expr)) return '';
  if (isObject(expr.meta)) return `meta ${String(expr.meta.key)}`;
  if (isObject(expr.ct)) return `ct ${String(expr.ct.key)}`;
  if (isObject(expr.payload)) return `${String(expr.payload.protocol)} ${String(expr.payload.field)}`;
  if (Array.isArray(expr['&'])) return keyOf(expr['&'][0]);
  if (Array.isArray(expr['|'])) return keyOf(expr['|'][0]);
  return '';
}

function renderValue(value: Json | undefined, key: string): string {
  if (typeof value === 'number') return HEX_KEYS.has(key) ? `0x${value.toString(16).padStart(8, '0')}` : String(value);
  if (typeof value === 'string') return STRING_KEYS.has(key) ? `"${value}"` : value;
  if (Array.isArray(value)) return value.map((v) => renderValue(v, key)).join(',');
  if (isObject(value)) {
    if (isObject(value.prefix)) return `${String(value.prefix.addr)}/${String(value.prefix.len)}`;
    if (Array.isArray(value.set)) return `{ ${value.set.map((v) => renderValue(v, key)).join(', ')} }`;
    if (Array.isArray(value.range)) return value.range.map((v) => renderValue(v, key)).join('-');
    return renderExpr(value);
  }
  return JSON.stringify(value);
}

function renderExpr(expr: Json | undefined): string {
  if (!isObject(expr)) return renderValue(expr, '');
  if (isObject(expr.meta)) {
    const k = String(expr.meta.key);
    return UNQUALIFIED_META.has(k) ? k : `meta ${k}`;
  }
  if (isObject(expr.ct)) return `ct ${expr.ct.dir ? `${String(expr.ct.dir)} ` : ''}${String(expr.ct.key)}`;
  if (isObject(expr.payload)) return `${String(expr.payload.protocol)} ${String(expr.payload.field)}`;
  for (const op of ['&', '|', '^'] as const) {
    const operands = expr[op];
    if (Array.isArray(operands)) return `${renderExpr(operands[0])} ${op} ${renderValue(operands[1], keyOf(operands[0]))}`;
  }
  return JSON.stringify(expr);
}

const ACTIONS = ['jump', 'goto', 'return', 'accept', 'drop', 'continue', 'redirect', 'tproxy', 'mangle', 'dnat', 'snat', 'masquerade'];

/** One statement as `nft list` prints it (the counter without its numbers). */
function renderStatement(statement: JsonObject): string {
  const [name, body] = Object.entries(statement)[0] ?? ['', null];
  switch (name) {
    case 'match': {
      const m = body as JsonObject;
      const key = keyOf(m.left);
      const op = m.op === '==' || m.op === 'in' ? '' : `${String(m.op)} `;
      return `${renderExpr(m.left)} ${op}${renderValue(m.right, key)}`;
    }
    case 'counter':
      return 'counter';
    case 'jump':
    case 'goto':
      return `${name} ${String((body as JsonObject).target)}`;
    case 'return':
    case 'accept':
    case 'drop':
    case 'continue':
      return name;
    case 'redirect':
      return isObject(body) && body.port !== undefined ? `redirect to :${String(body.port)}` : 'redirect';
    case 'tproxy': {
      const t = body as JsonObject;
      return `tproxy ${t.family ? `${String(t.family)} ` : ''}to ${t.addr ? String(t.addr) : ''}:${String(t.port)}`;
    }
    case 'mangle': {
      const m = body as JsonObject;
      return `${renderExpr(m.key)} set ${renderValue(m.value, keyOf(m.key))}`;
    }
    default:
      return JSON.stringify(statement);
  }
}

function targetOf(statements: JsonObject[]): string {
  for (const statement of statements) {
    const [name, body] = Object.entries(statement)[0] ?? ['', null];
    if (!ACTIONS.includes(name)) continue;
    return name === 'jump' || name === 'goto' ? String((body as JsonObject).target) : name;
  }
  return '';
}

/** Parses `nft -j list ruleset` output (the parsed JSON) into per-rule counters. */
export function parseNftRuleset(ruleset: unknown): NftSnapshot {
  const items = (isObject(ruleset as Json) ? (ruleset as JsonObject).nftables : undefined) ?? [];
  if (!Array.isArray(items)) throw new Error('not an `nft -j list ruleset` document: no "nftables" array');
  const tables: string[] = [];
  const rules: NftRuleCounter[] = [];
  for (const item of items) {
    if (!isObject(item)) continue;
    if (isObject(item.table)) tables.push(`${String(item.table.family)} ${String(item.table.name)}`);
    if (!isObject(item.rule)) continue;
    const r = item.rule;
    const statements = (Array.isArray(r.expr) ? r.expr : []).filter(isObject);
    const counter = statements.map((s) => s.counter).find(isObject);
    rules.push({
      table: `${String(r.family)} ${String(r.table)}`,
      chain: String(r.chain),
      rule: statements.map(renderStatement).join(' '),
      target: targetOf(statements),
      packets: counter ? Number(counter.packets) : 0,
      bytes: counter ? Number(counter.bytes) : 0,
      counted: counter !== undefined,
      handle: Number(r.handle),
    });
  }
  return { rules, ruleCount: rules.length, tables };
}

export async function readNft(netns: string): Promise<NftSnapshot> {
  return parseNftRuleset(await nftListRulesetJson(netns));
}

/** The rules of the tables whose names start with `prefix` (e.g. "inet istio-proxy-"). */
export function rulesOfTables(snapshot: NftSnapshot, prefix: string): NftRuleCounter[] {
  return snapshot.rules.filter((r) => r.table.startsWith(prefix));
}
