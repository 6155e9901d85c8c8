// Ratios paired by round: each backend's figure over its baseline's figure from the same round, so
// that whatever the machine did during that round (a slow minute, a busy neighbour) falls on both.

export interface RoundValue {
  round: number;
  value: number;
}

export interface PairedRatio {
  round: number;
  value: number;
  baseline: number;
  /** value / baseline. */
  ratio: number;
}

/** One ratio per round that has a usable value on both sides; rounds missing either side are skipped. */
export function pairByRound(subject: readonly RoundValue[], baseline: readonly RoundValue[]): PairedRatio[] {
  const byRound = (values: readonly RoundValue[], side: string) => {
    const map = new Map<number, number>();
    for (const { round, value } of values) {
      if (map.has(round)) throw new Error(`two ${side} values in round ${round}: each round measures a setup once per metric`);
      map.set(round, value);
    }
    return map;
  };
  const base = byRound(baseline, 'baseline');
  const pairs: PairedRatio[] = [];
  for (const [round, value] of [...byRound(subject, 'subject')].sort((a, b) => a[0] - b[0])) {
    const b = base.get(round);
    if (b === undefined || !(b > 0) || !Number.isFinite(value)) continue;
    pairs.push({ round, value, baseline: b, ratio: value / b });
  }
  return pairs;
}
