// SPDX-License-Identifier: Apache-2.0
/**
 * Startup refusals on a real node: each problem is one clear sentence, exit code 2, and
 * nothing left behind (no device, no route, no subnet.env).
 *   - no TUN support (/dev/net/tun hidden by an empty tmpfs in a private mount namespace);
 *   - ip_forward off;
 *   - UDP 8472 held by a kernel flannel.1 left by flanneld, which `vxtun down` removes.
 */
import t, { type Test } from 'tap';
import { existsSync } from 'node:fs';
import { createCluster } from '../../src/lab/cluster.js';
import { netnsSkipReason, tryRun } from '../../src/lab/netns.js';
import { collect, stopChild, waitForOutput } from '../../src/lab/proc.js';
import { LabFiles, VXTUN_BIN } from '../../src/lab/vxtun.js';
import { kernelFlannel, peerOf, vtepMacFor } from '../../src/lab/kernel-flannel.js';
import type { LabNode } from '../../src/lab/node.js';

/** Runs `vxtun <args>` in the node's namespace and collects the result. */
function vxtun(node: LabNode, args: string[]) {
  return collect(node.spawn([process.execPath, VXTUN_BIN, ...args]), 20_000);
}

function runArgs(node: LabNode, files: LabFiles): string[] {
  return ['run', '--iface', 'ul0', '--net-config-path', files.netConf, '--subnet-mgr', 'static', '--leases', files.leases, '--subnet-file', files.subnetFile(node)];
}

function assertNothingLeft(t: Test, node: LabNode, files: LabFiles): void {
  t.equal(node.ns.tryExec('ip', 'link', 'show', 'flannel.1').status === 0, false, 'no device left');
  t.notMatch(node.ns.ip('-4', 'route', 'show'), /flannel/, 'no route left');
  t.notOk(existsSync(files.subnetFile(node)), 'no subnet.env written');
}

const skip = netnsSkipReason() ?? (tryRun(['unshare', '--version']).status !== 0 ? 'needs unshare (util-linux)' : null);

t.test('missing /dev/net/tun is a clear startup error', { skip: skip ?? false }, async (t) => {
  const cluster = createCluster({ name: 'vxnotun', nodes: [{ name: 'solo', pods: 0 }] });
  const files = new LabFiles();
  t.teardown(() => { cluster.destroy(); files.remove(); });
  const node = cluster.nodes[0]!;
  files.writeLeases([peerOf(node, vtepMacFor(0))]);
  const script = `mount -t tmpfs none /dev/net && exec "$0" "$@"`;
  const child = node.spawn(['unshare', '-m', '--propagation', 'private', 'sh', '-c', script, process.execPath, VXTUN_BIN, ...runArgs(node, files)]);
  const r = await collect(child, 20_000);
  t.equal(r.status, 2, 'exit code 2');
  t.match(r.stderr, /TUN device flannel\.1 cannot be created: \/dev\/net\/tun is missing/, `one clear sentence: ${r.stderr.trim().split('\n').pop()}`);
  t.notMatch(r.stderr, /\n\s+at /, 'no stack trace');
  assertNothingLeft(t, node, files);
});

t.test('ip_forward off is refused, naming the sysctl', { skip: skip ?? false }, async (t) => {
  const cluster = createCluster({ name: 'vxnofwd', nodes: [{ name: 'solo', pods: 0 }] });
  const files = new LabFiles();
  t.teardown(() => { cluster.destroy(); files.remove(); });
  const node = cluster.nodes[0]!;
  files.writeLeases([peerOf(node, vtepMacFor(0))]);
  node.ns.sysctl('net.ipv4.ip_forward', '0');
  const r = await vxtun(node, runArgs(node, files));
  t.equal(r.status, 2);
  t.match(r.stderr, /net\.ipv4\.ip_forward is 0/);
  t.match(r.stderr, /sysctl -w net\.ipv4\.ip_forward=1/, 'says how to fix it');
  assertNothingLeft(t, node, files);
});

t.test('a kernel flannel.1 holding 8472: clear refusal, `vxtun down` removes it, then vxtun starts', { skip: skip ?? false }, async (t) => {
  const cluster = createCluster({ name: 'vxdown', nodes: [{ name: 'solo', pods: 0 }] });
  const files = new LabFiles();
  t.teardown(() => { cluster.destroy(); files.remove(); });
  const node = cluster.nodes[0]!;
  files.writeLeases([peerOf(node, vtepMacFor(0))]);
  kernelFlannel(node, { mac: vtepMacFor(0) }); // what flanneld leaves behind
  const refused = await vxtun(node, runArgs(node, files));
  t.equal(refused.status, 2);
  t.match(refused.stderr, /UDP port 8472 is already in use: is a kernel flannel\.1/, 'names the port and the likely holder');
  t.notOk(existsSync(files.subnetFile(node)), 'no subnet.env written');
  const down = await vxtun(node, ['down', '--net-config-path', files.netConf]);
  t.equal(down.status, 0, `vxtun down: ${down.stderr.trim()}`);
  t.equal(node.ns.tryExec('ip', 'link', 'show', 'flannel.1').status === 0, false, 'flannel.1 removed');
  const again = await vxtun(node, ['down', '--net-config-path', files.netConf]);
  t.equal(again.status, 0, 'down is safe to repeat on a clean host');
  const child = node.spawn([process.execPath, VXTUN_BIN, ...runArgs(node, files)]);
  const started = await waitForOutput(child, child.stderr, /"msg":"forwarding"/, 15_000).then(() => true, () => false);
  t.ok(started, 'vxtun starts once the port is free');
  await stopChild(child);
});
