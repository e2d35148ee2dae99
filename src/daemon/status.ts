// SPDX-License-Identifier: Apache-2.0
/**
 * The daemon's status report: what `vxtun status` prints and the control socket returns
 * for `{"cmd":"status"}`. Built on demand from the Device's counters, the SubnetTable's
 * peers and the facts startVtep settled (lease, interface, TUN); nothing here runs per
 * packet. All addresses are formatted as strings and all times as ISO 8601 / seconds, so
 * the JSON form is stable for scripts.
 */
import type { Device } from '../dataplane/device.js';
import type { NetConfig } from '../config/netconf.js';
import type { Lease } from '../config/lease.js';
import type { ExternalInterface } from '../host/interface.js';
import { formatCidr } from '../config/cidr.js';
import { ipToString } from '../packet/ipv4.js';
import { formatMac } from '../packet/ethernet.js';
import { packageVersion } from '../cli/main.js';
import { gcCounts, heapOldBytes } from './gc-stats.js';

/** What a status report is built from: a running Vtep satisfies it (tests use memory seams). */
export interface StatusSource {
  readonly device: Device;
  readonly netconf: NetConfig;
  readonly own: Lease;
  readonly external: ExternalInterface;
  readonly tunName: string;
  readonly mtu: number;
}

/** Control-plane facts the subnet managers report (see metrics.ts ControlPlaneState). */
export interface ControlPlaneStatus {
  leaseRenewals: number;
  /** true/false as last reported by the manager; null: never reported (the static manager). */
  storeWatchUp: boolean | null;
}

/** Capture activity (see capture.ts CaptureHub). */
export interface CaptureStatus {
  sessions: number;
  captured: number;
  /** Packets captured but dropped because a client read too slowly. */
  dropped: number;
}

export interface PeerStatus {
  /** The peer's lease subnet, e.g. '10.244.2.0/24'. */
  subnet: string;
  publicIp: string;
  vtepMac: string;
  /** When a packet from this peer was last accepted (ISO 8601), or null when never. */
  lastRx: string | null;
  /** Seconds since lastRx, or null. */
  lastRxAgoSeconds: number | null;
  /** Inner packets/bytes encapsulated to this peer. */
  txPackets: number;
  txBytes: number;
  /** Inner packets/bytes accepted from this peer. */
  rxPackets: number;
  rxBytes: number;
}

export interface VxtunStatus {
  version: string;
  pid: number;
  /** When the Device started (ISO 8601). */
  startedAt: string;
  uptimeSeconds: number;
  lease: { subnet: string; publicIp: string; vtepMac: string; vni: number; port: number; network: string };
  interface: { name: string; ifaceAddr: string; publicIp: string; mtu: number };
  tun: { name: string; mtu: number };
  peers: PeerStatus[];
  totals: {
    tunRxPackets: number; tunRxBytes: number; udpTxPackets: number; udpTxBytes: number;
    udpRxPackets: number; udpRxBytes: number; tunTxPackets: number; tunTxBytes: number;
    /** Inner packets whose leaked partial L4 checksum was finished before the TUN write. */
    checksumsFinished: number;
    /** Accepted inner packets longer than the TUN's MTU (see DeviceCounters.overMtu). */
    overMtu: number;
    icmpUnreachSent: number; drops: number;
  };
  /** Non-zero drops by reason name. */
  drops: Record<string, number>;
  /** Batches per direction and their mean size (packets per batch; 0 before the first). */
  batches: { encap: number; decap: number; meanEncapSize: number; meanDecapSize: number };
  offloads: string[];
  /** Offload path counters per seam ('tun', 'bind'); {} when offloads are off. */
  offloadStats: Record<string, Record<string, number>>;
  /** Bytes, and garbage collections since start (gc-stats.ts; 0 when not counted). */
  memory: { rss: number; heapUsed: number; heapOld: number; gcMinor: number; gcMajor: number };
  controlPlane: ControlPlaneStatus;
  capture: CaptureStatus;
}

/** The offloads in effect on the source's Device (e.g. ['csum', 'tso4', 'gro']; [] for in-memory seams). */
export function offloadsOf(source: StatusSource): string[] {
  return source.device.offloads();
}

/** The Device's offload counters per seam ('tun', 'bind'); {} when offloads are off. */
export function offloadStatsOf(source: StatusSource): Record<string, Record<string, number>> {
  return source.device.offloadStats();
}

/** Mean packets per batch, rounded to 2 decimals (0 when there was no batch). */
function mean(packets: number, batches: number): number {
  return batches > 0 ? Math.round((packets / batches) * 100) / 100 : 0;
}

/**
 * buildStatus returns a fresh report. `controlPlane` and `capture` default to "nothing
 * reported"; `now` (ms since the epoch) is for tests.
 */
export function buildStatus(
  source: StatusSource,
  extra: { controlPlane?: ControlPlaneStatus; capture?: CaptureStatus } = {},
  now = Date.now(),
): VxtunStatus {
  const device = source.device;
  const c = device.counters.snapshot();
  let dropTotal = 0;
  for (const v of Object.values(c.drops)) dropTotal += v ?? 0;
  const peers: PeerStatus[] = device.table.peers.map((p) => ({
    subnet: `${ipToString(p.network >>> 0)}/${p.prefixLen}`,
    publicIp: ipToString(p.publicIp),
    vtepMac: formatMac(p.vtepMac),
    lastRx: p.lastRx > 0 ? new Date(p.lastRx).toISOString() : null,
    lastRxAgoSeconds: p.lastRx > 0 ? Math.max(0, Math.round((now - p.lastRx) / 100) / 10) : null,
    txPackets: p.txPackets, txBytes: p.txBytes, rxPackets: p.rxPackets, rxBytes: p.rxBytes,
  }));
  const mem = process.memoryUsage();
  const gc = gcCounts();
  return {
    version: packageVersion(),
    pid: process.pid,
    startedAt: new Date(device.startedAt).toISOString(),
    uptimeSeconds: Math.max(0, Math.round((now - device.startedAt) / 1000)),
    lease: {
      subnet: formatCidr(source.own.subnet),
      publicIp: ipToString(source.own.publicIp),
      vtepMac: source.own.vtepMac,
      vni: source.netconf.backend.vni,
      port: source.netconf.backend.port,
      network: formatCidr(source.netconf.network),
    },
    interface: {
      name: source.external.name,
      ifaceAddr: ipToString(source.external.ifaceAddr),
      publicIp: ipToString(source.external.publicIp),
      mtu: source.external.mtu,
    },
    tun: { name: source.tunName, mtu: source.mtu },
    peers,
    totals: {
      tunRxPackets: c.tunRxPackets, tunRxBytes: c.tunRxBytes, udpTxPackets: c.udpTxPackets, udpTxBytes: c.udpTxBytes,
      udpRxPackets: c.udpRxPackets, udpRxBytes: c.udpRxBytes, tunTxPackets: c.tunTxPackets, tunTxBytes: c.tunTxBytes,
      checksumsFinished: c.checksumsFinished, overMtu: c.overMtu, icmpUnreachSent: c.icmpUnreachSent, drops: dropTotal,
    },
    drops: { ...c.drops } as Record<string, number>,
    batches: {
      encap: c.encapBatches, decap: c.decapBatches,
      meanEncapSize: mean(c.tunRxPackets, c.encapBatches),
      meanDecapSize: mean(c.udpRxPackets, c.decapBatches),
    },
    offloads: offloadsOf(source),
    offloadStats: offloadStatsOf(source),
    memory: { rss: mem.rss, heapUsed: mem.heapUsed, heapOld: heapOldBytes(), gcMinor: gc.minor, gcMajor: gc.major },
    controlPlane: extra.controlPlane ?? { leaseRenewals: 0, storeWatchUp: null },
    capture: extra.capture ?? { sessions: 0, captured: 0, dropped: 0 },
  };
}
