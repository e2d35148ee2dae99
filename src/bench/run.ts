// SPDX-License-Identifier: Apache-2.0
/**
 * `vxtun bench`: the namespace benchmark, kernel VXLAN vs vxtun vs mixed (and the naive C
 * forwarder as the userspace anchor), side by side in one run. Repetitions are interleaved
 * (rep 1 of every mode and config, then rep 2, …) and every cell gets a fresh bed (bed.ts).
 * Within a rep and mode the kernel runs first: its highest small-UDP rate with < 1 % loss is
 * the load the other configs are measured at (when the kernel cell failed, the last rate
 * found for that mode).
 * A failed measurement is recorded with its reason and the run goes on. Namespaces and
 * processes are removed at the end, on errors and on Ctrl-C (the lab's cleanup hooks).
 */
import { cpus } from 'node:os';
import path from 'node:path';
import { buildBed, type BenchBed } from './bed.js';
import { machineInfo } from './machine.js';
import { modeTable, udpCriterion } from './markdown.js';
import { summarizeCells } from './metrics.js';
import { measureRtt, measureTcp, measureUdp } from './measure.js';
import { estimateSeconds, parsePlan, stepCount, TESTS, type BenchFlags, type BenchPlan, type OffloadMode } from './plan.js';
import { Progress } from './progress.js';
import { RESULT_SCHEMA, type BenchResult, type CellResult, type Outcome, type RttResult, type SteadyResult, type WakeupCost } from './result.js';
import { writeResultFiles, type WrittenFiles } from './report.js';
import { runSteady } from './steady.js';
import { buildTools, PACKAGE_ROOT, requireTools, type BenchTools } from './tools.js';
import { udpTest } from './udp.js';
import { measureWakeups } from './wakeup.js';

async function outcome<T>(p: Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await p };
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
}

const kpps = (pps: number): string => `${(pps / 1000).toFixed(1)} kpps`;

/** Runs the tests of one cell on `bed` (TESTS, in that order), filling `cell`. */
async function runCell(bed: BenchBed, cell: CellResult, plan: BenchPlan, tools: BenchTools, progress: Progress, refs: Map<OffloadMode, number>): Promise<void> {
  const label = (t: string): string => `${cell.config} ${cell.mode} ${t} rep ${cell.rep}`;
  const rttText = (r: RttResult): string => `p50 ${r.p50Us.toFixed(0)} µs, p99 ${r.p99Us.toFixed(0)} µs (${r.received}/${r.sent})`;
  const busy = { pings: plan.pings, intervalS: plan.pingIntervalS };
  cell.rtt = await outcome(progress.step(label('rtt'), () => measureRtt(bed, busy), rttText));
  if (cpus().length > 1) cell.rtt1cpu = await outcome(progress.step(label('rtt1cpu'), () => measureRtt(bed, busy, 0), rttText));
  else progress.skip(label('rtt1cpu'), 'one vCPU: the same as rtt');
  if (plan.idlePings > 0) cell.rttIdle = await outcome(progress.step(label('rttIdle'), () => measureRtt(bed, { pings: plan.idlePings, intervalS: plan.idlePingIntervalS }), rttText));
  else progress.skip(label('rttIdle'), 'no idle pings in this plan');
  for (const streams of [1, 4] as const) {
    const o = await outcome(progress.step(label(`tcp${streams}`), () => measureTcp(bed, plan, streams), (r) => `${r.gbps.toFixed(2)} Gbit/s (${r.retransmits} retransmits)`));
    if (streams === 1) cell.tcp1 = o; else cell.tcp4 = o;
  }
  const hasKernel = plan.configs.includes('kernel');
  const isReference = cell.config === 'kernel';
  cell.udp = await outcome(progress.step(label('udp'), (status) => udpTest(
    (rate, seconds) => measureUdp(bed, { ...plan, udpSeconds: seconds }, tools, rate),
    {
      seconds: plan.udpSeconds,
      lossLimit: plan.lossLimit,
      isReference,
      referencePps: refs.get(cell.mode) ?? null,
      search: plan.udpSearch || !hasKernel,
      searchTrials: plan.quick ? 3 : 5,
      searchSeconds: Math.min(plan.udpSeconds, 5),
      status,
    }), (u) => {
    const at = u.atReference ? `${kpps(u.atReference.deliveredPps)} at ${kpps(u.referencePps ?? u.atReference.sentPps)} (loss ${(u.atReference.loss * 100).toFixed(2)} %)` : 'no reference load';
    return `${at}; unthrottled ${kpps(u.unthrottled.deliveredPps)} of ${kpps(u.unthrottled.sentPps)} sent`;
  }));
  if (isReference && cell.udp.ok && cell.udp.value.referencePps !== null) refs.set(cell.mode, cell.udp.value.referencePps);
}

/** The steady-state load: half of vxtun's median txoff TCP 1-stream rate (0.1–2 Gbit/s; 0.5 when unknown). */
function steadyTcpBps(cells: readonly CellResult[]): number {
  const rates = cells.filter((c) => c.config === 'vxtun' && c.mode === 'txoff' && c.tcp1?.ok).map((c) => (c.tcp1?.ok ? c.tcp1.value.gbps : 0)).sort((a, b) => a - b);
  const med = rates.length > 0 ? (rates[(rates.length - 1) >> 1] as number) : 1;
  return Math.min(2e9, Math.max(1e8, (med / 2) * 1e9));
}

/** Runs the whole bench as `flags` say, writes the three files and prints the tables. */
export async function runBench(flags: BenchFlags): Promise<{ result: BenchResult; files: WrittenFiles }> {
  requireTools();
  const plan = parsePlan(flags, path.join(PACKAGE_ROOT, 'bench', 'results'));
  const progress = new Progress(stepCount(plan));
  progress.note(`vxtun bench${plan.quick ? ' --quick' : ''}: ${plan.configs.join(', ')} × ${plan.modes.join(', ')} × ${plan.reps} rep(s), ` +
    `${stepCount(plan)} steps, roughly ${Math.ceil(estimateSeconds(plan) / 60)} min. Needs a quiet machine for meaningful figures.`);
  const startedAt = new Date();
  const machine = await progress.wait('sampling background CPU', machineInfo);
  progress.note(`machine: Linux ${machine.kernel}, ${machine.nproc} vCPU, Node ${machine.node}; background ${machine.backgroundBusyPct.toFixed(0)} % of one vCPU busy`);
  const tools = buildTools();
  let wakeup: WakeupCost | null = null;
  const notes: string[] = [];
  try {
    wakeup = await progress.wait('measuring thread wakeups', async () => measureWakeups(tools.wakeup, cpus().length));
  } catch (err) {
    notes.push(`The wakeup probe failed: ${err instanceof Error ? err.message : String(err)}`);
  }
  const cells: CellResult[] = [];
  const refs = new Map<OffloadMode, number>();
  let steady: SteadyResult | null = null;
  try {
    for (let rep = 1; rep <= plan.reps; rep++) {
      for (const mode of plan.modes) {
        for (const config of plan.configs) {
          const cell: CellResult = { rep, mode, config, startedAt: new Date().toISOString() };
          cells.push(cell);
          let bed: BenchBed;
          try {
            bed = await progress.wait(`building the ${config} ${mode} bed`, () => buildBed(config, mode, { naivefwd: tools.naivefwd }));
          } catch (err) {
            cell.setupError = err instanceof Error ? err.message : String(err);
            for (const t of TESTS) progress.skip(`${config} ${mode} ${t} rep ${rep}`, `bed setup failed: ${cell.setupError}`);
            continue;
          }
          try {
            await runCell(bed, cell, plan, tools, progress, refs);
          } finally {
            await bed.teardown();
          }
        }
      }
    }
    if (plan.steadySeconds > 0) {
      const tcpBps = steadyTcpBps(cells);
      steady = await progress.step(`vxtun txoff steady state ${plan.steadySeconds} s`, (status) => runSteady(tools, plan.steadySeconds, tcpBps, 10_000, plan.udpPayload, status),
        (s) => s.error ? `failed: ${s.error}` : `RSS max ${Object.entries(s.rssMaxBytes).map(([n, b]) => `${n} ${(b / 1048576).toFixed(1)} MiB`).join(', ')}${s.heapNote ? `; ${s.heapNote}` : ''}`);
    }
  } finally {
    tools.remove();
  }
  if (plan.udpPayload === 18) notes.push('Small UDP = 18-byte payloads: a 60-byte inner Ethernet frame (64 bytes with FCS), as baseline.md\'s "small UDP"; use --udp-payload 64 for 64-byte payloads.');
  if (!plan.configs.includes('kernel')) notes.push('No kernel cells: there is no reference load, each config searched its own highest rate with < 1 % loss.');
  const finishedAt = new Date();
  const result: BenchResult = {
    schema: RESULT_SCHEMA,
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    durationSeconds: (finishedAt.getTime() - startedAt.getTime()) / 1000,
    machine,
    plan,
    cells,
    summary: summarizeCells(cells),
    steady,
    wakeup,
    notes,
  };
  const files = writeResultFiles(result, plan.outDir, startedAt);
  for (const mode of plan.modes) {
    progress.note(`\n${mode}:\n${modeTable(result, mode)}`);
    const crit = udpCriterion(result, mode);
    if (crit) progress.note(crit);
  }
  progress.note(`\nwrote ${files.json}\n      ${files.md}\n      ${files.svg}`);
  return { result, files };
}
