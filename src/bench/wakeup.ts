// SPDX-License-Identifier: Apache-2.0
/**
 * The wakeup probe: what it costs here to wake a thread sleeping in epoll, on the waker's
 * own vCPU and on another (idle) one. Every userspace hop of a packet pays one such
 * wakeup, so these two figures explain most of vxtun's RTT against kernel VXLAN on a VM
 * (see the report's "Thread wakeups" section). Runs bench/tools/wakeup.c on the host; it
 * needs no namespaces.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { WakeupCost, WakeupRun } from './result.js';

const run = promisify(execFile);

/** Parses wakeup's JSON line; throws naming what is missing or malformed. */
export function parseWakeup(stdout: string): WakeupRun {
  const line = stdout.trim().split('\n').pop() ?? '';
  let j: Record<string, unknown>;
  try {
    j = JSON.parse(line) as Record<string, unknown>;
  } catch {
    throw new Error(`wakeup printed no JSON line: ${JSON.stringify(stdout.slice(0, 200))}`);
  }
  const num = (k: string): number => {
    const v = j[k];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new Error(`wakeup's JSON has no valid ${k}: ${line}`);
    return v;
  };
  return { cpuA: num('cpu_a'), cpuB: num('cpu_b'), rounds: num('rounds'), rttP50Us: num('rtt_p50_us'), rttP99Us: num('rtt_p99_us') };
}

/** Runs the probe on vCPUs 0/0 and, with two or more vCPUs, 0/1 (2000 rounds, 2 ms apart: ~4 s each). */
export async function measureWakeups(binary: string, ncpu: number, rounds = 2000): Promise<WakeupCost> {
  const once = async (a: number, b: number): Promise<WakeupRun> => {
    const { stdout } = await run(binary, ['-a', String(a), '-b', String(b), '-n', String(rounds)], { timeout: 60_000 });
    return parseWakeup(stdout);
  };
  const sameCpu = await once(0, 0);
  const crossCpu = ncpu > 1 ? await once(0, 1) : null;
  return { sameCpu, crossCpu };
}
