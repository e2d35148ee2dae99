// SPDX-License-Identifier: Apache-2.0
/**
 * The statistics the namespace bench reports: nearest-rank percentiles (as baseline.md
 * computes RTT p50/p99), medians with their spread across repetitions, and a
 * least-squares slope for steady-state memory series. All functions are pure.
 */

/**
 * The nearest-rank percentile `p` (0 < p ≤ 100) of `values`: the smallest value such that
 * at least p % of the values are ≤ it, i.e. sorted[ceil(p/100 · n) − 1]. Returns NaN for
 * an empty input; throws on a p outside (0, 100].
 */
export function percentile(values: readonly number[], p: number): number {
  if (!(p > 0 && p <= 100)) throw new RangeError(`percentile must be in (0, 100], got ${p}`);
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1] as number;
}

/** The median of the finite values (mean of the middle two for an even count); NaN when there is none. */
export function median(values: readonly number[]): number {
  const v = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const mid = v.length >> 1;
  return v.length % 2 === 1 ? (v[mid] as number) : ((v[mid - 1] as number) + (v[mid] as number)) / 2;
}

/** Median and spread of one metric over repetitions. */
export interface Summary {
  /** Median of the finite values (null when there is none). */
  median: number | null;
  /** Smallest and largest finite value (null when there is none). */
  min: number | null;
  max: number | null;
  /** How many repetitions produced a finite value. */
  n: number;
}

/**
 * Summarizes the per-repetition values of one metric. null/undefined/NaN entries (a
 * failed or skipped measurement) are ignored; they only lower `n`.
 */
export function summarize(values: ReadonlyArray<number | null | undefined>): Summary {
  const v = values.filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
  if (v.length === 0) return { median: null, min: null, max: null, n: 0 };
  return { median: median(v), min: Math.min(...v), max: Math.max(...v), n: v.length };
}

/**
 * The least-squares slope dy/dx of the points (x[i], y[i]), in y units per x unit.
 * Returns NaN for fewer than two points or when every x is the same; throws when the
 * lengths differ.
 */
export function slope(x: readonly number[], y: readonly number[]): number {
  if (x.length !== y.length) throw new RangeError(`slope: ${x.length} x values but ${y.length} y values`);
  const n = x.length;
  if (n < 2) return NaN;
  let sx = 0;
  let sy = 0;
  for (let i = 0; i < n; i++) { sx += x[i] as number; sy += y[i] as number; }
  const mx = sx / n;
  const my = sy / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    const dx = (x[i] as number) - mx;
    num += dx * ((y[i] as number) - my);
    den += dx * dx;
  }
  return den === 0 ? NaN : num / den;
}

/** a / b, or null when either is missing or b is 0 (a ratio that cannot be formed). */
export function ratio(a: number | null | undefined, b: number | null | undefined): number | null {
  if (typeof a !== 'number' || typeof b !== 'number' || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) return null;
  return a / b;
}
