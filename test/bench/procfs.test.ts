// SPDX-License-Identifier: Apache-2.0
// /proc parsing and the CPU delta math of the bench (whole VM from /proc/stat, per process
// from /proc/<pid>/stat, RSS from /proc/<pid>/status).
import t from 'tap';
import { cpuDelta, parsePidStatTicks, parseProcStat, parseVmRss, processCpuPct, readCpuTimes, readPidTicks, readRss } from '../../src/bench/procfs.js';

const STAT_A = `cpu  1000 50 400 8000 100 10 40 0 0 0
cpu0 500 25 200 4000 50 5 20 0 0 0
cpu1 500 25 200 4000 50 5 20 0 0 0
intr 12345
ctxt 999
`;
// +100 ticks elapsed on each of 2 CPUs = 200 ticks: user +60, nice +10, system +40, idle +50, iowait +10, irq +5, softirq +25.
const STAT_B = `cpu  1060 60 440 8050 110 15 65 0 0 0
cpu0 530 30 220 4025 55 8 32 0 0 0
`;

t.test('parseProcStat reads the aggregate cpu line only', async (t) => {
  t.same(parseProcStat(STAT_A), { user: 1000, nice: 50, system: 400, idle: 8000, iowait: 100, irq: 10, softirq: 40, steal: 0 });
  t.same(parseProcStat('cpu  1 2 3 4\n'), { user: 1, nice: 2, system: 3, idle: 4, iowait: 0, irq: 0, softirq: 0, steal: 0 }, 'old kernels: missing columns are 0');
  t.throws(() => parseProcStat('cpu0 1 2 3\n'), /no aggregate/);
});

t.test('cpuDelta: % of one vCPU, scaled by the ticks themselves', async (t) => {
  const d = cpuDelta(parseProcStat(STAT_A), parseProcStat(STAT_B), 2);
  // total 200 ticks over 2 CPUs; busy = 200 - 50 idle - 10 iowait = 140 → 140 % of one vCPU.
  t.equal(d.busy, 140);
  t.equal(d.user, 70, 'user + nice');
  t.equal(d.sys, 40);
  t.equal(d.irqSoftirq, 30);
  t.equal(d.steal, 0);
  t.same(cpuDelta(parseProcStat(STAT_A), parseProcStat(STAT_A), 2), { busy: 0, user: 0, sys: 0, irqSoftirq: 0, steal: 0 }, 'no ticks elapsed');
  const full = cpuDelta(parseProcStat('cpu 0 0 0 0 0 0 0 0\n'), parseProcStat('cpu 100 0 100 0 0 0 0 0\n'), 2);
  t.equal(full.busy, 200, 'both vCPUs busy = 200');
});

t.test('parsePidStatTicks: utime + stime, command names with spaces and parens', async (t) => {
  const line = '4242 (node) S 1 4242 4242 0 -1 4194560 1234 0 0 0 250 75 0 0 20 0 11 0 5000 1000000 20000 18446744073709551615';
  t.equal(parsePidStatTicks(line), 325);
  const odd = '77 (my (weird) prog) R 1 77 77 0 -1 0 0 0 0 0 9 1 0 0 20 0 1 0 1 1 1';
  t.equal(parsePidStatTicks(odd), 10, 'fields counted after the last ")"');
  t.throws(() => parsePidStatTicks('garbage'), /no "\)"/);
  t.throws(() => parsePidStatTicks('1 (x) S 1'), /bad utime/);
});

t.test('parseVmRss and processCpuPct', async (t) => {
  t.equal(parseVmRss('Name:\tnode\nVmPeak:\t 900 kB\nVmRSS:\t   81234 kB\nThreads:\t11\n'), 81234 * 1024);
  t.equal(parseVmRss('Name:\tzombie\nState:\tZ\n'), null);
  t.equal(processCpuPct(100, 150, 1), 50, '50 ticks in 1 s = 50 % of one vCPU');
  t.equal(processCpuPct(0, 400, 2), 200);
  t.equal(processCpuPct(0, 10, 0), 0);
});

t.test('readers work on this machine and return null for a gone process', async (t) => {
  const now = readCpuTimes();
  t.ok(now.user + now.idle > 0);
  t.type(readPidTicks(process.pid), 'number');
  t.ok((readRss(process.pid) ?? 0) > 1 << 20, 'our own RSS is over 1 MiB');
  t.equal(readPidTicks(2 ** 22 + 12345), null);
  t.equal(readRss(2 ** 22 + 12345), null);
});
