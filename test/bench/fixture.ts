// SPDX-License-Identifier: Apache-2.0
/**
 * Test helpers for the bench: a deterministic BenchResult (3 reps × 2 modes × 4 configs,
 * invented round numbers, one failed measurement) and the path of the checked-in fixtures.
 * Nothing here measures anything.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { summarizeCells } from '../../src/bench/metrics.js';
import { parsePlan, type DataplaneConfig, type OffloadMode } from '../../src/bench/plan.js';
import { RESULT_SCHEMA, type BenchResult, type CellResult, type CpuCost, type UdpTrial } from '../../src/bench/result.js';

const here = path.dirname(fileURLToPath(import.meta.url));

/** test/bench/fixtures/<name>, from test/ or dist/test/. */
export function fixturePath(name: string): string {
  return path.resolve(here, '..', '..', ...(here.includes(`${path.sep}dist${path.sep}`) ? ['..'] : []), 'test', 'bench', 'fixtures', name);
}

function cpu(busy: number, vxtun: Record<string, number>): CpuCost {
  return { seconds: 10, vm: { busy, user: busy / 4, sys: busy / 2, irqSoftirq: busy / 4, steal: 0 }, daemonPct: vxtun };
}

function trial(offered: number, sent: number, delivered: number, busy: number, vxtun: Record<string, number>): UdpTrial {
  const secs = 10;
  const c = cpu(busy, vxtun);
  return {
    offeredPps: offered, sentPps: sent, deliveredPps: delivered, sent: sent * secs, received: delivered * secs, sendErrors: 0,
    loss: (sent - delivered) / sent, seconds: secs, blasterCpuPct: 100, sinkCpuPct: 30, cpu: c, vcpuPer100kpps: busy / 100 / (delivered / 100_000),
  };
}

/** Per config base figures; rep r scales them by (1 + (r - 2) * 0.1), so medians are the rep-2 values. */
const BASE: Record<DataplaneConfig, { p50: number; p99: number; tcp1: number; tcp4: number; udp: number }> = {
  kernel: { p50: 20, p99: 80, tcp1: 5, tcp4: 6, udp: 100_000 },
  vxtun: { p50: 60, p99: 200, tcp1: 2, tcp4: 2.5, udp: 95_000 },
  mixed: { p50: 40, p99: 150, tcp1: 2.5, tcp4: 3, udp: 97_000 },
  naive: { p50: 100, p99: 400, tcp1: 1, tcp4: 1, udp: 50_000 },
};

/** The fixture result. `mixed` default tcp1 of rep 3 failed ("iperf3: unable to connect…"). */
export function fixtureResult(): BenchResult {
  const plan = parsePlan({}, '/tmp/out');
  const cells: CellResult[] = [];
  for (let rep = 1; rep <= 3; rep++) {
    for (const mode of ['txoff', 'default'] as OffloadMode[]) {
      for (const config of ['kernel', 'vxtun', 'mixed', 'naive'] as DataplaneConfig[]) {
        const k = 1 + (rep - 2) * 0.1;
        const b = BASE[config];
        const vx: Record<string, number> = config === 'kernel' ? {} : config === 'mixed' ? { node1: 45 * k } : { node1: 50 * k, node2: 40 * k };
        const tcpGbps = (g: number): number => (mode === 'default' ? g * 2 : g) * k;
        const ref = 100_000;
        const atRef = config === 'kernel' ? trial(0, ref, ref, 150, vx) : trial(ref, ref, Math.round(b.udp * k), 180, vx);
        const unthrottled = config === 'kernel' ? atRef : trial(0, 250_000, Math.round(b.udp * k), 200, vx);
        const cell: CellResult = { rep, mode, config, startedAt: `2024-05-0${rep}T10:00:00.000Z` };
        cell.rtt = { ok: true, value: { p50Us: b.p50 * k, p99Us: b.p99 * k, minUs: b.p50 / 2, maxUs: b.p99 * 2, meanUs: b.p50, sent: 2000, received: 2000, cpu: cpu(100, vx) } };
        cell.rtt1cpu = { ok: true, value: { p50Us: b.p50 * k * 0.5, p99Us: b.p99 * k * 0.5, minUs: b.p50 / 4, maxUs: b.p99, meanUs: b.p50 / 2, sent: 2000, received: 2000, cpu: cpu(100, vx) } };
        cell.rttIdle = { ok: true, value: { p50Us: b.p50 * k * 4, p99Us: b.p99 * k * 3, minUs: b.p50, maxUs: b.p99 * 4, meanUs: b.p50 * 4, sent: 50, received: 50, cpu: cpu(10, vx) } };
        cell.tcp1 = { ok: true, value: { streams: 1, gbps: tcpGbps(b.tcp1), retransmits: 10, seconds: 10, iperfCpuSenderPct: 90, iperfCpuReceiverPct: 40, cpu: cpu(150, vx), vcpuPerGbps: 1.5 / tcpGbps(b.tcp1) } };
        cell.tcp4 = { ok: true, value: { streams: 4, gbps: tcpGbps(b.tcp4), retransmits: 20, seconds: 10, iperfCpuSenderPct: 95, iperfCpuReceiverPct: 45, cpu: cpu(180, vx), vcpuPerGbps: 1.8 / tcpGbps(b.tcp4) } };
        cell.udp = { ok: true, value: { unthrottled, referencePps: ref, atReference: atRef, search: [], maxPassPps: atRef.deliveredPps } };
        if (rep === 2 && mode === 'txoff' && config === 'kernel') cell.rttIdle = { ok: false, error: 'no ping replies (50 sent)' };
        if (rep === 3 && mode === 'default' && config === 'mixed') cell.tcp1 = { ok: false, error: 'iperf3: unable to connect to server: Connection timed out' };
        cells.push(cell);
      }
    }
  }
  return {
    schema: RESULT_SCHEMA,
    startedAt: '2024-05-01T10:00:00.000Z',
    finishedAt: '2024-05-01T10:30:00.000Z',
    durationSeconds: 1800,
    machine: {
      kernel: '6.18.44', kernelVersion: '#1 SMP', nproc: 2, cpuModel: 'AMD EPYC <test>', memTotalBytes: 4 << 30, node: 'v20.20.2',
      vxtun: '0.1.0', commit: '0123456789abcdef0123456789abcdef01234567', iperf3: 'iperf 3.12', cc: 'gcc 12.2.0', loadavgAtStart: [0.1, 0.2, 0.3], backgroundBusyPct: 2,
    },
    plan,
    cells,
    summary: summarizeCells(cells),
    wakeup: {
      sameCpu: { cpuA: 0, cpuB: 0, rounds: 2000, rttP50Us: 4.2, rttP99Us: 30 },
      crossCpu: { cpuA: 0, cpuB: 1, rounds: 2000, rttP50Us: 101.6, rttP99Us: 340 },
    },
    steady: {
      seconds: 60, load: { tcpBps: 1e9, udpPps: 10_000 },
      samples: [{ t: 0, rssBytes: { node1: 80 << 20, node2: 78 << 20 }, heapUsedBytes: {} }, { t: 1, rssBytes: { node1: 81 << 20, node2: 78 << 20 }, heapUsedBytes: {} }],
      rssMaxBytes: { node1: 81 << 20, node2: 78 << 20 }, rssSlopeKiBPerMin: { node1: 12, node2: 0 }, heapSlopeKiBPerMin: null,
      retention: {
        node1: { seconds: 50, gcMinor: 0, gcMajor: 0, packets: 4_000_000, batches: 90_000, retainedGrowthBytes: 2048, retainedPerPacket: 2048 / 4_000_000 },
        node2: { seconds: 50, gcMinor: 3, gcMajor: 0, packets: 4_000_000, batches: null, retainedGrowthBytes: null, retainedPerPacket: null },
      },
      heapNote: 'heap not sampled: `vxtun status --json` exited 2: not implemented', tcpGbps: 1, udpLoss: 0,
    },
    notes: ['Small UDP = 18-byte payloads.'],
  };
}
