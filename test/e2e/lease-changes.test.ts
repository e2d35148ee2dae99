// SPDX-License-Identifier: Apache-2.0
/**
 * The static leases file is watched: a lease added, changed or removed while traffic
 * flows takes effect without restarting vxtun and without dropping traffic to peers
 * that did not change. A bad entry appearing later is reported and ignored.
 */
import t from 'tap';
import { createCluster } from '../../src/lab/cluster.js';
import { netnsSkipReason } from '../../src/lab/netns.js';
import { ping } from '../../src/lab/probe.js';
import { sleep } from '../../src/lab/proc.js';
import { LabFiles, startVxtun, type LabVxtun } from '../../src/lab/vxtun.js';
import { peerOf, vtepMacFor, type LabPeer } from '../../src/lab/kernel-flannel.js';
import type { LabPod } from '../../src/lab/pod.js';
import type { NsLike } from '../../src/lab/probe.js';

const skip = netnsSkipReason();

/** Pings until one echo comes back or the attempts run out; true when it did. */
async function reachable(from: NsLike, to: LabPod, attempts = 20): Promise<boolean> {
  for (let i = 0; i < attempts; i++) {
    if ((await ping(from, to.ip, { count: 1, timeoutSec: 1 })).received === 1) return true;
    await sleep(100);
  }
  return false;
}

t.test('leases added, changed and removed while traffic flows', { skip: skip ?? false }, async (t) => {
  const cluster = createCluster({ name: 'vxlease', podsPerNode: 1, txOffloadOff: true });
  const files = new LabFiles();
  const runs: LabVxtun[] = [];
  t.teardown(async () => { for (const r of runs) await r.stop(); cluster.destroy(); files.remove(); });
  const [master, worker1, worker2] = cluster.nodes as [typeof cluster.nodes[0], typeof cluster.nodes[0], typeof cluster.nodes[0]];
  const lease = (i: number, mac = vtepMacFor(i)): LabPeer => peerOf(cluster.nodes[i]!, mac);
  files.writeLeases([lease(0), lease(1)]);
  runs.push(await startVxtun(master, { files }), await startVxtun(worker1, { files }));
  t.ok(await reachable(master.pods[0]!, worker1.pods[0]!), 'master ↔ worker1 before any change');

  // Steady background traffic master → worker1, counted over all the changes below.
  const steady = ping(master.pods[0]!, worker1.pods[0]!.ip, { count: 400, intervalSec: 0.02, timeoutSec: 2 });

  // Add: worker2 joins (its lease appears, then it starts).
  files.writeLeases([lease(0), lease(1), lease(2)]);
  const w2 = await startVxtun(worker2, { files });
  runs.push(w2);
  t.ok(await reachable(master.pods[0]!, worker2.pods[0]!), 'added: master reaches worker2 without a restart');

  // Change: worker2 comes back with a new VtepMAC; peers must follow the file.
  await w2.stop();
  files.writeLeases([lease(0), lease(1), lease(2, '02:f1:00:00:00:99')]);
  runs.push(await startVxtun(worker2, { files }));
  t.ok(await reachable(master.pods[0]!, worker2.pods[0]!), 'changed: master follows worker2\'s new MAC');

  // A bad entry appears: reported, ignored, everything else keeps working.
  files.writeLeasesText(JSON.stringify({
    ...JSON.parse(JSON.stringify(Object.fromEntries([lease(0), lease(1), lease(2, '02:f1:00:00:00:99')].map((p) => [p.subnet.replace('/', '-'), { PublicIP: p.publicIp, BackendType: 'vxlan', BackendData: { VNI: 1, VtepMAC: p.vtepMac } }])))),
    '10.244.9.0-24': { PublicIP: '192.168.50.9', BackendType: 'udp' },
  }));
  await sleep(600);
  t.ok(await reachable(master.pods[0]!, worker2.pods[0]!), 'a bad entry does not disturb the others');
  t.match(runs[0]!.log(), /"key":"10\.244\.9\.0-24"/, 'the bad entry is reported with its key');

  // Remove: worker2's lease disappears; master stops sending to it and answers with ICMP.
  files.writeLeases([lease(0), lease(1)]);
  let gone = false;
  for (let i = 0; i < 20 && !gone; i++) {
    const r = await ping(master.pods[0]!, worker2.pods[0]!.ip, { count: 1, timeoutSec: 1 });
    gone = /Unreachable/.test(r.output);
    if (!gone) await sleep(100);
  }
  t.ok(gone, 'removed: master answers "Destination Net Unreachable" for worker2\'s pods');

  const s = await steady;
  t.equal(s.received, s.sent, `no loss to the unchanged peer during all changes (${s.received}/${s.sent})`);
  t.ok(s.sent >= 400);
});
