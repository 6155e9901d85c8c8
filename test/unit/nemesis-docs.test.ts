// docs/nemesis.md and the nemesis tables (test/nemesis/*.ts) say the same thing: every break of every
// table is a row of its backend's table on the page, naming the check that must catch it, and every
// row on the page is a break (or a tolerated change) of that backend's table.
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Nemesis } from '../nemesis/break.ts';

const NEMESIS_DIR = new URL('../nemesis/', import.meta.url);
const DOC = readFileSync(new URL('../../docs/nemesis.md', import.meta.url), 'utf8');
/** The harness, not tables. Other files may hold helpers: only exports shaped like a Nemesis count. */
const NOT_TABLES = new Set(['break.ts', 'run.ts']);
/** What a tolerated change's row names instead of a check. */
const TOLERATED = '(tolerated)';

const isNemesis = (value: unknown): value is Nemesis =>
  typeof value === 'object' && value !== null && typeof (value as Nemesis).backend === 'string' && Array.isArray((value as Nemesis).breaks);

async function loadTables(): Promise<Nemesis[]> {
  const files = readdirSync(NEMESIS_DIR).filter((f) => f.endsWith('.ts') && !NOT_TABLES.has(f));
  const modules = await Promise.all(files.map((f) => import(new URL(f, NEMESIS_DIR).href) as Promise<Record<string, unknown>>));
  return modules.flatMap((m) => Object.values(m).filter(isNemesis));
}

/** The rows of the table under the heading naming `backend` (`## none`, `### tproxy`, with or without backticks). */
export function rowsOf(doc: string, backend: string): Array<{ name: string; check: string }> | undefined {
  const lines = doc.split('\n');
  const start = lines.findIndex((l) => new RegExp(`^#{2,4} \`?${backend.replace(/[-]/g, '\\-')}\`?\\s*$`).test(l));
  if (start < 0) return undefined;
  const end = lines.findIndex((l, i) => i > start && /^#{1,4} /.test(l));
  const section = lines.slice(start + 1, end < 0 ? undefined : end);
  const cells = section.filter((l) => l.startsWith('|')).map((l) => l.split('|').slice(1, -1).map((c) => c.trim()));
  // Skip the header row and the separator row.
  return cells.filter((c) => c[0] !== 'break' && !/^-+$/.test(c[0] ?? '')).map((c) => ({ name: c[0] ?? '', check: (c[1] ?? '').replace(/^`|`$/g, '') }));
}

const tables = await loadTables();

describe('docs/nemesis.md lists every break of every nemesis table', () => {
  it('finds a table for each of the 8 backends', () => {
    expect(tables.map((t) => t.backend).sort()).toEqual(['ambient', 'none', 'redirect', 'redirect-nft', 'sockmap', 'tc', 'tproxy', 'tproxy-nft']);
    expect(new Set(tables.map((t) => t.backend)).size).toBe(tables.length);
  });

  for (const table of tables) {
    const rows = rowsOf(DOC, table.backend);
    it(`${table.backend}: the page's table and test/nemesis's are the same, both ways`, () => {
      expect(rows, `docs/nemesis.md has no section for ${table.backend}`).toBeDefined();
      const documented = rows!.map((r) => `${r.name} -> ${r.check}`).sort();
      const tabled = [...table.breaks.map((b) => `${b.name} -> ${b.caughtBy.check}`), ...(table.tolerated ?? []).map((t) => `${t.name} -> ${TOLERATED}`)].sort();
      expect(documented).toEqual(tabled);
    });
  }
});

describe('rowsOf', () => {
  const page = ['## a', '| break | check | detail |', '|---|---|---|', '| x broken | `c1` | d |', '| y | (tolerated) | z |', '### b-c', '| break | check | detail |', '|---|---|---|', '| w | `c2` | e |'].join('\n');

  it("reads one backend's rows up to the next heading", () => {
    expect(rowsOf(page, 'a')).toEqual([
      { name: 'x broken', check: 'c1' },
      { name: 'y', check: TOLERATED },
    ]);
    expect(rowsOf(page, 'b-c')).toEqual([{ name: 'w', check: 'c2' }]);
  });

  it('has no rows for a backend without a section', () => {
    expect(rowsOf(page, 'b')).toBeUndefined();
  });
});
