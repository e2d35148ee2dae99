// SPDX-License-Identifier: Apache-2.0
/**
 * The metrics the bench reports, each defined once: how to pull its value out of a cell
 * (null when the measurement failed or does not apply), its unit, and whether higher is
 * better. summarizeCells() turns the raw cells into the medians/spreads of SummaryTable;
 * the Markdown table and the SVG chart read only that table.
 */
import type { DataplaneConfig, OffloadMode } from './plan.js';
import type { CellResult, CpuCost, Outcome, SummaryTable } from './result.js';
import { summarize } from './stats.js';

export interface MetricDef {
  id: string;
  label: string;
  unit: string;
  /** Decimal places in tables. */
  digits: number;
  better: 'higher' | 'lower';
  /** False when a vxtun/kernel ratio means nothing (the shared offered load, loss percentages). */
  ratio?: boolean;
  get(cell: CellResult): number | null;
}

function val<T>(o: Outcome<T> | undefined): T | null {
  return o?.ok ? o.value : null;
}

/** Sum of the forwarder processes' CPU (vxtun or naivefwd), % of one vCPU; null when the cell ran none. */
function daemonSum(cpu: CpuCost | undefined): number | null {
  if (!cpu) return null;
  const v = Object.values(cpu.daemonPct);
  return v.length === 0 ? null : v.reduce((a, b) => a + b, 0);
}

const kpps = (pps: number | null | undefined): number | null => (typeof pps === 'number' ? pps / 1000 : null);

/** Every reported metric, in table order. */
export const METRICS: readonly MetricDef[] = [
  { id: 'rtt_p50_us', label: 'RTT p50', unit: 'µs', digits: 0, better: 'lower', get: (c) => val(c.rtt)?.p50Us ?? null },
  { id: 'rtt_p99_us', label: 'RTT p99', unit: 'µs', digits: 0, better: 'lower', get: (c) => val(c.rtt)?.p99Us ?? null },
  { id: 'rtt1cpu_p50_us', label: 'RTT p50, pinger and forwarders on vCPU 0', unit: 'µs', digits: 0, better: 'lower', get: (c) => val(c.rtt1cpu)?.p50Us ?? null },
  { id: 'rtt1cpu_p99_us', label: 'RTT p99, pinger and forwarders on vCPU 0', unit: 'µs', digits: 0, better: 'lower', get: (c) => val(c.rtt1cpu)?.p99Us ?? null },
  { id: 'rttidle_p50_us', label: 'RTT p50, idle (pings 200 ms apart)', unit: 'µs', digits: 0, better: 'lower', get: (c) => val(c.rttIdle)?.p50Us ?? null },
  { id: 'rttidle_p99_us', label: 'RTT p99, idle (pings 200 ms apart)', unit: 'µs', digits: 0, better: 'lower', get: (c) => val(c.rttIdle)?.p99Us ?? null },
  { id: 'tcp1_gbps', label: 'TCP 1 stream', unit: 'Gbit/s', digits: 2, better: 'higher', get: (c) => val(c.tcp1)?.gbps ?? null },
  { id: 'tcp4_gbps', label: 'TCP 4 streams', unit: 'Gbit/s', digits: 2, better: 'higher', get: (c) => val(c.tcp4)?.gbps ?? null },
  { id: 'udp_ref_offered_kpps', label: 'UDP offered load (kernel max at <1 % loss)', unit: 'kpps', digits: 1, better: 'higher', ratio: false, get: (c) => kpps(val(c.udp)?.referencePps) },
  { id: 'udp_atref_kpps', label: 'UDP delivered at that load', unit: 'kpps', digits: 1, better: 'higher', get: (c) => kpps(val(c.udp)?.atReference?.deliveredPps) },
  { id: 'udp_atref_loss_pct', label: 'UDP loss at that load', unit: '%', digits: 2, better: 'lower', ratio: false, get: (c) => { const t = val(c.udp)?.atReference; return t ? t.loss * 100 : null; } },
  { id: 'udp_max_pass_kpps', label: 'UDP own max at <1 % loss (delivered)', unit: 'kpps', digits: 1, better: 'higher', get: (c) => kpps(val(c.udp)?.maxPassPps) },
  { id: 'udp_unthrottled_sent_kpps', label: 'UDP unthrottled: sent', unit: 'kpps', digits: 1, better: 'higher', get: (c) => kpps(val(c.udp)?.unthrottled.sentPps) },
  { id: 'udp_unthrottled_kpps', label: 'UDP unthrottled: delivered', unit: 'kpps', digits: 1, better: 'higher', get: (c) => kpps(val(c.udp)?.unthrottled.deliveredPps) },
  { id: 'udp_unthrottled_loss_pct', label: 'UDP unthrottled: loss', unit: '%', digits: 2, better: 'lower', ratio: false, get: (c) => { const u = val(c.udp)?.unthrottled; return u ? u.loss * 100 : null; } },
  { id: 'tcp1_vcpu_per_gbps', label: 'VM CPU per Gbit/s (TCP 1)', unit: 'vCPU', digits: 3, better: 'lower', get: (c) => val(c.tcp1)?.vcpuPerGbps ?? null },
  { id: 'tcp4_vcpu_per_gbps', label: 'VM CPU per Gbit/s (TCP 4)', unit: 'vCPU', digits: 3, better: 'lower', get: (c) => val(c.tcp4)?.vcpuPerGbps ?? null },
  { id: 'udp_vcpu_per_100kpps', label: 'VM CPU per 100 kpps (UDP at load)', unit: 'vCPU', digits: 2, better: 'lower', get: (c) => val(c.udp)?.atReference?.vcpuPer100kpps ?? null },
  { id: 'tcp1_vm_busy_pct', label: 'VM busy during TCP 1', unit: '% vCPU', digits: 0, better: 'lower', get: (c) => val(c.tcp1)?.cpu.vm.busy ?? null },
  { id: 'tcp1_daemon_cpu_pct', label: 'forwarder processes during TCP 1', unit: '% vCPU', digits: 0, better: 'lower', get: (c) => daemonSum(val(c.tcp1)?.cpu) },
  { id: 'udp_daemon_cpu_pct', label: 'forwarder processes during UDP at load', unit: '% vCPU', digits: 0, better: 'lower', get: (c) => daemonSum(val(c.udp)?.atReference?.cpu) },
];

/** The metric called `id`; throws when there is none. */
export function metric(id: string): MetricDef {
  const m = METRICS.find((x) => x.id === id);
  if (!m) throw new Error(`unknown metric ${id}`);
  return m;
}

/**
 * Medians and min–max of every metric per mode and config, over the cells' repetitions.
 * Modes/configs without any cell are absent; a metric that never produced a value has
 * n = 0 and null median.
 */
export function summarizeCells(cells: readonly CellResult[]): SummaryTable {
  const out: SummaryTable = {};
  const groups = new Map<string, CellResult[]>();
  for (const c of cells) {
    const key = `${c.mode}\u0000${c.config}`;
    const g = groups.get(key) ?? [];
    g.push(c);
    groups.set(key, g);
  }
  for (const [key, group] of groups) {
    const [mode, config] = key.split('\u0000') as [OffloadMode, DataplaneConfig];
    const byMode = (out[mode] ??= {});
    const row: Record<string, ReturnType<typeof summarize>> = {};
    for (const m of METRICS) row[m.id] = summarize(group.map((c) => m.get(c)));
    byMode[config] = row;
  }
  return out;
}
