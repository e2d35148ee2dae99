// SPDX-License-Identifier: Apache-2.0
/**
 * The shape of bench/results/<date>.json: every raw value of every repetition, the plan,
 * the machine, and the per-metric medians and spreads the Markdown table and the SVG
 * chart are drawn from. Bump RESULT_SCHEMA when a field changes meaning.
 */
import type { BenchPlan, DataplaneConfig, OffloadMode } from './plan.js';
import type { CpuUsage } from './procfs.js';
import type { Summary } from './stats.js';

/** 2: the naive config, and `daemonPct` (was `vxtunPct`) holds naivefwd's CPU too. */
export const RESULT_SCHEMA = 'vxtun-bench/2';

/** CPU spent during one test window. */
export interface CpuCost {
  /** Wall-clock length of the window. */
  seconds: number;
  /** Whole VM (every namespace, and anything else running on the machine), % of one vCPU. */
  vm: CpuUsage;
  /** utime+stime of each userspace forwarder (vxtun or naivefwd), by node name, % of one vCPU. */
  daemonPct: Record<string, number>;
}

export interface RttResult {
  /** Nearest-rank percentiles of the per-packet RTTs, µs. */
  p50Us: number;
  p99Us: number;
  minUs: number;
  maxUs: number;
  meanUs: number;
  sent: number;
  received: number;
  cpu: CpuCost;
}

export interface TcpResult {
  streams: number;
  /** end.sum_received, Gbit/s. */
  gbps: number;
  retransmits: number;
  seconds: number;
  iperfCpuSenderPct: number | null;
  iperfCpuReceiverPct: number | null;
  cpu: CpuCost;
  /** Busy vCPUs of the whole VM per Gbit/s delivered. */
  vcpuPerGbps: number | null;
}

/** One udpblast → udpsink run. */
export interface UdpTrial {
  /** Offered rate given to udpblast (0 = unthrottled). */
  offeredPps: number;
  /** What udpblast managed to hand to its socket. */
  sentPps: number;
  /** received / blast seconds. */
  deliveredPps: number;
  sent: number;
  received: number;
  sendErrors: number;
  /** (sent − received) / sent, 0–1. */
  loss: number;
  seconds: number;
  blasterCpuPct: number;
  sinkCpuPct: number;
  cpu: CpuCost;
  /** Busy vCPUs of the whole VM per 100 kpps delivered. */
  vcpuPer100kpps: number | null;
}

/** The small-UDP test of one cell. */
export interface UdpResult {
  /** The blaster as fast as it can go. */
  unthrottled: UdpTrial;
  /**
   * The offered rate this cell is compared at: the kernel's highest rate with loss below
   * plan.lossLimit in the same rep and mode (for the kernel cell itself, what it found).
   */
  referencePps: number | null;
  /** The trial at referencePps (for the kernel: the passing trial that defined it). */
  atReference: UdpTrial | null;
  /** Extra trials of the search for this cell's own highest passing rate. */
  search: UdpTrial[];
  /** Delivered pps of the highest-rate passing trial (unthrottled included); null when none passed or no search ran. */
  maxPassPps: number | null;
}

/** A measurement or the reason it failed. */
export type Outcome<T> = { ok: true; value: T } | { ok: false; error: string };

/** Everything measured in one (rep, mode, config) cell. */
export interface CellResult {
  rep: number;
  mode: OffloadMode;
  config: DataplaneConfig;
  startedAt: string;
  /** Set when the bed could not be built; then no test ran. */
  setupError?: string;
  rtt?: Outcome<RttResult>;
  /** The same ping with the pinger and every forwarder process (vxtun or naivefwd) pinned to vCPU 0 (absent on one vCPU). */
  rtt1cpu?: Outcome<RttResult>;
  /** Pings far apart (plan.idlePingIntervalS), every process asleep between them (absent when the plan has no idle pings). */
  rttIdle?: Outcome<RttResult>;
  tcp1?: Outcome<TcpResult>;
  tcp4?: Outcome<TcpResult>;
  udp?: Outcome<UdpResult>;
}

/** What one `vxtun status --json` said about memory and work. */
export interface StatusSample {
  heapUsed: number;
  /** Bytes in V8's old generation: what survived scavenges (absent from vxtun before it reported it). */
  heapOld?: number;
  /** Batches processed, both directions (absent before it was sampled). */
  batches?: number;
  gcMinor: number;
  gcMajor: number;
  /** tunRxPackets + udpRxPackets. */
  packets: number;
}

/** What one daemon retained over the steady-state window (heap samples taken after a full GC). */
export interface HeapRetention {
  seconds: number;
  /** Scavenges and full collections in the window (the forced ones included). */
  gcMinor: number;
  gcMajor: number;
  packets: number;
  /** Batches processed in the window (each readiness wake handles one or more); null when not sampled. */
  batches: number | null;
  /** Growth of the old generation, each end measured after a full GC; null when not sampled. */
  retainedGrowthBytes: number | null;
  /** max(0, retainedGrowthBytes) / packets: at most this much kept per packet forwarded; null when not sampled. */
  retainedPerPacket: number | null;
}

/** The steady-state run: vxtun on both nodes, txoff, constant load. */
export interface SteadyResult {
  seconds: number;
  /** The constant load: iperf3 TCP bit rate (-b) and udpblast offered rate. */
  load: { tcpBps: number; udpPps: number };
  samples: Array<{ t: number; rssBytes: Record<string, number | null>; heapUsedBytes: Record<string, number | null>; status?: Record<string, StatusSample> }>;
  /** Largest RSS seen, by node. */
  rssMaxBytes: Record<string, number>;
  /** Least-squares slope of RSS after the first 10 s, KiB per minute, by node. */
  rssSlopeKiBPerMin: Record<string, number | null>;
  /** Least-squares slope of heapUsed after the first 10 s, KiB per minute (null: not sampled). */
  heapSlopeKiBPerMin: Record<string, number | null> | null;
  /**
   * Per node, between the first and the last status sample after the warm-up: garbage
   * collections, packets forwarded (TUN + UDP reads), batches, and the growth of what the
   * daemon retains. null when the status was not sampled.
   */
  retention?: Record<string, HeapRetention> | null;
  /** Why the heap was not sampled, when it was not. */
  heapNote: string | null;
  tcpGbps: number | null;
  udpLoss: number | null;
  error?: string;
}

export interface MachineInfo {
  kernel: string;
  kernelVersion: string;
  nproc: number;
  cpuModel: string;
  memTotalBytes: number;
  node: string;
  vxtun: string;
  commit: string | null;
  iperf3: string;
  cc: string;
  loadavgAtStart: number[];
  /** Whole-VM busy % (of one vCPU) over 1 s before the bench started: other work on the machine. */
  backgroundBusyPct: number;
}

/** One wakeup run (bench/tools/wakeup.c): a one-byte ping-pong between two pinned processes. */
export interface WakeupRun {
  cpuA: number;
  cpuB: number;
  rounds: number;
  /** Round trip = two wakeups, µs. */
  rttP50Us: number;
  rttP99Us: number;
}

/** What waking a sleeping thread costs here: on the waker's vCPU and on another (idle) one. */
export interface WakeupCost {
  sameCpu: WakeupRun;
  /** null on a one-vCPU machine. */
  crossCpu: WakeupRun | null;
}

/** Medians/spreads: summary[mode][config][metricId]. */
export type SummaryTable = Partial<Record<OffloadMode, Partial<Record<DataplaneConfig, Record<string, Summary>>>>>;

export interface BenchResult {
  schema: typeof RESULT_SCHEMA;
  startedAt: string;
  finishedAt: string;
  durationSeconds: number;
  machine: MachineInfo;
  plan: BenchPlan;
  cells: CellResult[];
  summary: SummaryTable;
  steady: SteadyResult | null;
  /** Thread wakeup costs measured before the cells (null when the probe failed: see notes). */
  wakeup: WakeupCost | null;
  notes: string[];
}
