import { describe, expect, it } from '@jest/globals';
import { percentile, summarize } from '../../bench/statistics';

describe('bench statistics', () => {
  it('takes the middle sample as the median of an odd count', () => {
    expect(summarize([5, 1, 3]).median).toBe(3);
  });

  it('takes the mean of the two middle samples as the median of an even count', () => {
    expect(summarize([4, 1, 3, 2]).median).toBe(2.5);
  });

  it('gives the nearest-rank p99: the 99th of 100 sorted samples', () => {
    const samples = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(summarize(samples)).toEqual({ runs: 100, median: 50.5, p99: 99, max: 100 });
  });

  it('gives the largest sample as p99 of fewer than 100', () => {
    expect(percentile([1, 2, 3], 0.99)).toBe(3);
  });

  it('refuses to summarise no samples', () => {
    expect(() => summarize([])).toThrow('no samples');
  });
});
