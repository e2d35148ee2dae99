// SPDX-License-Identifier: Apache-2.0
/**
 * Host state for the overlay device (the TUN named flannel.<VNI>), as iproute2 commands
 * run through the Exec seam.
 *
 * Design notes:
 * - Address: `<our subnet's network address>/32` (10.244.1.0/32), exactly as flanneld
 *   gives flannel.1. Peers route replies to that address through the tunnel, and a /32
 *   adds no connected route. Like flanneld's EnsureV4AddressOnLink, any other IPv4
 *   address inside Network on the device is removed first (a stale lease's address would
 *   otherwise stay as a second source address).
 * - Route: one route for the whole Network through the device, `src` our overlay address.
 *   flanneld instead installs one onlink route per peer because the kernel VXLAN device
 *   needs ARP/FDB entries; a TUN device needs neither, vxtun's dataplane does the per-peer
 *   lookup, and the local /24 on cni0 still wins by longest prefix.
 * - The link is set up (with the overlay MTU when given) between the address and the
 *   route, as flanneld's Configure does; the kernel refuses routes via a down device.
 * - Teardown is idempotent: "already gone" answers are ignored, anything else is an error.
 */
import { contains, formatCidr, formatIpv4, makeCidr, parseIpv4, type Cidr } from '../config/cidr.js';
import { runChecked, type Exec } from './exec.js';
import { ipv4Addrs, parseIpAddrJson } from './ip-json.js';

/** What setUp configures. */
export interface OverlaySpec {
  /** Device name, e.g. `flannel.1`. Must exist. */
  readonly dev: string;
  /** Our overlay address, normally `<lease subnet network>/32`. Must lie inside `network`. */
  readonly address: Cidr;
  /** The cluster Network (net-conf Network). */
  readonly network: Cidr;
  /** Overlay MTU to set on the device (FLANNEL_MTU); left unchanged when absent. */
  readonly mtu?: number;
  /** The device's transmit queue length (for a TUN: packets the kernel holds for our reads); unchanged when absent. */
  readonly txQueueLen?: number;
}

/** What tearDown removes. */
export interface OverlayTeardownSpec {
  readonly dev: string;
  readonly network: Cidr;
}

const GONE_ROUTE = /No such process|Cannot find device|does not exist/;
const GONE_ADDR = /Address not found|Cannot assign requested address|Cannot find device|does not exist/;
const GONE_DEV = /Cannot find device|does not exist/;

/** The IPv4 addresses (as Cidrs) on `dev`, or null when the device does not exist. */
async function deviceAddrs(exec: Exec, dev: string, mustExist: boolean): Promise<Cidr[] | null> {
  const out = await runChecked(exec, ['ip', '-j', 'addr', 'show', 'dev', dev], mustExist ? undefined : GONE_DEV);
  if (out === null) return null;
  const link = parseIpAddrJson(out)[0];
  if (link === undefined) return mustExist ? [] : null;
  const addrs: Cidr[] = [];
  for (const a of ipv4Addrs(link)) {
    const ip = parseIpv4(a.local);
    if (ip !== null) addrs.push(makeCidr(ip, a.prefixlen));
  }
  return addrs;
}

/**
 * setUp runs, in order: `ip -j addr show dev D`; `ip addr del A dev D` for every other
 * IPv4 address inside Network; `ip addr replace <address> dev D`;
 * `ip link set dev D [mtu M] [txqueuelen Q] up`; `ip route replace <Network> dev D src <address ip>`.
 * Throws ExecError (naming the command and its stderr) on the first failure.
 */
export async function setUp(exec: Exec, spec: OverlaySpec): Promise<void> {
  const { dev, address, network } = spec;
  if (!contains(network, address.ip)) {
    throw new Error(`overlay address ${formatCidr(address)} is not inside Network ${formatCidr(network)}`);
  }
  const existing = (await deviceAddrs(exec, dev, true)) ?? [];
  for (const a of existing) {
    const same = a.ip === address.ip && a.prefixLen === address.prefixLen;
    if (!same && contains(network, a.ip)) {
      await runChecked(exec, ['ip', 'addr', 'del', formatCidr(a), 'dev', dev], GONE_ADDR);
    }
  }
  await runChecked(exec, ['ip', 'addr', 'replace', formatCidr(address), 'dev', dev]);
  const mtu = spec.mtu === undefined ? [] : ['mtu', String(spec.mtu)];
  const qlen = spec.txQueueLen === undefined ? [] : ['txqueuelen', String(spec.txQueueLen)];
  await runChecked(exec, ['ip', 'link', 'set', 'dev', dev, ...mtu, ...qlen, 'up']);
  await runChecked(exec, ['ip', 'route', 'replace', formatCidr(makeCidr(network.network, network.prefixLen)), 'dev', dev,
    'src', formatIpv4(address.ip)]);
}

/**
 * tearDown undoes setUp and removes the device: `ip route del <Network> dev D`, then (if
 * D still exists) `ip addr del` for each IPv4 address inside Network and
 * `ip link del dev D`. "Not found" answers are ignored, so it is safe to run on a
 * half-configured or already clean host (e.g. a leftover kernel flannel.1 from flanneld).
 */
export async function tearDown(exec: Exec, spec: OverlayTeardownSpec): Promise<void> {
  const { dev, network } = spec;
  await runChecked(exec, ['ip', 'route', 'del', formatCidr(makeCidr(network.network, network.prefixLen)), 'dev', dev], GONE_ROUTE);
  const addrs = await deviceAddrs(exec, dev, false);
  if (addrs === null) return; // the device is gone, and its addresses and routes with it
  for (const a of addrs) {
    if (contains(network, a.ip)) await runChecked(exec, ['ip', 'addr', 'del', formatCidr(a), 'dev', dev], GONE_ADDR);
  }
  await runChecked(exec, ['ip', 'link', 'del', 'dev', dev], GONE_DEV);
}
