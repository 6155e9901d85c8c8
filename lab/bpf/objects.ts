// BPF objects: built from bpf/ by scripts/build-bpf.sh, loaded with bpftool, and pinned under the
// run's own bpffs directory (/sys/fs/bpf/lab-<run>/<object>/), which the ledger removes on teardown.
// Shared by every BPF backend (sockmap, tc).
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BPFFS_ROOT } from '../host/bpftool.ts';
import { run } from '../host/exec.ts';
import { loadAllPinned } from '../host/feature-probe.ts';
import type { Lab } from '../topology/lab.ts';

export const BPF_SOURCE_DIR = fileURLToPath(new URL('../../bpf/', import.meta.url));
export const BPF_BUILD_DIR = join(BPF_SOURCE_DIR, 'build');
const BUILD_SCRIPT = fileURLToPath(new URL('../../scripts/build-bpf.sh', import.meta.url));

export interface LoadedObject {
  /** The object's name: bpf/**\/<name>.bpf.c. */
  name: string;
  /** Pinned program paths by program (function) name. */
  programs: Map<string, string>;
  /** Pinned map paths by map name. */
  maps: Map<string, string>;
  pinDir: string;
}

/** Path of a built object, building bpf/ first when the object is missing or older than its source. */
export async function builtObject(name: string): Promise<string> {
  const object = join(BPF_BUILD_DIR, `${name}.bpf.o`);
  await run('bash', [BUILD_SCRIPT], { timeoutMs: 120_000 });
  if (!existsSync(object)) throw new Error(`bpf/ has no program ${name}.bpf.c (built objects: ${readdirSync(BPF_BUILD_DIR).join(', ')})`);
  return object;
}

/** Path of a native helper from bpf/tools/ (built with the BPF objects). */
export async function builtTool(name: string): Promise<string> {
  const tool = join(BPF_BUILD_DIR, name);
  await run('bash', [BUILD_SCRIPT], { timeoutMs: 120_000 });
  if (!existsSync(tool)) throw new Error(`bpf/tools has no helper ${name}.c`);
  return tool;
}

/** The run's bpffs directory, created (and recorded for removal) on first use. */
export function runPinRoot(lab: Lab): string {
  if (!existsSync(BPFFS_ROOT) || !statSync(BPFFS_ROOT).isDirectory()) throw new Error(`${BPFFS_ROOT} is missing: run scripts/setup.sh (it mounts bpffs)`);
  const root = join(BPFFS_ROOT, `lab-${lab.runId}`);
  if (!existsSync(root)) {
    lab.record({ kind: 'bpf-pin', path: root });
    mkdirSync(root);
  }
  return root;
}

/**
 * Loads every program of an object and pins programs and maps under the run's bpffs directory.
 * `objectPath` loads a prebuilt object instead of bpf/<name> (the fault tests load a broken one).
 */
export async function loadObject(lab: Lab, name: string, options: { objectPath?: string } = {}): Promise<LoadedObject> {
  const object = options.objectPath ?? (await builtObject(name));
  const pinDir = join(runPinRoot(lab), name);
  const programDir = join(pinDir, 'progs');
  const mapDir = join(pinDir, 'maps');
  mkdirSync(mapDir, { recursive: true });
  const loaded = await loadAllPinned(object, programDir, mapDir);
  if (!loaded.ok) throw new Error(`the kernel refused to load ${name}.bpf.o (verifier log below); check \`lab doctor\` for missing BPF features\n${loaded.log}`);
  const pinned = (dir: string) => new Map(readdirSync(dir).map((entry) => [entry, join(dir, entry)] as const));
  return { name, programs: pinned(programDir), maps: pinned(mapDir), pinDir };
}

function pinnedPath(object: LoadedObject, table: Map<string, string>, what: string, name: string): string {
  const path = table.get(name);
  if (!path) throw new Error(`${object.name}.bpf.o has no ${what} ${name} (it has ${[...table.keys()].join(', ')})`);
  return path;
}

/** The pinned path of one of the object's maps; throws naming the maps it has. */
export const pinnedMap = (object: LoadedObject, name: string): string => pinnedPath(object, object.maps, 'map', name);

/** The pinned path of one of the object's programs; throws naming the programs it has. */
export const pinnedProgram = (object: LoadedObject, name: string): string => pinnedPath(object, object.programs, 'program', name);
