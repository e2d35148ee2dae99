// SPDX-License-Identifier: Apache-2.0
/**
 * The bench's `naive` config: bench/tools/naivefwd.c on both nodes, a minimal VXLAN
 * forwarder in C (poll loop, one read and one send per packet, no batching, no offloads),
 * as baseline.md's naive-C. It is the userspace anchor of the bench: what a forwarder that
 * sleeps between packets costs on this machine, measured in the same run as the kernel and
 * vxtun, so vxtun's figures can be read against both ends.
 *
 * Per node the TUN gets flannel's layout: MTU of the underlay minus 50, the node's
 * `<subnet>.0/32`, and a route of the peer's pod subnet into it.
 */
import { networkAddr } from '../lab/addr.js';
import type { LabPeer } from '../lab/kernel-flannel.js';
import type { LabNode } from '../lab/node.js';
import { stopChild } from '../lab/proc.js';
import type { BedDaemon } from './bed.js';
import { startReady } from './measure.js';

/** The TUN naivefwd creates on each node. */
export const NAIVE_TUN = 'naive0';

/** naivefwd's counters, printed when it exits. */
export interface NaiveCounters {
  encap: number;
  decap: number;
  dropped: number;
  errors: number;
}

/** A naivefwd process; stop() resolves with the counters it printed (null when it printed none). */
export interface NaiveDaemon extends BedDaemon {
  stop(): Promise<NaiveCounters | null>;
}

/**
 * Starts `naivefwd` on `node` towards `peer` (self = this node's own lease), waits for
 * "ready", then sets the TUN up and routes the peer's subnet into it. Throws with
 * naivefwd's stderr when it fails to start; stops it again when the link setup fails.
 */
export async function startNaive(node: LabNode, self: LabPeer, peer: LabPeer, naivefwd: string): Promise<NaiveDaemon> {
  const argv = [naivefwd, '-t', NAIVE_TUN, '-l', node.underlayIp, '-r', peer.publicIp, '-m', self.vtepMac, '-M', peer.vtepMac];
  const { child, done } = await startReady(() => node.spawn(argv), /ready/, 24 * 3600 * 1000);
  const stop = async (): Promise<NaiveCounters | null> => {
    await stopChild(child, 'SIGTERM', 3000);
    const r = await done.catch(() => null);
    return r ? parseNaiveCounters(r.stdout) : null;
  };
  try {
    if (child.pid === undefined) throw new Error(`naivefwd on ${node.name} has no PID`);
    node.ns.ip('link', 'set', NAIVE_TUN, 'mtu', String(node.mtu - 50), 'up');
    node.ns.ip('addr', 'add', `${networkAddr(node.subnet)}/32`, 'dev', NAIVE_TUN);
    node.ns.ip('route', 'replace', peer.subnet, 'dev', NAIVE_TUN);
    return { node: node.name, pid: child.pid, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** The counters naivefwd prints when it exits (null when the line is missing or malformed). */
export function parseNaiveCounters(stdout: string): NaiveCounters | null {
  const line = stdout.split('\n').reverse().find((l) => l.startsWith('{'));
  if (!line) return null;
  try {
    const j = JSON.parse(line) as Record<string, unknown>;
    const n = (k: string): number | null => (typeof j[k] === 'number' ? j[k] as number : null);
    const [encap, decap, dropped, errors] = [n('encap'), n('decap'), n('dropped'), n('errors')];
    if (encap === null || decap === null || dropped === null || errors === null) return null;
    return { encap, decap, dropped, errors };
  } catch {
    return null;
  }
}
