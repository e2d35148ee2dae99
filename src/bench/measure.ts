// SPDX-License-Identifier: Apache-2.0
/**
 * The measurements of one bench cell, pod1 → pod2, each with the CPU it cost: RTT (iputils
 * ping), TCP throughput (iperf3 -J, end.sum_received) and one small-UDP trial (udpblast →
 * udpsink). Every process runs inside the bed's pod namespaces through the lab's spawn
 * hooks, so destroy() kills it by PID if the bench is interrupted. Each function resolves
 * with figures or rejects with the reason the measurement failed.
 */
import { execFileSync } from 'node:child_process';
import { cpus } from 'node:os';
import type { ChildProcess } from 'node:child_process';
import { collect, sleep, stopChild, waitForOutput } from '../lab/proc.js';
import type { BenchBed } from './bed.js';
import { parseBlast, parseIperf3, parsePing, parseSink } from './parse.js';
import type { BenchPlan } from './plan.js';
import { cpuDelta, processCpuPct, readCpuTimes, readPidTicks, type CpuUsage } from './procfs.js';
import { percentile } from './stats.js';
import type { CpuCost, RttResult, TcpResult, UdpTrial } from './result.js';

/** Starts a CPU window (whole VM + each forwarder process of `bed`); call the result to close it. */
export function cpuWindow(bed: BenchBed): () => CpuCost {
  const ncpu = cpus().length;
  const t0 = performance.now();
  const vm0 = readCpuTimes();
  const pids0 = bed.daemons.map((v) => ({ node: v.node, pid: v.pid, ticks: readPidTicks(v.pid) }));
  return () => {
    const seconds = (performance.now() - t0) / 1000;
    const vm: CpuUsage = cpuDelta(vm0, readCpuTimes(), ncpu);
    const daemonPct: Record<string, number> = {};
    for (const p of pids0) {
      const now = readPidTicks(p.pid);
      if (p.ticks !== null && now !== null) daemonPct[p.node] = processCpuPct(p.ticks, now, seconds);
    }
    return { seconds, vm, daemonPct };
  };
}

/** Sets the CPU affinity of every thread of `pid` (`taskset -a -p -c <cpus>`). */
function setAffinity(pid: number, cpus: string): void {
  execFileSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' });
}

/** How many pings `measureRtt` sends, and how far apart (seconds). */
export interface PingSpec {
  pings: number;
  intervalS: number;
}

/**
 * `ping -n -i interval -c count -W 1` pod1 → pod2; nearest-rank p50/p99 of the per-packet
 * times. With `pinCpu`, the pinger and every forwarder process of the bed run on that vCPU only
 * (taskset), so every wakeup on the path is a same-vCPU one; the daemons get all vCPUs back
 * afterwards.
 */
export async function measureRtt(bed: BenchBed, spec: PingSpec, pinCpu?: number): Promise<RttResult> {
  const ping = ['ping', '-n', '-i', String(spec.intervalS), '-c', String(spec.pings), '-W', '1', bed.server.ip];
  const argv = pinCpu === undefined ? ping : ['taskset', '-c', String(pinCpu), ...ping];
  if (pinCpu !== undefined) for (const v of bed.daemons) setAffinity(v.pid, String(pinCpu));
  const close = cpuWindow(bed);
  let r: Awaited<ReturnType<typeof collect>>;
  try {
    r = await collect(bed.client.spawn(argv), (spec.pings * spec.intervalS + 30) * 1000);
  } finally {
    if (pinCpu !== undefined) for (const v of bed.daemons) setAffinity(v.pid, `0-${cpus().length - 1}`);
  }
  const cpu = close();
  const p = parsePing(r.stdout + r.stderr);
  if (p.rttUs.length === 0) throw new Error(`no ping replies (${p.transmitted} sent)`);
  const mean = p.rttUs.reduce((a, b) => a + b, 0) / p.rttUs.length;
  return {
    p50Us: percentile(p.rttUs, 50),
    p99Us: percentile(p.rttUs, 99),
    minUs: Math.min(...p.rttUs),
    maxUs: Math.max(...p.rttUs),
    meanUs: Math.round(mean * 10) / 10,
    sent: p.transmitted,
    received: p.received,
    cpu,
  };
}

/** Starts a child (in a pod) and waits for `ready` on its stdout; `done` collects all its output until it exits. */
export async function startReady(spawnIt: () => ChildProcess, ready: RegExp, timeoutMs: number): Promise<{ child: ChildProcess; done: ReturnType<typeof collect> }> {
  const child = spawnIt();
  const done = collect(child, timeoutMs);
  try {
    await waitForOutput(child, child.stdout, ready, 10_000);
  } catch (err) {
    await stopChild(child, 'SIGKILL');
    const r = await done;
    throw new Error(`${(err as Error).message} ${r.stderr.trim()}`.trim());
  }
  return { child, done };
}

/** iperf3 TCP with `streams` parallel streams for plan.tcpSeconds; a fresh one-shot server per run. */
export async function measureTcp(bed: BenchBed, plan: BenchPlan, streams: number, port = 5201): Promise<TcpResult> {
  const srv = await startReady(() => bed.server.spawn(['iperf3', '-s', '-1', '-p', String(port), '--forceflush']), /Server listening/, (plan.tcpSeconds + 60) * 1000);
  try {
    const argv = ['iperf3', '-c', bed.server.ip, '-p', String(port), '-t', String(plan.tcpSeconds), '-P', String(streams), '-J', '--connect-timeout', '3000'];
    const close = cpuWindow(bed);
    const r = await collect(bed.client.spawn(argv), (plan.tcpSeconds + 20) * 1000);
    const cpu = close();
    const ip = parseIperf3(r.stdout);
    const gbps = ip.receivedBps / 1e9;
    return { streams, gbps, retransmits: ip.retransmits, seconds: ip.seconds, iperfCpuSenderPct: ip.cpuSenderPct, iperfCpuReceiverPct: ip.cpuReceiverPct, cpu, vcpuPerGbps: gbps > 0 ? cpu.vm.busy / 100 / gbps : null };
  } finally {
    await stopChild(srv.child);
    await srv.done;
  }
}

/**
 * One small-UDP trial: udpsink in pod2, udpblast in pod1 for plan.udpSeconds at
 * `ratePps` (0 = as fast as it can). The sink is stopped 500 ms after the blaster ends so
 * datagrams still queued in the dataplane are counted. delivered = received / blast time;
 * loss = (sent − received) / sent.
 */
export async function measureUdp(bed: BenchBed, plan: BenchPlan, tools: { udpblast: string; udpsink: string }, ratePps: number, port = 9000): Promise<UdpTrial> {
  const sink = await startReady(() => bed.server.spawn([tools.udpsink, '-p', String(port), '-t', String(plan.udpSeconds + 30)]), /ready/, (plan.udpSeconds + 40) * 1000);
  let blastOut: Awaited<ReturnType<typeof collect>>;
  let cpu: CpuCost;
  try {
    const argv = [tools.udpblast, '-d', bed.server.ip, '-p', String(port), '-s', String(plan.udpPayload), '-t', String(plan.udpSeconds), '-r', String(Math.round(ratePps))];
    const close = cpuWindow(bed);
    blastOut = await collect(bed.client.spawn(argv), (plan.udpSeconds + 15) * 1000);
    cpu = close();
    await sleep(500);
  } finally {
    await stopChild(sink.child, 'SIGTERM', 3000);
  }
  const s = await sink.done;
  if (blastOut.status !== 0) throw new Error(`udpblast failed (${blastOut.status}): ${blastOut.stderr.trim()}`);
  const blast = parseBlast(blastOut.stdout);
  const got = parseSink(s.stdout);
  if (blast.sent === 0) throw new Error(`udpblast sent nothing (${blast.errors} send errors)`);
  const deliveredPps = got.received / blast.seconds;
  return {
    offeredPps: Math.round(ratePps),
    sentPps: Math.round(blast.sentPps),
    deliveredPps: Math.round(deliveredPps),
    sent: blast.sent,
    received: got.received,
    sendErrors: blast.errors,
    loss: Math.max(0, (blast.sent - got.received) / blast.sent),
    seconds: blast.seconds,
    blasterCpuPct: ((blast.cpuUserS + blast.cpuSysS) / blast.seconds) * 100,
    sinkCpuPct: ((got.cpuUserS + got.cpuSysS) / blast.seconds) * 100,
    cpu,
    vcpuPer100kpps: deliveredPps > 0 ? cpu.vm.busy / 100 / (deliveredPps / 100_000) : null,
  };
}
