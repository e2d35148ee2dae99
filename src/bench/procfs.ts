// SPDX-License-Identifier: Apache-2.0
/**
 * CPU and memory accounting from /proc, as baseline.md measures it: whole-VM CPU from
 * /proc/stat deltas over a test (all namespaces share one kernel), a process's own
 * utime+stime from /proc/<pid>/stat, its RSS from /proc/<pid>/status. Parsers and the
 * delta math are pure; the read* helpers do the I/O and return null when /proc has no
 * such entry (a process that already exited).
 */
import { readFileSync } from 'node:fs';

/** Linux reports /proc times in USER_HZ ticks, which is 100 on every mainstream architecture. */
export const USER_HZ = 100;

/** The aggregate "cpu" line of /proc/stat, in ticks. guest/guest_nice are already inside user/nice. */
export interface CpuTimes {
  user: number;
  nice: number;
  system: number;
  idle: number;
  iowait: number;
  irq: number;
  softirq: number;
  steal: number;
}

/** Parses the aggregate `cpu ` line of /proc/stat; throws when it is missing. */
export function parseProcStat(text: string): CpuTimes {
  const line = text.split('\n').find((l) => l.startsWith('cpu '));
  if (!line) throw new Error('/proc/stat: no aggregate "cpu" line');
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  const at = (i: number): number => (Number.isFinite(f[i]) ? (f[i] as number) : 0);
  return { user: at(0), nice: at(1), system: at(2), idle: at(3), iowait: at(4), irq: at(5), softirq: at(6), steal: at(7) };
}

/**
 * CPU use between two /proc/stat snapshots, in percent of ONE vCPU (so 200 means both of
 * two vCPUs were busy all the time), as in baseline.md's CPU table. busy = everything
 * except idle and iowait; user includes nice.
 */
export interface CpuUsage {
  busy: number;
  user: number;
  sys: number;
  irqSoftirq: number;
  steal: number;
}

/**
 * The CPU use between snapshots `a` and `b` on a machine with `ncpu` CPUs. The scale comes
 * from the tick counts themselves (total ticks = ncpu × elapsed), so no clock is needed.
 * All fields are 0 when no tick elapsed.
 */
export function cpuDelta(a: CpuTimes, b: CpuTimes, ncpu: number): CpuUsage {
  const d = (k: keyof CpuTimes): number => Math.max(0, b[k] - a[k]);
  const total = d('user') + d('nice') + d('system') + d('idle') + d('iowait') + d('irq') + d('softirq') + d('steal');
  if (total === 0) return { busy: 0, user: 0, sys: 0, irqSoftirq: 0, steal: 0 };
  const pct = (ticks: number): number => (ticks / total) * ncpu * 100;
  return {
    busy: pct(total - d('idle') - d('iowait')),
    user: pct(d('user') + d('nice')),
    sys: pct(d('system')),
    irqSoftirq: pct(d('irq') + d('softirq')),
    steal: pct(d('steal')),
  };
}

/**
 * utime + stime of a process (all its threads) in ticks, from the text of /proc/<pid>/stat.
 * The command name may contain spaces and parentheses, so fields are counted after the
 * last ')'. Throws on malformed text.
 */
export function parsePidStatTicks(text: string): number {
  const close = text.lastIndexOf(')');
  if (close < 0) throw new Error('/proc/<pid>/stat: no ")" after the command name');
  // After ')': field 3 (state) is index 0, so utime (14) is index 11 and stime (15) index 12.
  const f = text.slice(close + 1).trim().split(/\s+/);
  const utime = Number(f[11]);
  const stime = Number(f[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error('/proc/<pid>/stat: bad utime/stime');
  return utime + stime;
}

/** VmRSS from the text of /proc/<pid>/status, in bytes; null when the line is absent (a zombie). */
export function parseVmRss(text: string): number | null {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(text);
  return m ? Number(m[1]) * 1024 : null;
}

/** Percent of one vCPU a process used: ticks over `seconds` of wall time. */
export function processCpuPct(ticksBefore: number, ticksAfter: number, seconds: number): number {
  return seconds > 0 ? ((ticksAfter - ticksBefore) / USER_HZ / seconds) * 100 : 0;
}

/** A /proc/stat snapshot of this machine. */
export function readCpuTimes(): CpuTimes {
  return parseProcStat(readFileSync('/proc/stat', 'utf8'));
}

/** utime+stime ticks of `pid`, or null when it is gone. */
export function readPidTicks(pid: number): number | null {
  try {
    return parsePidStatTicks(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return null;
  }
}

/** VmRSS of `pid` in bytes, or null when it is gone. */
export function readRss(pid: number): number | null {
  try {
    return parseVmRss(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return null;
  }
}
