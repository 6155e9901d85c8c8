// Typed access to pinned BPF maps. Reading uses bpftool's own BTF decoding (the "formatted" view of
// `bpftool -j map dump`); writing encodes the same JSON shape through the map's BTF (btf.ts). Map
// layouts therefore come from the object itself: a field added to a struct in bpf/ needs no byte
// offset changed here.
import { btfTypes, deleteMapElement, dumpMap, mapBtfRoot, mapInfo, updateMapElement, type BpftoolMapEntry } from '../host/bpftool.ts';
import { btfTable, encodeBtf, type BtfTable } from './btf.ts';

export interface MapEntry<K = unknown, V = unknown> {
  key: K;
  value: V;
}

export interface PerCpuMapEntry<K = unknown, V = unknown> {
  key: K;
  /** One value per possible CPU, in CPU order. */
  values: V[];
}

function noBtf(pinned: string): Error {
  return new Error(`${pinned} has no BTF (bpftool printed no "formatted" view): build its object with clang -g`);
}

/** Entries of a plain (not per-CPU) map, as BTF decodes them. Empty for an empty map. */
export function formattedEntries<K, V>(pinned: string, dump: readonly BpftoolMapEntry[]): MapEntry<K, V>[] {
  return dump.map((e) => {
    if (!e.formatted || !('value' in e.formatted)) throw noBtf(pinned);
    return { key: e.formatted.key as K, value: e.formatted.value as V };
  });
}

/** Entries of a per-CPU map, as BTF decodes them. */
export function formattedPerCpuEntries<K, V>(pinned: string, dump: readonly BpftoolMapEntry[]): PerCpuMapEntry<K, V>[] {
  return dump.map((e) => {
    if (!e.formatted?.values) throw noBtf(pinned);
    return { key: e.formatted.key as K, values: [...e.formatted.values].sort((a, b) => a.cpu - b.cpu).map((v) => v.value as V) };
  });
}

/** Every entry of a pinned map. K and V are the shapes bpftool prints for the map's BTF key and value types. */
export async function readMap<K = unknown, V = unknown>(pinned: string): Promise<MapEntry<K, V>[]> {
  return formattedEntries<K, V>(pinned, await dumpMap(pinned));
}

export async function readPerCpuMap<K = unknown, V = unknown>(pinned: string): Promise<PerCpuMapEntry<K, V>[]> {
  return formattedPerCpuEntries<K, V>(pinned, await dumpMap(pinned));
}

/**
 * A per-CPU array of u64 counters (LAB_COUNTER_MAP in bpf/include/lab_counters.h), each summed over
 * CPUs. bpftool prints u64 values as JSON numbers: exact up to 2^53, far beyond any counter of a run.
 */
export function sumCounters(entries: readonly PerCpuMapEntry<number, number>[]): Map<number, number> {
  return new Map(entries.map((e) => [e.key, e.values.reduce((sum, v) => sum + v, 0)]));
}

/** Counter sums by name, given the names in the order of the program's counter enum. */
export function nameCounters<Name extends string>(sums: ReadonlyMap<number, number>, names: readonly Name[]): Record<Name, number> {
  return Object.fromEntries(names.map((name, index) => [name, sums.get(index) ?? 0])) as Record<Name, number>;
}

export async function readCounters<Name extends string>(pinned: string, names: readonly Name[]): Promise<Record<Name, number>> {
  return nameCounters(sumCounters(await readPerCpuMap<number, number>(pinned)), names);
}

/** A map's key and value layouts, from the BTF the map was created with. */
export interface MapLayout {
  table: BtfTable;
  keyType: number;
  valueType: number;
}

/** Layouts by map id: a map's BTF never changes while it exists, and ids are not reused while it does. */
const layouts = new Map<number, Promise<MapLayout>>();

export async function mapLayout(pinned: string): Promise<MapLayout> {
  const info = await mapInfo(pinned);
  if (!info.btf_id) throw noBtf(pinned);
  let layout = layouts.get(info.id);
  if (!layout) {
    const btfId = info.btf_id;
    layout = (async () => {
      const [types, key, value] = await Promise.all([btfTypes(btfId), mapBtfRoot(pinned, 'key'), mapBtfRoot(pinned, 'value')]);
      return { table: btfTable(types), keyType: key.id, valueType: value.id };
    })();
    layout.catch(() => layouts.delete(info.id));
    layouts.set(info.id, layout);
  }
  return layout;
}

/** Writes one entry, key and value in the shape `readMap` returns them (see btf.ts for the rules). */
export async function updateMap(pinned: string, key: unknown, value: unknown): Promise<void> {
  const { table, keyType, valueType } = await mapLayout(pinned);
  await updateMapElement(pinned, encodeBtf(table, keyType, key, 'key'), encodeBtf(table, valueType, value, 'value'));
}

/** Deletes one entry; deleting a missing key is not an error. */
export async function deleteMapEntry(pinned: string, key: unknown): Promise<void> {
  const { table, keyType } = await mapLayout(pinned);
  await deleteMapElement(pinned, encodeBtf(table, keyType, key, 'key'));
}
