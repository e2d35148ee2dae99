// SPDX-License-Identifier: Apache-2.0
/**
 * Underlay capture and dissection. Capture uses tcpdump (lighter than tshark) inside the
 * node namespace: `tcpdump -Z root -n -U --immediate-mode -i ul0 -w <file> [-c n] [filter]`;
 * dissection reads the file with tshark, decoding UDP 8472 as VXLAN and verifying IP/UDP
 * checksums (ecosystem.md §7 lists the field names).
 */
import type { LabNode } from './node.js';
import { execAsync, isRunning, stopChild, waitForOutput } from './proc.js';

/** Options of captureUnderlay(). */
export interface CaptureOptions {
  /** pcap file to write (overwritten). */
  file: string;
  /** Stop by itself after this many packets (tcpdump -c). */
  count?: number;
  /** pcap filter expression, e.g. 'udp port 8472'. */
  filter?: string;
  /** Interface inside the node (default the node's ul0). */
  iface?: string;
}

/** A running capture. */
export interface Capture {
  readonly file: string;
  /**
   * Ends the capture (SIGTERM by PID; tcpdump then flushes and closes the file) and
   * resolves once the process has exited, so the file is complete. Idempotent; resolves at
   * once if tcpdump already stopped (e.g. after `count` packets).
   */
  stop(): Promise<void>;
}

/**
 * Starts tcpdump on `node`'s underlay link and resolves once it is capturing (tcpdump
 * printed "listening on"), so traffic sent afterwards is recorded. The process is tracked
 * by the lab; destroy() kills it if stop() was never called.
 */
export async function captureUnderlay(node: LabNode, opts: CaptureOptions): Promise<Capture> {
  const argv = ['tcpdump', '-Z', 'root', '-n', '-U', '--immediate-mode', '-i', opts.iface ?? node.ulDev, '-w', opts.file];
  if (opts.count !== undefined) argv.push('-c', String(opts.count));
  if (opts.filter) argv.push(opts.filter);
  const child = node.spawn(argv, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  try {
    stderr = await waitForOutput(child, child.stderr, /listening on/, 10_000);
  } catch (err) {
    await stopChild(child, 'SIGKILL');
    throw err;
  }
  child.stderr?.on('data', (d: Buffer) => { stderr += d.toString(); });
  let stopped: Promise<void> | undefined;
  return {
    file: opts.file,
    stop(): Promise<void> {
      stopped ??= (async () => {
        if (isRunning(child)) await stopChild(child, 'SIGTERM', 5000);
        if (child.exitCode !== 0 && child.signalCode !== 'SIGTERM') {
          throw new Error(`tcpdump on ${node.name} ended with ${child.exitCode ?? child.signalCode}: ${stderr.trim()}`);
        }
      })();
      return stopped;
    },
  };
}

/**
 * One dissected frame: field name → its occurrences in protocol order. With VXLAN the
 * outer value comes first and the inner second, e.g. row['ip.src'] = [outer, inner].
 * A field absent from the frame maps to [].
 */
export type DissectRow = Record<string, string[]>;

/**
 * Dissects `file` with tshark (`-d udp.port==<vxlanPort>,vxlan -o ip.check_checksum:TRUE
 * -o udp.check_checksum:TRUE -T fields -E separator=, -E occurrence=a`, occurrences
 * aggregated with ';'), one row per frame, optionally restricted by a display filter
 * (`-Y`). Checksum status fields read '1' for Good, '0' for Bad, '2' for unverified.
 * Throws if tshark fails.
 */
export async function dissect(file: string, fields: readonly string[], opts: { displayFilter?: string; vxlanPort?: number } = {}): Promise<DissectRow[]> {
  if (fields.length === 0) throw new Error('dissect: no fields');
  const argv = ['tshark', '-n', '-r', file, '-d', `udp.port==${opts.vxlanPort ?? 8472},vxlan`,
    '-o', 'ip.check_checksum:TRUE', '-o', 'udp.check_checksum:TRUE',
    '-T', 'fields', '-E', 'separator=,', '-E', 'occurrence=a', '-E', 'aggregator=;'];
  if (opts.displayFilter) argv.push('-Y', opts.displayFilter);
  for (const f of fields) argv.push('-e', f);
  const r = await execAsync(argv, 60_000);
  if (r.status !== 0) throw new Error(`tshark -r ${file} failed (exit ${r.status}): ${r.stderr.trim()}`);
  const lines = r.stdout.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines.map((line) => {
    const cols = line.split(',');
    const row: DissectRow = {};
    fields.forEach((f, i) => {
      const v = cols[i] ?? '';
      row[f] = v === '' ? [] : v.split(';');
    });
    return row;
  });
}
