// SPDX-License-Identifier: Apache-2.0
/**
 * What the demo prints about the lab cluster, in the shapes the seed shows them: a node's
 * `ip route`, its subnet.env, `kubectl get pods -o wide`, the leases vxtun was given.
 * Pure formatting over the lab objects; reads only inside the lab's namespaces.
 */
import { readFileSync } from 'node:fs';
import type { LabCluster } from '../lab/cluster.js';
import type { LabNode } from '../lab/node.js';
import type { LabPeer } from '../lab/kernel-flannel.js';
import { table } from '../cli/status.js';
import { indent } from './progress.js';

/** `ip route` inside the node (the node's own namespace), indented, with a heading. */
export function nodeRoutes(node: LabNode): string {
  const routes = node.ns.ip('-4', 'route', 'show').trimEnd();
  return `  ${node.name} (${node.underlayIp})  $ ip route\n${indent(routes)}`;
}

/** One line saying what the routes mean (vxtun vs the seed's kernel flannel). */
export function routesNote(network: string): string {
  return `  (vxtun routes the whole Network ${network} into flannel.1 and looks the node up itself; kernel flannel, as in the\n`
    + '   seed, installs one "<subnet> via <subnet>.0 dev flannel.1 onlink" per node. cni0 carries the local subnet either way.)';
}

/** A node's subnet.env, as the CNI plugin reads it. */
export function nodeSubnetEnv(node: LabNode, file: string): string {
  return `  ${node.name}  $ cat /run/flannel/subnet.env   (here: ${file})\n${indent(readFileSync(file, 'utf8'))}`;
}

/** The pods, like `kubectl get pods -o wide`. */
export function podsTable(pods: readonly { name: string; ip: string; node: { name: string } }[], startedAt: number, servers: ReadonlySet<string>): string {
  const age = `${Math.max(1, Math.round((Date.now() - startedAt) / 1000))}s`;
  const rows = pods.map((p) => [p.name, '1/1', 'Running', '0', age, p.ip, p.node.name, servers.has(p.name) ? 'kuard :8080' : '']);
  return indent(table(['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE', 'IP', 'NODE', 'SERVES'], rows), 2);
}

/** The static leases vxtun was given (the store's content: subnet → PublicIP, VtepMAC). */
export function leasesTable(peers: readonly LabPeer[], cluster: LabCluster): string {
  const rows = peers.map((p, i) => [cluster.nodes[i]?.name ?? '', p.subnet, p.publicIp, p.vtepMac, 'vxlan', '1']);
  return indent(table(['NODE', 'SUBNET', 'PUBLIC IP', 'VTEP MAC', 'BACKEND', 'VNI'], rows), 2);
}

/** Shell-quotes an argv for display. */
export function shellLine(argv: readonly string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}
