// Do two runs give the same answer? Every comparison both runs made, side by side: each run's median
// paired ratio and interval, and how far apart the two ratios are, relative to the first. The
// issue's target: two back-to-back quick runs agree within ±5 % on every headline ratio.
import { formatChange, PRIMARY, type Analysis, type Comparison } from './analysis.ts';

export interface AgreementRow {
  key: string;
  label: string;
  first: Comparison;
  second: Comparison;
  /** |second / first − 1|; null when either run has no paired rounds. */
  disagreement: number | null;
}

export const AGREEMENT_TARGET = 0.05;

const keyOf = (c: Comparison) => `${c.metric}|${c.placement}|${c.backend}|${c.baseline}`;

export function agreement(first: Analysis, second: Analysis): AgreementRow[] {
  const others = new Map(second.comparisons.map((c) => [keyOf(c), c]));
  return first.comparisons.flatMap((c) => {
    const other = others.get(keyOf(c));
    if (!other) return [];
    const disagreement = c.interval && other.interval ? Math.abs(other.interval.estimate / c.interval.estimate - 1) : null;
    return [{ key: keyOf(c), label: `${c.backend} vs ${c.baseline}, ${c.placement}, ${PRIMARY[c.metric].label}`, first: c, second: other, disagreement }];
  });
}

const interval = (c: Comparison) => (c.interval ? `${formatChange(c.interval.estimate)} [${formatChange(c.interval.low)}, ${formatChange(c.interval.high)}] n ${c.interval.n}` : 'no paired rounds');

/** A Markdown table of the rows, and a closing line with the largest disagreement. */
export function agreementMarkdown(rows: readonly AgreementRow[], names: [string, string]): string {
  const lines = [`| comparison | ${names[0]} | ${names[1]} | disagreement |`, '| --- | --- | --- | --- |'];
  for (const row of rows) {
    const d = row.disagreement === null ? '–' : `${(row.disagreement * 100).toFixed(1)} %${row.disagreement > AGREEMENT_TARGET ? ' ⚠' : ''}`;
    lines.push(`| ${row.label} | ${interval(row.first)} | ${interval(row.second)} | ${d} |`);
  }
  const measured = rows.filter((r) => r.disagreement !== null);
  const worst = [...measured].sort((a, b) => b.disagreement! - a.disagreement!)[0];
  const within = measured.filter((r) => r.disagreement! <= AGREEMENT_TARGET).length;
  lines.push(
    '',
    worst
      ? `${within} of ${measured.length} ratios agree within ±${AGREEMENT_TARGET * 100} %; the largest disagreement is ${(worst.disagreement! * 100).toFixed(1)} % (${worst.label}).`
      : 'No comparison has paired rounds in both runs.',
  );
  return lines.join('\n') + '\n';
}
