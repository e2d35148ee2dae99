// SPDX-License-Identifier: Apache-2.0
// The bench's statistics: nearest-rank percentiles, medians and spread over reps, slopes.
import t from 'tap';
import { median, percentile, ratio, slope, summarize } from '../../src/bench/stats.js';

t.test('percentile: nearest rank, as baseline.md computes RTT p50/p99', async (t) => {
  const v = [15, 20, 35, 40, 50];
  t.equal(percentile(v, 30), 20, 'ceil(0.3 × 5) = 2nd value');
  t.equal(percentile(v, 40), 20);
  t.equal(percentile(v, 50), 35, 'ceil(2.5) = 3rd value');
  t.equal(percentile(v, 100), 50);
  t.equal(percentile(v, 1), 15, 'never below the first rank');
  t.equal(percentile([3, 1, 2], 50), 2, 'input order does not matter');
  const hundred = Array.from({ length: 100 }, (_, i) => 100 - i); // 100..1
  t.equal(percentile(hundred, 99), 99, 'p99 of 1..100 is 99');
  t.equal(percentile(hundred, 50), 50);
  const twoThousand = Array.from({ length: 2000 }, (_, i) => i + 1);
  t.equal(percentile(twoThousand, 99), 1980, 'p99 of 2000 pings is the 1980th');
  t.ok(Number.isNaN(percentile([], 50)), 'empty → NaN');
  t.throws(() => percentile(v, 0), RangeError);
  t.throws(() => percentile(v, 101), RangeError);
  t.same(v, [15, 20, 35, 40, 50], 'input not mutated');
});

t.test('median', async (t) => {
  t.equal(median([5, 1, 3]), 3);
  t.equal(median([4, 1, 3, 2]), 2.5, 'even count: mean of the middle two');
  t.equal(median([7]), 7);
  t.equal(median([NaN, 2, 4, Infinity]), 3, 'non-finite values ignored');
  t.ok(Number.isNaN(median([])));
});

t.test('summarize: median and min–max over reps, failed reps ignored', async (t) => {
  t.same(summarize([4.1, 3.9, 4.4]), { median: 4.1, min: 3.9, max: 4.4, n: 3 });
  t.same(summarize([4.1, null, 4.5]), { median: 4.3, min: 4.1, max: 4.5, n: 2 });
  t.same(summarize([null, undefined, NaN]), { median: null, min: null, max: null, n: 0 });
  t.same(summarize([]), { median: null, min: null, max: null, n: 0 });
});

t.test('slope: least squares', async (t) => {
  t.equal(slope([0, 1, 2, 3], [10, 12, 14, 16]), 2);
  t.equal(slope([0, 1, 2], [5, 5, 5]), 0);
  t.ok(Math.abs(slope([0, 1, 2, 3], [0, 1.1, 1.9, 3]) - 0.98) < 1e-9);
  t.ok(Number.isNaN(slope([1], [1])), 'one point');
  t.ok(Number.isNaN(slope([2, 2], [1, 3])), 'vertical');
  t.throws(() => slope([1, 2], [1]), RangeError);
});

t.test('ratio', async (t) => {
  t.equal(ratio(9, 10), 0.9);
  t.equal(ratio(1, 0), null);
  t.equal(ratio(null, 3), null);
  t.equal(ratio(3, undefined), null);
});
