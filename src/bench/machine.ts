// SPDX-License-Identifier: Apache-2.0
/**
 * What the result file records about the machine: kernel, vCPUs, CPU model, memory, Node,
 * the vxtun version and commit, tool versions, and how busy the machine already was
 * (a 1 s /proc/stat sample before the bench starts), since absolute figures drift between
 * machines and with other load.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, release, totalmem, version } from 'node:os';
import path from 'node:path';
import { sleep } from '../lab/proc.js';
import { cpuDelta, readCpuTimes } from './procfs.js';
import type { MachineInfo } from './result.js';
import { PACKAGE_ROOT } from './tools.js';

/** First line of `cmd args` (stdout or stderr), or 'unknown'. */
function firstLine(cmd: string, args: string[]): string {
  try {
    const out = execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 5000 });
    return out.split('\n')[0]?.trim() || 'unknown';
  } catch {
    return 'unknown';
  }
}

function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** The checked-out commit (read-only `git rev-parse HEAD`), or null outside a git checkout. */
function commit(): string | null {
  const out = firstLine('git', ['-C', PACKAGE_ROOT, 'rev-parse', 'HEAD']);
  return /^[0-9a-f]{40}$/.test(out) ? out : null;
}

/** Collects MachineInfo; takes about one second (the background CPU sample). */
export async function machineInfo(): Promise<MachineInfo> {
  const ncpu = typeof availableParallelism === 'function' ? availableParallelism() : cpus().length;
  const load = loadavg();
  const a = readCpuTimes();
  await sleep(1000);
  const busy = cpuDelta(a, readCpuTimes(), cpus().length).busy;
  return {
    kernel: release(),
    kernelVersion: version(),
    nproc: ncpu,
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    memTotalBytes: totalmem(),
    node: process.version,
    vxtun: packageVersion(),
    commit: commit(),
    iperf3: firstLine('iperf3', ['--version']),
    cc: firstLine('cc', ['--version']),
    loadavgAtStart: load.map((x) => Math.round(x * 100) / 100),
    backgroundBusyPct: Math.round(busy * 10) / 10,
  };
}
