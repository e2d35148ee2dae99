// SPDX-License-Identifier: Apache-2.0
// Kernel flannel in the lab: device and per-peer state exactly as flanneld programs them,
// pod-to-pod traffic across every node pair, wire format on the underlay, peer removal.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { createCluster, type LabCluster } from '../../src/lab/cluster.js';
import { connectKernelMesh, vtepMacFor, type KernelFlannel } from '../../src/lab/kernel-flannel.js';
import { netnsSkipReason } from '../../src/lab/netns.js';
import { captureUnderlay, dissect, httpGet, ping, startHttpServer, tcpExchange, udpExchange } from '../../src/lab/probe.js';

const skip = netnsSkipReason();

t.test('kernel flannel mesh on the default cluster', { skip: skip ?? false }, async (t) => {
  const c: LabCluster = createCluster({ name: 'vxlk', txOffloadOff: true });
  t.teardown(() => c.destroy());
  const dir = mkdtempSync(join(tmpdir(), 'vxlab-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const kf: KernelFlannel[] = connectKernelMesh(c.nodes);
  const [master, worker1, worker2] = c.nodes;
  const [kMaster, kWorker1, kWorker2] = kf;
  if (!master || !worker1 || !worker2 || !kMaster || !kWorker1 || !kWorker2) throw new Error('3 nodes expected');

  t.test('device, neighbours, FDB and routes as flanneld programs them', async (t) => {
    for (const [i, n] of c.nodes.entries()) {
      t.match(n.ns.exec('ethtool', '-k', 'ul0'), /^tx-checksumming: off$/m, `${n.name}: ul0 tx offload off`);
      const [dev] = JSON.parse(n.ns.ip('-d', '-j', 'addr', 'show', 'dev', 'flannel.1')) as {
        mtu: number; address: string; addr_info: { local: string; prefixlen: number }[];
        linkinfo: { info_kind: string; info_data: Record<string, unknown> } }[];
      if (!dev) throw new Error('no flannel.1');
      t.equal(dev.address, vtepMacFor(i));
      t.equal(dev.mtu, 1450);
      t.same(dev.addr_info.map((a) => `${a.local}/${a.prefixlen}`), [`10.244.${i + 1}.0/32`]);
      t.match(dev.linkinfo, { info_kind: 'vxlan', info_data: { id: 1, port: 8472, local: n.underlayIp, link: 'ul0', learning: false, ttl: 0, udp_csum: true } });
      const others = c.nodes.filter((o) => o !== n);
      const neigh = JSON.parse(n.ns.ip('-j', 'neigh', 'show', 'dev', 'flannel.1')) as { dst: string; lladdr: string; state: string[] }[];
      t.same(neigh.map((x) => `${x.dst} ${x.lladdr} ${x.state.join()}`).sort(),
        others.map((o) => `10.244.${o.index + 1}.0 ${vtepMacFor(o.index)} PERMANENT`).sort(), `${n.name}: neighbours`);
      const fdb = JSON.parse(n.ns.exec('bridge', '-j', 'fdb', 'show', 'dev', 'flannel.1')) as { mac: string; dst: string; state: string }[];
      t.same(fdb.map((x) => `${x.mac} ${x.dst} ${x.state}`).sort(),
        others.map((o) => `${vtepMacFor(o.index)} ${o.underlayIp} permanent`).sort(), `${n.name}: FDB`);
      const routes = JSON.parse(n.ns.ip('-j', 'route', 'show', 'dev', 'flannel.1')) as { dst: string; gateway: string; flags: string[] }[];
      t.same(routes.map((r) => `${r.dst} via ${r.gateway} ${r.flags.join()}`).sort(),
        others.map((o) => `${o.subnet} via ${o.subnet.replace('/24', '')} onlink`).sort(), `${n.name}: routes`);
    }
  });

  t.test('pod to pod across every pair of nodes', async (t) => {
    for (const a of c.nodes) {
      for (const b of c.nodes) {
        if (a === b) continue;
        const [src, dst] = [a.pods[0], b.pods[1]];
        if (!src || !dst) throw new Error('pods missing');
        t.match(await ping(src, dst.ip), { sent: 3, received: 3 }, `${src.name} -> ${dst.name}`);
      }
    }
  });

  t.test('TCP, UDP and HTTP between pods; a node reaches a remote pod', async (t) => {
    const [p1, p2] = [c.pod('master-pod1'), c.pod('worker2-pod2')];
    t.match(await tcpExchange(p1, p2, 7000), /^hello from master-pod1 /, 'TCP echo master-pod1 -> worker2-pod2');
    t.match(await udpExchange(c.pod('worker1-pod1'), p1, 7001), /^hello from worker1-pod1 /, 'UDP echo worker1-pod1 -> master-pod1');
    const srv = await startHttpServer(c.pod('worker1-pod2'), 8080);
    t.teardown(() => srv.stop());
    const body = JSON.parse(await httpGet(c.pod('worker2-pod1'), srv.url)) as { pod: string; remote: string };
    t.same(body, { pod: 'worker1-pod2', ip: '10.244.2.3', path: '/', remote: '10.244.3.2' }, 'HTTP, client address preserved (no NAT)');
    t.match(await ping(master, c.pod('worker1-pod1').ip), { sent: 3, received: 3 }, 'master (host netns) pings a worker1 pod');
    const viaNode = JSON.parse(await httpGet(master, srv.url)) as { remote: string };
    t.equal(viaNode.remote, '10.244.1.0', 'host-originated traffic leaves from flannel.1\'s address');
  });

  t.test('wire format on worker1 ul0', async (t) => {
    const file = join(dir, 'worker1-ul0.pcap');
    const cap = await captureUnderlay(worker1, { file, filter: 'udp port 8472' });
    const r = await ping(c.pod('master-pod1'), c.pod('worker1-pod1').ip);
    await cap.stop();
    t.match(r, { sent: 3, received: 3 });
    const rows = await dissect(file, ['vxlan.vni', 'vxlan.flags', 'vxlan.flag_i', 'udp.srcport', 'udp.dstport', 'ip.src', 'ip.dst',
      'ip.flags.df', 'ip.ttl', 'eth.src', 'eth.dst', 'udp.checksum.status', 'frame.protocols']);
    t.equal(rows.length, 6, '3 requests + 3 replies, nothing else');
    const mac = { master: vtepMacFor(0), worker1: vtepMacFor(1) };
    for (const row of rows) {
      const outerSrc = row['ip.src']?.[0];
      const toWorker1 = outerSrc === master.underlayIp;
      t.same(row['ip.src'], toWorker1 ? ['192.168.50.1', '10.244.1.2'] : ['192.168.50.2', '10.244.2.2'], 'outer and inner sources');
      t.same(row['vxlan.vni'], ['1']);
      t.same(row['vxlan.flags'], ['0x0800'], 'flags: I only');
      t.same(row['vxlan.flag_i'], ['1']);
      t.same(row['udp.dstport'], ['8472']);
      const sport = Number(row['udp.srcport']?.[0]);
      t.ok(sport >= 32768 && sport <= 60999, `source port ${sport} in ip_local_port_range`);
      t.equal(row['ip.flags.df']?.[0], '0', 'outer DF clear');
      t.equal(row['ip.ttl']?.[0], '64', 'outer TTL 64');
      t.same(row['udp.checksum.status'], ['1'], 'outer UDP checksum present and Good');
      t.equal(row['eth.src']?.[1], toWorker1 ? mac.master : mac.worker1, 'inner src MAC = sender VTEP MAC');
      t.equal(row['eth.dst']?.[1], toWorker1 ? mac.worker1 : mac.master, 'inner dst MAC = receiver VTEP MAC');
      t.same(row['frame.protocols'], ['eth:ethertype:ip:udp:vxlan:eth:ethertype:ip:icmp:data']);
    }
  });

  t.test('removing a peer cuts only that peer', async (t) => {
    const src = c.pod('master-pod1');
    kMaster.removePeer(kWorker2.self);
    t.same(kMaster.peers().map((p) => p.subnet), ['10.244.2.0/24']);
    t.equal(master.ns.ip('route', 'show', 'dev', 'flannel.1', '10.244.3.0/24').trim(), '', 'route gone');
    t.equal(master.ns.ip('neigh', 'show', 'dev', 'flannel.1', '10.244.3.0').trim(), '', 'neighbour gone');
    t.notMatch(master.ns.exec('bridge', 'fdb', 'show', 'dev', 'flannel.1'), vtepMacFor(2), 'FDB entry gone');
    t.equal((await ping(src, c.pod('worker2-pod1').ip, { count: 2 })).received, 0, 'worker2 pods unreachable');
    t.match(await ping(src, c.pod('worker1-pod1').ip), { sent: 3, received: 3 }, 'worker1 pods still reachable');
    t.doesNotThrow(() => kMaster.removePeer(kWorker2.self), 'removing again is harmless');
    kMaster.addPeer(kWorker2.self);
    t.match(await ping(src, c.pod('worker2-pod1').ip), { sent: 3, received: 3 }, 'reachable again after re-adding');
  });

  t.test('teardown removes flannel.1', async (t) => {
    kWorker2.teardown();
    t.not(worker2.ns.tryExec('ip', 'link', 'show', 'flannel.1').status, 0, 'device gone');
    t.doesNotThrow(() => kWorker2.teardown(), 'idempotent');
    t.throws(() => kWorker2.addPeer(kMaster.self), /torn down/);
    t.equal((await ping(c.pod('master-pod1'), c.pod('worker2-pod1').ip, { count: 1 })).received, 0, 'worker2 is off the overlay');
  });
});
