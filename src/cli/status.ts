// SPDX-License-Identifier: Apache-2.0
/**
 * `vxtun status`: asks the running daemon over its control socket and prints the answer,
 * as an aligned human report (default) or the daemon's JSON (--json) for scripts. No
 * daemon: one sentence naming the socket, exit 2.
 */
import { connect } from 'node:net';
import type { Writable } from 'node:stream';
import { defaultControlSocket } from '../daemon/control.js';
import type { VxtunStatus } from '../daemon/status.js';
import { UsageError } from './errors.js';

export interface StatusFlags {
  json?: boolean;
  /** Ask the daemon for a full GC before the report (it must run with --expose-gc). */
  gc?: boolean;
  socket?: string;
  tunName?: string;
}

/** The socket a client should use: --socket, else /run/vxtun/<tun>.sock (tun default flannel.1). */
export function socketPathOf(flags: { socket?: string; tunName?: string }): string {
  return flags.socket ?? defaultControlSocket(flags.tunName ?? 'flannel.1');
}

/** Turns a connect error into the sentence the operator sees (UsageError, exit 2). */
export function connectError(socketPath: string, err: NodeJS.ErrnoException): UsageError {
  if (err.code === 'EACCES' || err.code === 'EPERM') return new UsageError(`cannot connect to ${socketPath}: permission denied (the control socket is root-only)`, { cause: err });
  if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED' || err.code === 'ENOTSOCK') return new UsageError(`no vxtun running: cannot connect to ${socketPath}`, { cause: err });
  return new UsageError(`cannot connect to ${socketPath}: ${err.message}`, { cause: err });
}

/** Sends one JSON request line and resolves with the one JSON line the daemon answers. */
export function controlRequest(socketPath: string, request: object, timeoutMs = 10_000): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const sock = connect(socketPath);
    let buf = '';
    let connected = false;
    const timer = setTimeout(() => { sock.destroy(); reject(new Error(`no answer from ${socketPath} within ${timeoutMs} ms`)); }, timeoutMs);
    sock.setEncoding('utf8');
    sock.once('connect', () => { connected = true; sock.write(`${JSON.stringify(request)}\n`); });
    sock.on('data', (d: string) => { buf += d; });
    sock.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(connected ? new Error(`control socket ${socketPath}: ${err.message}`) : connectError(socketPath, err));
    });
    sock.on('end', () => {
      clearTimeout(timer);
      const line = buf.split('\n')[0] ?? '';
      try {
        resolve(JSON.parse(line) as Record<string, unknown>);
      } catch {
        reject(new Error(`control socket ${socketPath} answered something that is not JSON: ${JSON.stringify(line.slice(0, 200))}`));
      }
    });
  });
}

/** Asks for the status (after a full GC in the daemon with `gc`); throws the daemon's error as an Error. */
export async function fetchStatus(socketPath: string, o: { gc?: boolean } = {}): Promise<VxtunStatus> {
  const r = await controlRequest(socketPath, o.gc === true ? { cmd: 'status', gc: true } : { cmd: 'status' });
  if (r.ok !== true) throw new Error(`vxtun refused the status request: ${String(r.error)}`);
  return r.status as VxtunStatus;
}

/** 1536 → '1.5 KiB'. */
export function humanBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) { v /= 1024; u++; }
  return u === 0 ? `${v} B` : `${v.toFixed(1)} ${units[u]}`;
}

/** Two units at most: 42 → '42s', 125 → '2m5s', 3725 → '1h2m', 90000 → '1d1h'. */
export function humanDuration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d${Math.floor((s % 86400) / 3600)}h`;
}

/** Left-aligned columns separated by two spaces (numbers right-aligned). */
export function table(header: string[], rows: string[][], numeric: boolean[] = []): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** The human report. */
export function formatStatus(s: VxtunStatus): string {
  const t = s.totals;
  const out: string[] = [];
  out.push(`vxtun ${s.version}  pid ${s.pid}  up ${humanDuration(s.uptimeSeconds)}  (since ${s.startedAt})`);
  out.push(table(['', ''], [
    ['lease', `${s.lease.subnet}  PublicIP ${s.lease.publicIp}  VtepMAC ${s.lease.vtepMac}  VNI ${s.lease.vni}  port ${s.lease.port}  (Network ${s.lease.network})`],
    ['interface', `${s.interface.name}  ${s.interface.ifaceAddr}  MTU ${s.interface.mtu}${s.interface.publicIp !== s.interface.ifaceAddr ? `  (advertised ${s.interface.publicIp})` : ''}`],
    ['tun', `${s.tun.name}  MTU ${s.tun.mtu}`],
    ['offloads', s.offloads.length > 0 ? s.offloads.join(', ') : 'none'],
    ...Object.entries(s.offloadStats ?? {}).map(([seam, st]) => [`  ${seam}`, Object.entries(st).map(([k, v]) => `${k} ${v}`).join('  ')]),
    ['memory', `rss ${humanBytes(s.memory.rss)}  heap used ${humanBytes(s.memory.heapUsed)} (old generation ${humanBytes(s.memory.heapOld)})  GCs ${s.memory.gcMinor} minor / ${s.memory.gcMajor} major`],
    ['control plane', `lease renewals ${s.controlPlane.leaseRenewals}  store watch ${s.controlPlane.storeWatchUp === null ? 'n/a' : s.controlPlane.storeWatchUp ? 'up' : 'DOWN'}`],
    ['capture', `${s.capture.sessions} active  ${s.capture.captured} captured  ${s.capture.dropped} dropped (slow client)`],
  ]).split('\n').slice(1).join('\n'));
  out.push('', `PEERS (${s.peers.length})`);
  if (s.peers.length === 0) out.push('  (none: no other lease in the store yet)');
  else {
    out.push(table(['SUBNET', 'PUBLIC IP', 'VTEP MAC', 'LAST SEEN', 'TX PKTS', 'TX BYTES', 'RX PKTS', 'RX BYTES'],
      s.peers.map((p) => [p.subnet, p.publicIp, p.vtepMac, p.lastRxAgoSeconds === null ? 'never' : `${humanDuration(p.lastRxAgoSeconds)} ago`,
        String(p.txPackets), humanBytes(p.txBytes), String(p.rxPackets), humanBytes(p.rxBytes)]),
      [false, false, false, false, true, true, true, true]));
  }
  out.push('', 'TOTALS');
  out.push(table(['', 'PACKETS', 'BYTES'], [
    ['read from TUN', String(t.tunRxPackets), humanBytes(t.tunRxBytes)],
    ['sent (VXLAN)', String(t.udpTxPackets), humanBytes(t.udpTxBytes)],
    ['received (VXLAN)', String(t.udpRxPackets), humanBytes(t.udpRxBytes)],
    ['written to TUN', String(t.tunTxPackets), humanBytes(t.tunTxBytes)],
    ['checksums finished', String(t.checksumsFinished ?? 0), ''],
    ['longer than TUN MTU', String(t.overMtu ?? 0), ''],
    ['ICMP unreachable sent', String(t.icmpUnreachSent), ''],
    ['dropped', String(t.drops), ''],
  ], [false, true, true]).replace(/^/gm, '  '));
  out.push(`  batches: encap ${s.batches.encap} (mean ${s.batches.meanEncapSize} pkts), decap ${s.batches.decap} (mean ${s.batches.meanDecapSize} pkts)`);
  out.push('', 'DROPS BY REASON');
  const drops = Object.entries(s.drops).filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1]);
  if (drops.length === 0) out.push('  (none)');
  else out.push(table(['REASON', 'COUNT'], drops.map(([r, n]) => [r, String(n)]), [false, true]).replace(/^/gm, '  '));
  return `${out.join('\n')}\n`;
}

/** The action: fetch, print. Connection problems are UsageErrors (exit 2). */
export async function statusCommand(flags: StatusFlags, out: Writable = process.stdout): Promise<void> {
  const s = await fetchStatus(socketPathOf(flags), { gc: flags.gc === true });
  out.write(flags.json ? `${JSON.stringify(s, null, 2)}\n` : formatStatus(s));
}
