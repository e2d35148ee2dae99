// SPDX-License-Identifier: Apache-2.0
/**
 * Prometheus metrics (prom-client) on --metrics-address (default 127.0.0.1:9472; "off"
 * disables). Every vxtun_* value is read at scrape time from the Device's counters and
 * the SubnetTable's peers: the hot path never calls into prom-client.
 *
 *   vxtun_peer_packets_total / vxtun_peer_bytes_total {peer, direction=tx|rx}  inner packets/bytes per peer
 *   vxtun_peer_last_rx_timestamp_seconds {peer}, vxtun_peers
 *   vxtun_packets_total / vxtun_bytes_total {path=tun_rx|udp_tx|udp_rx|tun_tx}
 *   vxtun_drops_total {reason}                 every reason, zeros included
 *   vxtun_icmp_unreachable_sent_total
 *   vxtun_batches_total / vxtun_batch_size_mean {direction=encap|decap}
 *   vxtun_event_loop_delay_p99_seconds         since the previous scrape (monitorEventLoopDelay)
 *   vxtun_lease_renewals_total, vxtun_store_watch_up   reported by the subnet managers
 *   vxtun_capture_sessions, vxtun_build_info{version,node}, and prom-client's default
 *   process/nodejs metrics (nodejs_eventloop_lag_*, heap, fds, ...).
 *
 * Subnet managers report through the tiny ControlPlaneMetrics interface (no prom-client
 * in their code): `controlPlaneMetrics` is the process-wide recorder `vxtun run` passes them.
 */
import { createServer, type Server } from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { DROP_REASONS } from '../packet/drop.js';
import { ipToString } from '../packet/ipv4.js';
import { UsageError } from '../cli/errors.js';
import { packageVersion } from '../cli/main.js';
import type { Logger } from './log.js';
import type { StatusSource } from './status.js';

export { ControlPlaneState, NOOP_CONTROL_PLANE_METRICS, controlPlaneMetrics, type ControlPlaneMetrics } from '../subnet/metrics.js';
import { controlPlaneMetrics, type ControlPlaneState } from '../subnet/metrics.js';

export const DEFAULT_METRICS_ADDRESS = '127.0.0.1:9472';

/**
 * How often the two event-loop delay monitors (ours and prom-client's) sample, in ms. Each
 * sample is a timer wake of the main thread; at prom-client's default of 10 ms the two kept
 * an idle daemon waking 200 times a second (about 1 % of a vCPU here, and a wake in the
 * packet path's thread every 5 ms). 100 ms still gives ~150 samples per 15 s scrape.
 */
export const EVENT_LOOP_SAMPLE_MS = 100;

/** parseMetricsAddress: 'host:port', '[v6]:port', ':port' (all interfaces) or 'off' (→ null). Throws UsageError. */
export function parseMetricsAddress(s: string): { host: string; port: number } | null {
  if (s === 'off' || s === '') return null;
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(s);
  const port = Number(m?.[3]);
  if (!m || !(port >= 0 && port <= 65535)) throw new UsageError(`--metrics-address ${JSON.stringify(s)}: want host:port (e.g. 127.0.0.1:9472) or "off"`);
  const host = m[1] ?? m[2] ?? '';
  return { host: host === '' ? '0.0.0.0' : host, port };
}

export interface MetricsOptions {
  source: StatusSource;
  controlPlane?: ControlPlaneState;
  /** Active capture sessions (control server), read at scrape. */
  captureSessions?: () => number;
}

/** A Registry whose vxtun_* metrics collect from `source` at scrape; stop() ends the delay monitor. */
export function createMetricsRegistry(o: MetricsOptions): { registry: Registry; stop(): void } {
  const registry = new Registry();
  const reg = [registry];
  const cp = o.controlPlane ?? controlPlaneMetrics;
  const device = o.source.device;
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
  const peerName = (p: { network: number; prefixLen: number }) => `${ipToString(p.network >>> 0)}/${p.prefixLen}`;
  const counter = (name: string, help: string, labelNames: string[], fill: (c: Counter) => void) =>
    new Counter({ name, help, labelNames, registers: reg, collect() { this.reset(); fill(this); } });
  const gauge = (name: string, help: string, labelNames: string[], fill: (g: Gauge) => void) =>
    new Gauge({ name, help, labelNames, registers: reg, collect() { this.reset(); fill(this); } });

  counter('vxtun_peer_packets_total', 'Inner packets per peer (tx: encapsulated to it, rx: accepted from it)', ['peer', 'direction'], (m) => {
    for (const p of device.table.peers) { m.inc({ peer: peerName(p), direction: 'tx' }, p.txPackets); m.inc({ peer: peerName(p), direction: 'rx' }, p.rxPackets); }
  });
  counter('vxtun_peer_bytes_total', 'Inner bytes per peer (tx: encapsulated to it, rx: accepted from it)', ['peer', 'direction'], (m) => {
    for (const p of device.table.peers) { m.inc({ peer: peerName(p), direction: 'tx' }, p.txBytes); m.inc({ peer: peerName(p), direction: 'rx' }, p.rxBytes); }
  });
  gauge('vxtun_peer_last_rx_timestamp_seconds', 'When a packet from the peer was last accepted (0: never)', ['peer'], (m) => {
    for (const p of device.table.peers) m.set({ peer: peerName(p) }, p.lastRx / 1000);
  });
  gauge('vxtun_peers', 'Remote leases in the forwarding table', [], (m) => m.set(device.table.size));
  const paths = [['tun_rx', 'tunRx'], ['udp_tx', 'udpTx'], ['udp_rx', 'udpRx'], ['tun_tx', 'tunTx']] as const;
  counter('vxtun_packets_total', 'Packets by path: tun_rx read from the TUN, udp_tx sent, udp_rx received, tun_tx written to the TUN', ['path'], (m) => {
    const c = device.counters;
    for (const [label, key] of paths) m.inc({ path: label }, c[`${key}Packets`]);
  });
  counter('vxtun_bytes_total', 'Bytes by path (see vxtun_packets_total)', ['path'], (m) => {
    const c = device.counters;
    for (const [label, key] of paths) m.inc({ path: label }, c[`${key}Bytes`]);
  });
  counter('vxtun_drops_total', 'Packets dropped, by reason', ['reason'], (m) => {
    for (let i = 1; i < DROP_REASONS.length; i++) m.inc({ reason: DROP_REASONS[i]! }, device.counters.drops[i]!);
  });
  counter('vxtun_checksums_finished_total', 'Inner packets whose partial TCP/UDP checksum (left by a sender for a NIC, e.g. a kernel VTEP on a veth underlay) was finished before the TUN write', [], (m) => m.inc(device.counters.checksumsFinished));
  counter('vxtun_over_mtu_packets_total', 'Accepted inner packets longer than the TUN MTU (a peer with a larger MTU, or a kernel peer\'s whole TSO frame on a veth underlay); the kernel fragments them, answers "fragmentation needed", or (TUN stat oversizeTcp) they are cut into MTU-sized segments', [], (m) => m.inc(device.counters.overMtu));
  counter('vxtun_icmp_unreachable_sent_total', 'ICMP net-unreachable messages written back into the TUN', [], (m) => m.inc(device.counters.icmpUnreachSent));
  counter('vxtun_batches_total', 'Batches processed, by direction', ['direction'], (m) => {
    m.inc({ direction: 'encap' }, device.counters.encapBatches);
    m.inc({ direction: 'decap' }, device.counters.decapBatches);
  });
  gauge('vxtun_batch_size_mean', 'Mean packets per batch since start, by direction', ['direction'], (m) => {
    const c = device.counters;
    m.set({ direction: 'encap' }, c.encapBatches > 0 ? c.tunRxPackets / c.encapBatches : 0);
    m.set({ direction: 'decap' }, c.decapBatches > 0 ? c.udpRxPackets / c.decapBatches : 0);
  });
  const delay = monitorEventLoopDelay({ resolution: EVENT_LOOP_SAMPLE_MS });
  delay.enable();
  gauge('vxtun_event_loop_delay_p99_seconds', '99th percentile event-loop delay since the previous scrape', [], (m) => {
    m.set(delay.count > 0 ? delay.percentile(99) / 1e9 : 0);
    delay.reset();
  });
  counter('vxtun_lease_renewals_total', 'Lease renewals done by the subnet manager', [], (m) => m.inc(cp.leaseRenewals));
  gauge('vxtun_store_watch_up', '1 while the subnet manager watch is up (the static file manager is always up)', [], (m) => m.set(cp.storeWatchUp === false ? 0 : 1));
  gauge('vxtun_capture_sessions', 'Active `vxtun capture` sessions', [], (m) => m.set(o.captureSessions?.() ?? 0));
  const info = new Gauge({ name: 'vxtun_build_info', help: 'vxtun version and Node.js version', labelNames: ['version', 'node'], registers: reg });
  info.set({ version: packageVersion(), node: process.version }, 1);
  return { registry, stop: () => delay.disable() };
}

export interface MetricsServer {
  /** e.g. 'http://127.0.0.1:9472/metrics'. */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Serves GET /metrics on `address` (see parseMetricsAddress). Rejects with a UsageError
 * when the address cannot be bound (in use, not local).
 */
export async function startMetricsServer(address: { host: string; port: number }, o: MetricsOptions & { log: Logger }): Promise<MetricsServer> {
  const { registry, stop } = createMetricsRegistry(o);
  const server: Server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '/').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (err: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${err.message}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      stop();
      const where = `${address.host}:${address.port}`;
      reject(new UsageError(err.code === 'EADDRINUSE'
        ? `metrics address ${where} is already in use (choose another --metrics-address, or "off")`
        : `metrics address ${where}: ${err.message}`, { cause: err }));
    });
    server.listen(address.port, address.host, () => resolve());
  });
  const bound = server.address();
  const port = typeof bound === 'object' && bound !== null ? bound.port : address.port;
  const host = address.host.includes(':') ? `[${address.host}]` : address.host;
  const url = `http://${host}:${port}/metrics`;
  o.log.info({ url }, 'serving metrics');
  return {
    url,
    close: () => new Promise<void>((resolve) => {
      stop();
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
