import { describe, expect, it } from 'vitest';
import { coefficientOfVariation, median, percentileOf, ratio, standardDeviation, summarize } from '../../lab/report/stats.ts';

describe('statistics', () => {
  it('interpolates percentiles between closest ranks', () => {
    expect(percentileOf([1, 2, 3, 4], 50)).toBe(2.5);
    expect(percentileOf([10], 99.9)).toBe(10);
    expect(percentileOf([1, 2, 3, 4, 5], 25)).toBe(2);
    expect(percentileOf([0, 10], 90)).toBe(9);
    expect(() => percentileOf([], 50)).toThrow(/no values/);
    expect(() => percentileOf([1], 101)).toThrow(/outside/);
  });

  it('takes the median of unsorted input without reordering it', () => {
    const values = [5, 1, 3];
    expect(median(values)).toBe(3);
    expect(values).toEqual([5, 1, 3]);
  });

  it('uses the sample standard deviation for the coefficient of variation', () => {
    expect(standardDeviation([2, 4, 4, 4, 5, 5, 7, 9])).toBeCloseTo(2.138, 3);
    expect(coefficientOfVariation([100, 100, 100])).toBe(0);
    expect(coefficientOfVariation([90, 100, 110])).toBeCloseTo(0.1, 10);
    expect(standardDeviation([42])).toBe(0);
  });

  it('summarizes with median and interquartile range', () => {
    const s = summarize([7, 1, 3, 5, 9]);
    expect(s).toMatchObject({ n: 5, median: 5, q1: 3, q3: 7, iqr: 4, mean: 5, min: 1, max: 9 });
    expect(s.cv).toBeCloseTo(standardDeviation([1, 3, 5, 7, 9]) / 5, 10);
  });

  it('tells one outlying repeat from a spread: CV jumps, robust CV barely moves', () => {
    // The default-profile latency run's none/same-node p50s: one repeat hit a stalled machine.
    const stalled = summarize([119, 146, 1534, 123, 100]);
    expect(stalled.cv).toBeGreaterThan(1.5);
    expect(stalled.robustCv).toBeCloseTo(27 / 1.349 / 123, 10);
    expect(stalled.robustCv).toBeLessThan(stalled.cv / 5);
    // A genuine spread moves both alike.
    const spread = summarize([80, 100, 120, 140, 160]);
    expect(spread.robustCv).toBeCloseTo(40 / 1.349 / 120, 10);
    expect(spread.robustCv / spread.cv).toBeGreaterThan(0.9);
    expect(summarize([0, 0, 0]).robustCv).toBe(0);
  });

  it('gives a ratio only against a usable baseline', () => {
    expect(ratio(88, 100)).toBeCloseTo(0.88, 10);
    expect(ratio(5, 0)).toBeNull();
    expect(ratio(undefined, 100)).toBeNull();
    expect(ratio(5, undefined)).toBeNull();
  });
});
