// Encoding map keys and values from their BTF description: the layout (sizes, member offsets, array
// lengths, signedness) comes from the object's own BTF, never from offsets written by hand. A value
// is given in the shape `bpftool map dump -j` prints as "formatted" for the same type, so that what
// the lab writes and what it reads back are the same JSON:
//   struct -> object by member name (members left out are zero: padding, unused slots)
//   int    -> number or bigint (booleans for BOOL ints)
//   enum   -> number, or the enumerator's name
//   array  -> array (shorter arrays are zero-filled); a char array may be a string (NUL-padded)
// This host is little-endian, as BPF maps on it are: integers are written least significant byte first.
import type { BtfType } from '../host/bpftool.ts';

export type BtfTable = ReadonlyMap<number, BtfType>;

export function btfTable(types: readonly BtfType[]): BtfTable {
  return new Map(types.map((t) => [t.id, t]));
}

/** Kinds that only qualify or rename another type. */
const MODIFIERS = new Set(['TYPEDEF', 'VOLATILE', 'CONST', 'RESTRICT', 'TYPE_TAG']);

function typeOf(table: BtfTable, id: number): BtfType {
  const type = table.get(id);
  if (!type) throw new Error(`BTF has no type ${id}`);
  return type;
}

/** The type a chain of typedefs and qualifiers ends in. */
export function resolveType(table: BtfTable, id: number): BtfType {
  let type = typeOf(table, id);
  for (let hops = 0; MODIFIERS.has(type.kind); hops++) {
    if (hops > 32 || type.type_id === undefined) throw new Error(`BTF type ${id} does not resolve to a concrete type`);
    type = typeOf(table, type.type_id);
  }
  return type;
}

/** The size in bytes of a BTF type. */
export function btfSize(table: BtfTable, id: number): number {
  const type = resolveType(table, id);
  switch (type.kind) {
    case 'INT':
    case 'ENUM':
    case 'ENUM64':
    case 'STRUCT':
    case 'UNION':
    case 'FLOAT':
      return type.size ?? 0;
    case 'PTR':
      return 8;
    case 'ARRAY':
      return (type.nr_elems ?? 0) * btfSize(table, type.type_id!);
    default:
      throw new Error(`cannot size BTF ${type.kind} ${type.name}`);
  }
}

/** Writes `bits` bits of `value` at bit `offset` of `out`, little-endian bit and byte order. */
function writeBits(out: Uint8Array, offset: number, bits: number, value: bigint, what: string): void {
  const limit = 1n << BigInt(bits);
  // Negative values are stored in two's complement.
  const unsigned = value < 0n ? limit + value : value;
  if (unsigned < 0n || unsigned >= limit) throw new Error(`${what}: ${value} does not fit ${bits} bits`);
  for (let i = 0; i < bits; i++) {
    const bit = offset + i;
    if ((unsigned >> BigInt(i)) & 1n) out[bit >> 3]! |= 1 << (bit & 7);
    else out[bit >> 3]! &= ~(1 << (bit & 7));
  }
}

function toBigInt(value: unknown, what: string): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'boolean') return value ? 1n : 0n;
  if (typeof value === 'number' && Number.isInteger(value)) return BigInt(value);
  throw new Error(`${what}: expected an integer, got ${JSON.stringify(value)}`);
}

function isCharArray(table: BtfTable, elemId: number): boolean {
  const elem = resolveType(table, elemId);
  return elem.kind === 'INT' && elem.size === 1 && (elem.encoding === 'CHAR' || elem.name === 'char');
}

/** Writes `value` as BTF type `id` into `out` starting at bit `offset` (`bits` narrows a bitfield member). */
function encodeInto(table: BtfTable, id: number, value: unknown, out: Uint8Array, offset: number, what: string, bits?: number): void {
  const type = resolveType(table, id);
  switch (type.kind) {
    case 'INT': {
      const width = bits ?? type.nr_bits ?? (type.size ?? 0) * 8;
      const signed = type.encoding === 'SIGNED';
      const v = toBigInt(value, what);
      if (!signed && v < 0n) throw new Error(`${what}: ${v} is negative, but the field is unsigned`);
      if (signed && (v >= 1n << BigInt(width - 1) || v < -(1n << BigInt(width - 1)))) throw new Error(`${what}: ${v} does not fit a signed ${width}-bit field`);
      writeBits(out, offset + (type.bits_offset ?? 0), width, v, what);
      return;
    }
    case 'ENUM':
    case 'ENUM64': {
      const named = typeof value === 'string' ? type.values?.find((e) => e.name === value) : undefined;
      if (typeof value === 'string' && !named) throw new Error(`${what}: ${type.name} has no enumerator ${value}`);
      writeBits(out, offset, bits ?? (type.size ?? 4) * 8, toBigInt(named ? named.val : value, what), what);
      return;
    }
    case 'ARRAY': {
      const count = type.nr_elems ?? 0;
      const elemId = type.type_id!;
      const elemBits = btfSize(table, elemId) * 8;
      let items: readonly unknown[];
      if (typeof value === 'string') {
        if (!isCharArray(table, elemId)) throw new Error(`${what}: a string can only fill a char array`);
        const text = Buffer.from(value, 'latin1');
        // bpftool prints a char array as a string only when it holds a NUL: keep room for one.
        if (text.length >= count) throw new Error(`${what}: "${value}" is longer than ${count - 1} characters`);
        items = [...text];
      } else if (Array.isArray(value)) {
        items = value;
      } else {
        throw new Error(`${what}: expected an array of ${count}, got ${JSON.stringify(value)}`);
      }
      if (items.length > count) throw new Error(`${what}: ${items.length} elements do not fit an array of ${count}`);
      items.forEach((item, i) => encodeInto(table, elemId, item, out, offset + i * elemBits, `${what}[${i}]`));
      return;
    }
    case 'STRUCT':
    case 'UNION': {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${what}: expected an object for ${type.kind.toLowerCase()} ${type.name}`);
      const members = type.members ?? [];
      const given = value as Record<string, unknown>;
      const unknown = Object.keys(given).filter((k) => !members.some((m) => m.name === k));
      if (unknown.length) throw new Error(`${what}: ${type.kind.toLowerCase()} ${type.name} has no member ${unknown.join(', ')} (it has ${members.map((m) => m.name).join(', ')})`);
      if (type.kind === 'UNION' && Object.keys(given).length > 1) throw new Error(`${what}: give one member of union ${type.name}`);
      for (const m of members) {
        if (m.name in given) encodeInto(table, m.type_id, given[m.name], out, offset + m.bits_offset, `${what}.${m.name}`, m.bitfield_size || undefined);
      }
      return;
    }
    default:
      throw new Error(`${what}: cannot encode BTF ${type.kind} ${type.name}`);
  }
}

/** The bytes of `value` laid out as BTF type `id`. */
export function encodeBtf(table: BtfTable, id: number, value: unknown, what = 'value'): Uint8Array {
  const out = new Uint8Array(btfSize(table, id));
  encodeInto(table, id, value, out, 0, what);
  return out;
}
