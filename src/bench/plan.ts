// SPDX-License-Identifier: Apache-2.0
/**
 * What one `vxtun bench` run measures: the dataplane configs, offload modes, repetitions
 * and the per-test parameters, derived from the command-line flags. Pure: parsePlan()
 * validates and throws UsageError (exit 2) on a bad flag.
 */
import { UsageError } from '../cli/errors.js';

/**
 * kernel = flannel.1 on both nodes; vxtun = vxtun on both; mixed = vxtun on node1, kernel on
 * node2; naive = bench/tools/naivefwd.c on both (the userspace anchor: one syscall per packet).
 */
export const CONFIGS = ['kernel', 'vxtun', 'mixed', 'naive'] as const;
export type DataplaneConfig = (typeof CONFIGS)[number];

/** txoff = `ethtool -K ul0 tx off` on both nodes (real ≤1514 B frames, primary); default = veth defaults. */
export const MODES = ['txoff', 'default'] as const;
export type OffloadMode = (typeof MODES)[number];

/** The tests run for every (rep, mode, config) cell, in this order. */
export const TESTS = ['rtt', 'rtt1cpu', 'rttIdle', 'tcp1', 'tcp4', 'udp'] as const;
export type TestName = (typeof TESTS)[number];

/** The bench parameters; every field is recorded in the result JSON. */
export interface BenchPlan {
  quick: boolean;
  reps: number;
  configs: DataplaneConfig[];
  modes: OffloadMode[];
  /** Output directory (results files go straight into it). */
  outDir: string;
  /** Pings per RTT test, sent every pingIntervalS seconds. */
  pings: number;
  pingIntervalS: number;
  /**
   * Pings of the idle-RTT test, sent every idlePingIntervalS seconds (0 skips it): spaced
   * far enough apart that every process on the path has gone to sleep, as with a
   * user's `ping` at its default 1 s.
   */
  idlePings: number;
  idlePingIntervalS: number;
  /** iperf3 -t. */
  tcpSeconds: number;
  /** Duration of one UDP trial (blaster run). */
  udpSeconds: number;
  /** UDP payload bytes: 18 gives a 60-byte inner Ethernet frame (64 with FCS), baseline.md's "small UDP". */
  udpPayload: number;
  /** A trial "passes" when its loss is below this fraction (0.01 = 1 %). */
  lossLimit: number;
  /** Search each config's own highest offered rate with loss < lossLimit (slow: full mode only). */
  udpSearch: boolean;
  /** Length of the steady-state run (vxtun, txoff, constant load); 0 skips it. */
  steadySeconds: number;
}

/** What --quick measures unless --only says otherwise (the anchor is left out to stay under two minutes). */
export const QUICK_CONFIGS: readonly DataplaneConfig[] = ['kernel', 'vxtun', 'mixed'];

/** Raw flag values as commander hands them over. */
export interface BenchFlags {
  quick?: boolean;
  reps?: string;
  only?: string;
  modes?: string;
  out?: string;
  udpPayload?: string;
  steady?: string;
}

function parseList<T extends string>(raw: string, allowed: readonly T[], flag: string): T[] {
  const items = raw.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  if (items.length === 0) throw new UsageError(`${flag} needs at least one of ${allowed.join(', ')}`);
  for (const i of items) if (!(allowed as readonly string[]).includes(i)) throw new UsageError(`${flag}: unknown value "${i}" (choose from ${allowed.join(', ')})`);
  // Keep the canonical order (kernel first: its UDP rate is the reference for the others).
  return allowed.filter((a) => items.includes(a));
}

function parseIntFlag(raw: string, flag: string, min: number, max: number): number {
  if (!/^\d+$/.test(raw.trim())) throw new UsageError(`${flag} needs a whole number, got "${raw}"`);
  const n = Number(raw);
  if (n < min || n > max) throw new UsageError(`${flag} must be between ${min} and ${max}, got ${n}`);
  return n;
}

/**
 * Builds the plan from the flags. Full mode: every config, 3 reps, both modes, 2000 pings at
 * 2 ms, 50 idle pings at 200 ms, 10 s iperf3 and UDP trials, UDP rate search, 60 s steady
 * state. --quick: QUICK_CONFIGS and txoff only (unless --only/--modes say otherwise), 1 rep,
 * 500 pings, no idle pings, 3 s iperf3, 2 s UDP trials, no search and no steady state: about
 * a minute and a half on a 2-vCPU VM. `defaultOut` is used when --out is absent.
 */
export function parsePlan(flags: BenchFlags, defaultOut: string): BenchPlan {
  const quick = flags.quick === true;
  const reps = flags.reps !== undefined ? parseIntFlag(flags.reps, '--reps', 1, 50) : quick ? 1 : 3;
  const configs = flags.only !== undefined ? parseList(flags.only, CONFIGS, '--only') : quick ? [...QUICK_CONFIGS] : [...CONFIGS];
  const modes = flags.modes !== undefined ? parseList(flags.modes, MODES, '--modes') : quick ? ['txoff' as const] : [...MODES];
  const udpPayload = flags.udpPayload !== undefined ? parseIntFlag(flags.udpPayload, '--udp-payload', 0, 1400) : 18;
  const steadyDefault = quick ? 0 : 60;
  const steadySeconds = flags.steady !== undefined ? parseIntFlag(flags.steady, '--steady', 0, 3600) : steadyDefault;
  return {
    quick,
    reps,
    configs,
    modes,
    outDir: flags.out ?? defaultOut,
    pings: quick ? 500 : 2000,
    pingIntervalS: 0.002,
    idlePings: quick ? 0 : 50,
    idlePingIntervalS: 0.2,
    tcpSeconds: quick ? 3 : 10,
    udpSeconds: quick ? 2 : 10,
    udpPayload,
    lossLimit: 0.01,
    udpSearch: !quick,
    steadySeconds: configs.includes('vxtun') ? steadySeconds : 0,
  };
}

/** Number of progress steps: one per test per cell, plus the steady-state run. */
export function stepCount(plan: BenchPlan): number {
  return plan.reps * plan.modes.length * plan.configs.length * TESTS.length + (plan.steadySeconds > 0 ? 1 : 0);
}

/**
 * A rough duration estimate in seconds (bed setup ~4 s per cell, tests at their nominal
 * lengths plus overheads, one UDP search trial on average where searching). For the
 * start banner only.
 */
export function estimateSeconds(plan: BenchPlan): number {
  const searchTrial = Math.min(plan.udpSeconds, 5) + 1;
  const perCell = 4 + 2 * (plan.pings * plan.pingIntervalS + 1) + (plan.idlePings > 0 ? plan.idlePings * plan.idlePingIntervalS + 1 : 0) + 2 * (plan.tcpSeconds + 1) + 2 * (plan.udpSeconds + 1) + (plan.udpSearch ? 2 * searchTrial : 0);
  return Math.round(plan.reps * plan.modes.length * plan.configs.length * perCell + (plan.steadySeconds > 0 ? plan.steadySeconds + 8 : 0) + 2);
}
