// SPDX-License-Identifier: Apache-2.0
/**
 * A node without TUN support: /dev/net/tun hidden (an empty tmpfs over /dev/net in a
 * private mount namespace). `vxtun run` must say so in one sentence, exit 2, and leave
 * nothing behind (no device, no route, no subnet.env).
 */
import t from 'tap';
import { existsSync } from 'node:fs';
import { createCluster } from '../../src/lab/cluster.js';
import { netnsSkipReason, tryRun } from '../../src/lab/netns.js';
import { collect } from '../../src/lab/proc.js';
import { LabFiles, VXTUN_BIN } from '../../src/lab/vxtun.js';
import { peerOf, vtepMacFor } from '../../src/lab/kernel-flannel.js';

const skip = netnsSkipReason() ?? (tryRun(['unshare', '--version']).status !== 0 ? 'needs unshare (util-linux)' : null);

t.test('missing /dev/net/tun is a clear startup error', { skip: skip ?? false }, async (t) => {
  const cluster = createCluster({ name: 'vxnotun', nodes: [{ name: 'solo', pods: 0 }] });
  const files = new LabFiles();
  t.teardown(() => { cluster.destroy(); files.remove(); });
  const node = cluster.nodes[0]!;
  files.writeLeases([peerOf(node, vtepMacFor(0))]);
  const script = `mount -t tmpfs none /dev/net && exec "$0" "$@"`;
  const child = node.spawn(['unshare', '-m', '--propagation', 'private', 'sh', '-c', script, process.execPath, VXTUN_BIN, 'run',
    '--iface', 'ul0', '--net-config-path', files.netConf, '--subnet-mgr', 'static', '--leases', files.leases, '--subnet-file', files.subnetFile(node)]);
  const r = await collect(child, 20_000);
  t.equal(r.status, 2, 'exit code 2');
  t.match(r.stderr, /TUN device flannel\.1 cannot be created: \/dev\/net\/tun is missing/, `one clear sentence: ${r.stderr.trim().split('\n').pop()}`);
  t.notMatch(r.stderr, /\n\s+at /, 'no stack trace');
  t.equal(node.ns.tryExec('ip', 'link', 'show', 'flannel.1').status === 0, false, 'no device left');
  t.notMatch(node.ns.ip('-4', 'route', 'show'), /flannel/, 'no route left');
  t.notOk(existsSync(files.subnetFile(node)), 'no subnet.env written');
});
