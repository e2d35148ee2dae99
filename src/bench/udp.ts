// SPDX-License-Identifier: Apache-2.0
/**
 * The small-UDP test of a cell and the search for the highest offered rate with loss
 * below the limit. The kernel cell runs first in every rep: its passing rate becomes the
 * reference load at which vxtun and mixed are measured (the issue: "delivered pps at < 1 %
 * loss, at least 0.9 × kernel VXLAN at the same offered load"). The search takes a trial
 * function, so its logic is tested without namespaces.
 */
import type { UdpResult, UdpTrial } from './result.js';

/** Runs one trial at `ratePps` (0 = unthrottled) lasting `seconds`. */
export type TrialFn = (ratePps: number, seconds: number) => Promise<UdpTrial>;

export interface SearchOptions {
  /** Pass = loss < lossLimit (fraction). */
  lossLimit: number;
  /** At most this many extra trials. */
  maxTrials: number;
  /** Length of each search trial. */
  seconds: number;
  /** Stop refining once the pass and fail rates are within this fraction (default 0.05). */
  tolerance?: number;
}

export interface SearchResult {
  /** The highest passing trial (possibly the unthrottled one), or null. */
  pass: UdpTrial | null;
  /** The offered rate of `pass` (for the unthrottled trial: the rate it actually sent). */
  passRate: number | null;
  /** The extra trials run, in order. */
  trials: UdpTrial[];
}

/**
 * Finds (approximately) the highest offered rate whose loss is below the limit, starting
 * from an unthrottled trial: if that passes, its sent rate is the answer. Otherwise it
 * steps down from 95 % of the delivered rate (×0.85, or 95 % of what the failing trial
 * delivered, whichever is lower) until a trial passes, then bisects between the highest
 * pass and the lowest fail while trials remain and they differ by more than `tolerance`.
 */
export async function searchMaxPass(unthrottled: UdpTrial, trial: TrialFn, o: SearchOptions): Promise<SearchResult> {
  const passes = (t: UdpTrial): boolean => t.loss < o.lossLimit;
  if (passes(unthrottled)) return { pass: unthrottled, passRate: unthrottled.sentPps, trials: [] };
  const trials: UdpTrial[] = [];
  let failRate = unthrottled.sentPps;
  let pass: UdpTrial | null = null;
  let passRate: number | null = null;
  let rate = Math.round(unthrottled.deliveredPps * 0.95);
  while (trials.length < o.maxTrials && rate >= 1000) {
    const t = await trial(rate, o.seconds);
    trials.push(t);
    if (passes(t)) {
      pass = t;
      passRate = rate;
      break;
    }
    failRate = rate;
    rate = Math.round(Math.min(rate * 0.85, t.deliveredPps * 0.95));
  }
  const tol = o.tolerance ?? 0.05;
  while (pass && passRate !== null && trials.length < o.maxTrials && (failRate - passRate) / passRate > tol) {
    const mid = Math.round((passRate + failRate) / 2);
    const t = await trial(mid, o.seconds);
    trials.push(t);
    if (passes(t)) {
      pass = t;
      passRate = mid;
    } else {
      failRate = mid;
    }
  }
  return { pass, passRate, trials };
}

export interface UdpTestOptions {
  /** Length of the unthrottled and at-reference trials. */
  seconds: number;
  lossLimit: number;
  /** True for the kernel cell: its search defines the reference load. */
  isReference: boolean;
  /** For non-reference cells: the kernel's passing rate of this rep/mode (null: none known). */
  referencePps: number | null;
  /** Run this cell's own search (always true for the reference). */
  search: boolean;
  searchTrials: number;
  searchSeconds: number;
  /** Sub-status for the progress line. */
  status?: (s: string) => void;
}

/** The whole small-UDP test of one cell (see the module comment). */
export async function udpTest(trial: TrialFn, o: UdpTestOptions): Promise<UdpResult> {
  const say = o.status ?? (() => {});
  say('unthrottled');
  const unthrottled = await trial(0, o.seconds);
  let n = 0;
  const counted: TrialFn = (rate, seconds) => {
    say(`search trial ${++n} at ${(rate / 1000).toFixed(1)} kpps`);
    return trial(rate, seconds);
  };
  const searchOpts = { lossLimit: o.lossLimit, maxTrials: o.searchTrials, seconds: o.searchSeconds };
  if (o.isReference) {
    const s = await searchMaxPass(unthrottled, counted, searchOpts);
    return { unthrottled, referencePps: s.passRate, atReference: s.pass, search: s.trials, maxPassPps: s.pass?.deliveredPps ?? null };
  }
  let atReference: UdpTrial | null = null;
  if (o.referencePps !== null && o.referencePps > 0) {
    say(`at ${(o.referencePps / 1000).toFixed(1)} kpps`);
    atReference = await trial(o.referencePps, o.seconds);
  }
  if (!o.search) return { unthrottled, referencePps: o.referencePps, atReference, search: [], maxPassPps: null };
  const s = await searchMaxPass(unthrottled, counted, searchOpts);
  // The at-reference trial also counts towards this cell's own maximum when it passed.
  const best = [s.pass, atReference].filter((t): t is UdpTrial => t !== null && t.loss < o.lossLimit)
    .reduce<UdpTrial | null>((a, b) => (a === null || b.deliveredPps > a.deliveredPps ? b : a), null);
  return { unthrottled, referencePps: o.referencePps, atReference, search: s.trials, maxPassPps: best?.deliveredPps ?? null };
}
