// SPDX-License-Identifier: Apache-2.0
/**
 * bench/results/<date>.md: one table per offload mode (rows = metrics, columns = kernel |
 * vxtun | mixed | naive | vxtun/kernel | naive/kernel, as far as the run measured them),
 * cells "median (min–max)" over the repetitions, then the UDP criterion of the issue, the
 * steady-state figures and every failure with its reason.
 * Pure: renders a BenchResult, never measures.
 */
import { METRICS } from './metrics.js';
import { TESTS, type DataplaneConfig, type OffloadMode } from './plan.js';
import type { BenchResult, CellResult, SteadyResult, WakeupCost, WakeupRun } from './result.js';
import { ratio, type Summary } from './stats.js';

const MODE_TITLE: Record<OffloadMode, string> = {
  txoff: 'Offloads off on the underlay (`ethtool -K ul0 tx off`, every frame ≤ 1514 B): primary figures',
  default: 'Veth default offloads (GSO super-frames cross the underlay): secondary figures',
};

/** A number with `digits` decimals, or '–' when missing. */
export function fmt(n: number | null | undefined, digits: number): string {
  return typeof n === 'number' && Number.isFinite(n) ? n.toFixed(digits) : '–';
}

/** "median (min–max)" for several values, the bare value for one, '–' for none; "[n/reps]" when some reps failed. */
export function cell(s: Summary | undefined, digits: number, reps: number): string {
  if (!s || s.median === null) return '–';
  const base = s.n > 1 && s.min !== s.max ? `${fmt(s.median, digits)} (${fmt(s.min, digits)}–${fmt(s.max, digits)})` : fmt(s.median, digits);
  return s.n < reps ? `${base} [${s.n}/${reps}]` : base;
}

function ratioCell(v: Summary | undefined, k: Summary | undefined): string {
  const r = ratio(v?.median, k?.median);
  return r === null ? '–' : `${r.toFixed(2)}×`;
}

/** The Markdown table of one offload mode. */
export function modeTable(result: BenchResult, mode: OffloadMode): string {
  const configs = result.plan.configs;
  const byConfig = result.summary[mode] ?? {};
  // Ratios against the kernel: vxtun's (the issue's targets) and the naive anchor's.
  const ratioOf = configs.includes('kernel') ? (['vxtun', 'naive'] as const).filter((c) => configs.includes(c)) : [];
  const head = ['metric', ...configs, ...ratioOf.map((c) => `${c}/kernel`)];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`];
  for (const m of METRICS) {
    // Without a search (quick mode) only the kernel has an own maximum: the reference itself.
    if (m.id === 'udp_max_pass_kpps' && !result.plan.udpSearch && configs.includes('kernel')) continue;
    const cells = configs.map((c: DataplaneConfig) => cell(byConfig[c]?.[m.id], m.digits, result.plan.reps));
    if (cells.every((c) => c === '–')) continue;
    const r = ratioOf.map((c) => (m.ratio === false ? '' : ratioCell(byConfig[c]?.[m.id], byConfig.kernel?.[m.id])));
    lines.push(`| ${m.label} (${m.unit}) | ${[...cells, ...r].join(' | ')} |`);
  }
  return lines.join('\n');
}

/** The issue's UDP criterion for one mode: vxtun delivers ≥ 0.9 × kernel at the kernel's load, with loss < 1 %. */
export function udpCriterion(result: BenchResult, mode: OffloadMode): string | null {
  const s = result.summary[mode];
  const k = s?.kernel?.udp_atref_kpps?.median;
  const v = s?.vxtun?.udp_atref_kpps?.median;
  const loss = s?.vxtun?.udp_atref_loss_pct?.median;
  const r = ratio(v, k);
  if (r === null || typeof loss !== 'number') return null;
  const met = r >= 0.9 && loss < result.plan.lossLimit * 100;
  return `UDP criterion (vxtun delivers ≥ 0.9 × kernel at the kernel's max load with < 1 % loss): ${r.toFixed(2)}× at ${fmt(loss, 2)} % loss: **${met ? 'met' : 'not met'}** (medians).`;
}

function steadySection(s: SteadyResult): string[] {
  const mib = (b: number): string => (b / 1048576).toFixed(1);
  const out = [`## Steady state (vxtun on both nodes, txoff, ${s.seconds} s)`, ''];
  if (s.error) out.push(`Failed: ${s.error}`, '');
  out.push(`Constant load: iperf3 TCP at ${(s.load.tcpBps / 1e6).toFixed(0)} Mbit/s plus ${s.load.udpPps} pps of small UDP (delivered TCP ${fmt(s.tcpGbps, 2)} Gbit/s, UDP loss ${s.udpLoss === null ? '–' : fmt(s.udpLoss * 100, 2)} %). Slopes exclude the first 10 s.`, '');
  out.push('| node | RSS max (MiB) | RSS slope (KiB/min) | heap after full GC, slope (KiB/min) |', '|---|---:|---:|---:|');
  for (const node of Object.keys(s.rssMaxBytes)) {
    const heap = s.heapSlopeKiBPerMin ? fmt(s.heapSlopeKiBPerMin[node], 0) : 'not sampled';
    out.push(`| ${node} | ${mib(s.rssMaxBytes[node] ?? 0)} | ${fmt(s.rssSlopeKiBPerMin[node], 0)} | ${heap} |`);
  }
  if (s.heapNote) out.push('', `Heap: ${s.heapNote}`);
  const kept = Object.entries(s.retention ?? {});
  if (kept.length > 0) {
    out.push('', 'Heap: every sample follows a full collection in the daemon (`vxtun status --gc`), so it shows what is retained. ' +
      'Between the first and the last sample after the warm-up: collections (scavenges follow event-loop wakes, not packets: Node itself allocates a small object per loop iteration; ' +
      'full ones include the forced ones), packets forwarded and growth of the retained old generation.', '');
    out.push('| node | window (s) | GCs (scavenges / full) | packets forwarded | batches | retained growth (KiB) | retained per packet forwarded (B, at most) |', '|---|---:|---:|---:|---:|---:|---:|');
    for (const [node, r] of kept) {
      const grown = r.retainedGrowthBytes === null ? null : r.retainedGrowthBytes / 1024;
      out.push(`| ${node} | ${fmt(r.seconds, 0)} | ${r.gcMinor} / ${r.gcMajor} | ${r.packets} | ${r.batches ?? '–'} | ${fmt(grown, 0)} | ${fmt(r.retainedPerPacket, 4)} |`);
    }
  }
  return out;
}

/** Why userspace RTT is what it is on this machine: the thread wakeup costs, measured. */
export function wakeupSection(w: WakeupCost): string[] {
  const one = (r: WakeupRun): string => `${fmt(r.rttP50Us / 2, 1)} µs (p99 ${fmt(r.rttP99Us / 2, 1)} µs)`;
  const out = ['## Thread wakeups on this machine', ''];
  out.push(`A sleeping thread woken on the waker's own vCPU: ${one(w.sameCpu)} per wakeup` +
    (w.crossCpu ? `; on another, idle vCPU: ${one(w.crossCpu)}.` : '.') +
    ' (bench/tools/wakeup.c: two pinned processes ping-pong a byte over pipes, 2 ms apart, half the round trip.)');
  out.push('', 'Kernel VXLAN runs a ping\'s whole path in the sender\'s softirq, without waking anyone but the pinger. ' +
    'Through vxtun a round trip wakes a vxtun process three or four times: on node1 for the request from the TUN and for the reply from the socket, on node2 for the request from the socket ' +
    '(the reply usually reaches node2\'s TUN while that process is still awake from writing the request). Where those wakeups land on an idle vCPU, each costs the cross-vCPU figure. ' +
    'The "pinger and vxtun on vCPU 0" rows show the same ping with every wakeup on one vCPU.');
  return out;
}

/** Every failed measurement, "rep 1 default mixed tcp1: reason", and UDP searches where no rate passed. */
export function failures(cells: readonly CellResult[]): string[] {
  const out: string[] = [];
  for (const c of cells) {
    const where = `rep ${c.rep} ${c.mode} ${c.config}`;
    if (c.setupError) out.push(`${where} setup: ${c.setupError}`);
    for (const t of TESTS) {
      const o = c[t];
      if (o && !o.ok) out.push(`${where} ${t}: ${o.error}`);
    }
    const u = c.udp?.ok ? c.udp.value : null;
    if (u && u.search.length > 0 && u.maxPassPps === null) {
      const lowest = Math.min(...u.search.map((x) => x.offeredPps));
      out.push(`${where} udp: no offered rate down to ${(lowest / 1000).toFixed(1)} kpps had < 1 % loss`);
    }
  }
  return out;
}

/** The whole Markdown report. */
export function renderMarkdown(result: BenchResult): string {
  const { machine: m, plan: p } = result;
  const date = result.startedAt.slice(0, 10);
  const out = [
    `# vxtun namespace bench, ${date}${p.quick ? ' (quick)' : ''}`,
    '',
    `Machine: Linux ${m.kernel}, ${m.nproc} vCPU (${m.cpuModel}), Node ${m.node}, vxtun ${m.vxtun}${m.commit ? ` (${m.commit.slice(0, 12)})` : ''}, ${m.iperf3}. ` +
      `Background before start: ${fmt(m.backgroundBusyPct, 0)} % of one vCPU busy, load average ${m.loadavgAtStart.map((x) => x.toFixed(2)).join(' ')}. Run took ${Math.round(result.durationSeconds)} s.`,
    '',
    `Method: pod1 (node1) → pod2 (node2), a fresh namespace cluster per cell; ${p.reps} rep(s) interleaved (rep 1 of every config and mode, then rep 2, …); ` +
      `cells are median (min–max) over the reps, "[n/${p.reps}]" when some failed. RTT: ${p.pings} pings every ${p.pingIntervalS * 1000} ms, nearest-rank percentiles` +
      (p.idlePings > 0 ? `; idle RTT: ${p.idlePings} pings every ${p.idlePingIntervalS * 1000} ms, so every process on the path sleeps between them. ` : '. ') +
      `TCP: iperf3 -t ${p.tcpSeconds}, end.sum_received. UDP: one flow of ${p.udpPayload}-byte payloads (${p.udpPayload + 42}-byte inner frame), udpblast (sendmmsg) → udpsink (recvmmsg), ${p.udpSeconds} s trials; ` +
      `the offered load is the kernel's highest rate with < ${p.lossLimit * 100} % loss in the same rep, and every config is measured at it. ` +
      'CPU: whole-VM /proc/stat deltas (% of one vCPU; other work on the machine is included) and the forwarder processes\' (vxtun or naivefwd) utime+stime.',
  ];
  for (const mode of p.modes) {
    out.push('', `## ${MODE_TITLE[mode]}`, '', modeTable(result, mode));
    const crit = udpCriterion(result, mode);
    if (crit) out.push('', crit);
  }
  if (result.wakeup) out.push('', ...wakeupSection(result.wakeup));
  if (result.steady) out.push('', ...steadySection(result.steady));
  const fails = failures(result.cells);
  if (fails.length > 0) out.push('', '## Failed measurements', '', ...fails.map((f) => `- ${f}`));
  if (result.notes.length > 0) out.push('', '## Notes', '', ...result.notes.map((n) => `- ${n}`));
  return `${out.join('\n')}\n`;
}
