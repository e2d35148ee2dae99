// SPDX-License-Identifier: Apache-2.0
/**
 * A running vxtun node: the startup sequence, in the order that leaves nothing behind
 * when a step fails, and the teardown that undoes it.
 *
 *   1. network config       from the SubnetManager (ConfigError → exit 2)
 *   2. external interface   (--iface / --public-ip / default route, as flanneld)
 *   3. our lease            acquired from the SubnetManager (subnet, VtepMAC)
 *   4. ip_forward check
 *   5. UDP port             (EADDRINUSE → "is a kernel flannel.1 holding it?")
 *   6. TUN device           flannel.<VNI>, MTU = underlay − 50, up
 *   7. host state           <subnet>.0/32 on the TUN, one route for Network through it
 *   8. table + Device start, lease watch
 *   9. subnet.env           (last: its presence tells the CNI plugin we are ready)
 */
import { ConfigError } from '../config/errors.js';
import { overlayMtu, type NetConfig } from '../config/netconf.js';
import { formatCidr, formatIpv4, makeCidr } from '../config/cidr.js';
import type { Lease } from '../config/lease.js';
import { writeSubnetEnv } from '../config/subnet-env.js';
import { RealExec, type Exec } from '../host/exec.js';
import { chooseExternalInterface, type ExternalInterface } from '../host/interface.js';
import { setUp, tearDown } from '../host/overlay.js';
import { checkIpForward, readLocalPortRange } from '../host/sysctl.js';
import { Device } from '../dataplane/device.js';
import { deviceConfig } from '../dataplane/config.js';
import { SubnetTable } from '../dataplane/table.js';
import { FlowPortHasher } from '../dataplane/flow-hash.js';
import { LinuxTun } from '../tun/linux.js';
import { LinuxBind } from '../bind/linux.js';
import { parseMac } from '../packet/ethernet.js';
import { UsageError } from '../cli/errors.js';
import type { SubnetManager } from '../subnet/manager.js';
import { randomVtepMac } from '../subnet/random-mac.js';
import { leaseSync } from './lease-sync.js';
import { OffloadWatch } from './offload-watch.js';
import { offloadChoice, type OffloadSwitch } from '../dataplane/offload-switches.js';
import type { Logger } from './log.js';
import type { StatusSource } from './status.js';

/** Packets the kernel may queue on the TUN for us (see the setUp call). */
export const TUN_TX_QUEUE_LEN = 10_000;

export interface VtepOptions {
  subnets: SubnetManager;
  subnetFile: string;
  ifaces: string[];
  ifaceRegexes: string[];
  publicIp?: string;
  /** TUN name; default flannel.<VNI>. */
  tunName?: string;
  ipMasq: boolean;
  validateSource: boolean;
  udpChecksum: boolean;
  /** TUN TSO/USO + coalesced writes and UDP GRO/GSO (docs/offloads.md); false: all off (--no-offload). */
  offload?: boolean;
  /** Offloads turned off one by one (--disable-offload); none by default. */
  disabledOffloads?: readonly OffloadSwitch[];
  /** Where /proc lives (tests). */
  procRoot?: string;
  exec?: Exec;
  log: Logger;
  /** Runs after the dataplane is up, before subnet.env is written (where flanneld installs its iptables rules); what it returns is undone on stop or failed start. */
  beforeSubnetFile?: (state: { netconf: NetConfig; own: Lease }) => Promise<(() => Promise<void>) | undefined>;
}

/** A running node: what status reports on (StatusSource), plus its lifecycle. */
export interface Vtep extends StatusSource {
  /** Stops forwarding and removes the host state we added. Idempotent. */
  stop(): Promise<void>;
  /** cb runs if the store revokes our lease (flanneld then shuts down). */
  onLeaseLost(cb: (reason: string) => void): void;
}

/** Runs the startup sequence; on failure undoes what it did and throws (UsageError/ConfigError for operator-fixable problems). */
export async function startVtep(o: VtepOptions): Promise<Vtep> {
  const exec = o.exec ?? new RealExec();
  const log = o.log;
  const netconf = await o.subnets.getNetworkConfig();
  for (const w of netconf.warnings) log.warn(w);

  let external: ExternalInterface;
  try {
    external = await chooseExternalInterface(exec, { ifaces: o.ifaces, ifaceRegexes: o.ifaceRegexes, ...(o.publicIp !== undefined ? { publicIp: o.publicIp } : {}) });
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new UsageError(`choosing the external interface: ${(err as Error).message}`, { cause: err });
  }
  const own = await o.subnets.acquireLease({ publicIp: external.publicIp, newMac: randomVtepMac });
  const mtu = overlayMtu(netconf, external.mtu);
  const tunName = o.tunName ?? `flannel.${netconf.backend.vni}`;
  log.info({ iface: external.name, publicIp: formatIpv4(external.publicIp), subnet: formatCidr(own.subnet), vtepMac: own.vtepMac, mtu, tun: tunName }, 'starting');

  const forward = await checkIpForward(o.procRoot);
  if (forward !== null) throw new UsageError(forward);

  const undo: Array<() => Promise<void> | void> = [];
  const rollback = async () => {
    for (const u of undo.reverse()) {
      try { await u(); } catch (err) { log.warn({ err: (err as Error).message }, 'cleanup step failed'); }
    }
  };
  undo.push(() => o.subnets.close());
  const offloads = offloadChoice(o.disabledOffloads ?? [], o.offload ?? true);
  try {
    let bind: LinuxBind;
    try {
      bind = LinuxBind.open({ port: netconf.backend.port, srcIp: external.ifaceAddr, udpChecksum: o.udpChecksum, ...offloads.bind });
    } catch (err) {
      throw startupError(err, `UDP port ${netconf.backend.port}`);
    }
    undo.push(() => bind.close());
    let tun: LinuxTun;
    try {
      tun = LinuxTun.open({ name: tunName, mtu, ...offloads.tun });
    } catch (err) {
      throw startupError(err, `TUN device ${tunName}`);
    }
    undo.push(() => tun.close());
    const network = makeCidr(netconf.network.ip, netconf.network.prefixLen);
    undo.push(() => tearDown(exec, { dev: tunName, network }));
    // A TUN queues at most txqueuelen packets (500 by default) for us to read: 1.7 ms at
    // 300 kpps, less than one major GC pause, so bursts were dropped there (tx_dropped).
    // 10,000 packets cover ~35 ms; the memory is used only while the queue is full.
    await setUp(exec, { dev: tunName, address: makeCidr(own.subnet.ip, 32), network, txQueueLen: TUN_TX_QUEUE_LEN });

    const table = new SubnetTable();
    const [portMin, portMax] = await readLocalPortRange(o.procRoot);
    const device = new Device({
      tun, bind, table,
      hasher: new FlowPortHasher(portMin, portMax),
      config: deviceConfig({
        vni: netconf.backend.vni, vtepMac: parseMac(own.vtepMac),
        network: netconf.network.ip, networkPrefixLen: netconf.network.prefixLen,
        validateSource: o.validateSource,
      }),
    });
    const stopWatch = o.subnets.watchLeases(leaseSync(table, own, log));
    undo.push(() => stopWatch());
    device.start();
    const undoHook = await o.beforeSubnetFile?.({ netconf, own });
    if (undoHook !== undefined) undo.push(undoHook);
    await writeSubnetEnv(o.subnetFile, { network: netconf.network, subnet: own.subnet, mtu, ipMasq: o.ipMasq });
    log.info({ peers: table.size, subnetFile: o.subnetFile, offloads: device.offloads() }, 'forwarding');
    const watch = new OffloadWatch(device, log);
    watch.start();

    let stopped = false;
    return {
      device, netconf, own, external, tunName, mtu,
      onLeaseLost: (cb) => o.subnets.onLeaseLost(cb),
      async stop() {
        if (stopped) return;
        stopped = true;
        watch.stop();
        watch.check();
        device.close();
        await rollback();
        log.info({ counters: device.counters.snapshot(), offloadStats: device.offloadStats() }, 'stopped; host state removed');
      },
    };
  } catch (err) {
    await rollback();
    throw err;
  }
}

/** Turns an addon error into one sentence the operator can act on. */
function startupError(err: unknown, what: string): Error {
  const e = err as { code?: string; message?: string };
  const hints: Record<string, string> = {
    EADDRINUSE: 'is already in use: is a kernel flannel.1 (flanneld) or another vxtun running on this node? Remove it (`ip link del flannel.1`) or choose another Backend.Port',
    EACCES: 'needs root (CAP_NET_ADMIN and CAP_NET_RAW)',
    EPERM: 'needs root (CAP_NET_ADMIN and CAP_NET_RAW)',
    ENOENT: 'cannot be created: /dev/net/tun is missing (load the tun module: `modprobe tun`)',
  };
  const hint = e.code !== undefined ? hints[e.code] : undefined;
  // With a hint, one sentence and the errno name; without, the addon's own message (it names the device or port).
  return new UsageError(hint !== undefined ? `${what} ${hint} (${e.code})` : `${what}: ${e.message ?? String(err)}`, { cause: err });
}
