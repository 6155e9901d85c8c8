// Regenerates btf-dumps.json (run as root: `npx tsx lab/bpf/testdata/capture-btf.ts`). Loads the
// built tc_redirect and sockmap objects into a scratch bpffs directory, writes map entries as raw
// bytes (independent of lab/bpf/btf.ts, which the fixture tests), and saves each object's loaded BTF
// with each map's key/value type ids and bpftool's dump (raw bytes and "formatted" view).
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BPFFS_ROOT, btfTypes, dumpMap, mapBtfRoot, mapInfo, updateMapElement } from '../../host/bpftool.ts';
import { loadAllPinned } from '../../host/feature-probe.ts';
import { builtObject } from '../objects.ts';

const hex = (text: string) => Uint8Array.from(text.split(/\s+/).filter(Boolean).map((h) => parseInt(h, 16)));
const TAG = '6c 61 62 2d 61 62 31 63 64 00 00 00 00 00 00 00'; // "lab-ab1cd"

/** Entries per object and map: key and value bytes, as the programs' headers lay them out. */
const ENTRIES: Record<string, Record<string, Array<[string, string]>>> = {
  tc_redirect: {
    // tag; ports 15001, 15006, 15008, reserved; marks 0x400, 0x539, 0x53a
    tc_config: [['00 00 00 00', `${TAG} 99 3a 9e 3a a0 3a 00 00 00 04 00 00 39 05 00 00 3a 05 00 00`]],
    tc_pods: [
      ['c6 12 01 0a', '02 01 00 00 0a 1b 2c 3d 4e 5f 01 00'],
      ['c6 12 02 0b', '11 00 00 00 aa bb cc dd ee ff 02 00'],
    ],
    tc_proxies: [['01 00 00 00', '07 00 00 00 aa bb cc dd ee ff 00 00 c6 12 01 01']],
  },
  sockmap: {
    // tag; mode 1; uid 1337; ports 15001, 15006, 15008, reserved; excluded 15020, 15021, 15082, 0
    config: [['00 00 00 00', `${TAG} 01 00 00 00 39 05 00 00 99 3a 9e 3a a0 3a 00 00 ac 3a ad 3a ea 3a 00 00`]],
    pods_by_ip: [['c6 12 02 0a', 'c6 12 02 0a 02 00 00 00']],
    pods_by_cgroup: [['39 30 00 00 00 00 00 00', 'c6 12 02 0a 02 00 00 00']],
    pair_origin: [['c6 12 01 0a c6 12 02 0a 40 9c 90 1f', 'c6 12 02 0a 90 1f 01 00']],
  },
};

const scratch = join(BPFFS_ROOT, `lab-btfcapture${process.pid}`);
const out: Record<string, unknown> = {
  about:
    'Written by lab/bpf/testdata/capture-btf.ts: per object, every type of its loaded BTF (bpftool -j btf dump id N), and per map its key/value root type ids (btf dump map ... key|value) and its dump (map dump -j: raw bytes and formatted). Used by lab/bpf/btf.test.ts.',
};
try {
  for (const [object, maps] of Object.entries(ENTRIES)) {
    const dir = join(scratch, object);
    mkdirSync(join(dir, 'maps'), { recursive: true });
    const loaded = await loadAllPinned(await builtObject(object), join(dir, 'progs'), join(dir, 'maps'));
    if (!loaded.ok) throw new Error(loaded.log);
    const captured: Record<string, unknown> = {};
    let btfId = 0;
    for (const [map, entries] of Object.entries(maps)) {
      const pinned = join(dir, 'maps', map);
      for (const [key, value] of entries) await updateMapElement(pinned, hex(key), hex(value));
      btfId = (await mapInfo(pinned)).btf_id ?? 0;
      captured[map] = { keyType: (await mapBtfRoot(pinned, 'key')).id, valueType: (await mapBtfRoot(pinned, 'value')).id, dump: await dumpMap(pinned) };
    }
    out[object] = { types: await btfTypes(btfId), maps: captured };
  }
  writeFileSync(new URL('./btf-dumps.json', import.meta.url), JSON.stringify(out) + '\n');
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
