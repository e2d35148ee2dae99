// SPDX-License-Identifier: Apache-2.0
/**
 * SubnetManager: where leases live (flannel's subnet.Manager, narrowed to what vxtun
 * uses). Implementations: static (a watched JSON file), etcd (flannel's v3 layout) and
 * kube (Node podCIDR + annotations). The daemon only ever sees this interface, and the
 * dataplane only ever sees the SubnetTable the daemon fills from watchLeases().
 *
 * Contract:
 * - getNetworkConfig() returns the cluster config (net-conf.json, or etcd's
 *   <prefix>/config); ConfigError when it is malformed.
 * - acquireLease(req) returns this node's lease, creating or renewing it in the store as
 *   flannel does. The VtepMAC is the store's when this node already had a lease (so a
 *   restart keeps it); otherwise req.newMac() is used. Renewal, if the store needs it,
 *   runs inside the manager until close().
 * - watchLeases(onLeases) delivers the full set of valid leases (ours included) now and
 *   after every change, never concurrently. Malformed entries are reported through the
 *   manager's logger and left out; an unreachable store delivers nothing (the last table
 *   stays in force). Returns stop().
 * - onLeaseLost(cb): cb runs if the store revokes our lease (flanneld exits then).
 * - close() stops renewals and watches; it does not delete our lease (flanneld neither).
 */
import type { Lease } from '../config/lease.js';
import type { NetConfig } from '../config/netconf.js';

export interface LeaseRequest {
  /** Our PublicIP (uint32). */
  publicIp: number;
  /** A fresh random VtepMAC, used only when the store holds none for us. */
  newMac: () => string;
}

export interface SubnetManager {
  readonly kind: 'static' | 'etcd' | 'kube';
  getNetworkConfig(): Promise<NetConfig>;
  acquireLease(req: LeaseRequest): Promise<Lease>;
  watchLeases(onLeases: (leases: readonly Lease[]) => void): () => void;
  onLeaseLost(cb: (reason: string) => void): void;
  close(): Promise<void>;
}
