// SPDX-License-Identifier: Apache-2.0
/**
 * The Prometheus endpoint over in-memory seams (no root; loopback only): values are read
 * from the counters at scrape time, per peer and per drop reason; control-plane metrics
 * come from what the subnet managers report; address parsing and a taken port.
 */
import t from 'tap';
import { createServer } from 'node:net';
import { startMetricsServer, parseMetricsAddress, ControlPlaneState, NOOP_CONTROL_PLANE_METRICS, controlPlaneMetrics } from '../../src/daemon/metrics.js';
import { silentLogger } from '../../src/daemon/log.js';
import { buildIcmpEcho } from '../../src/packet/build.js';
import { memoryPair, settle } from './fixtures/memory-vtep.js';

const log = silentLogger();

async function scrape(url: string): Promise<string> {
  const r = await fetch(url);
  if (r.status !== 200) throw new Error(`GET ${url}: HTTP ${r.status}`);
  return r.text();
}

/** The value of the sample `name{labels}` (exact label text), or undefined. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

t.test('scrapes read the counters: peers, drops, totals, batches, control plane, build info', async (t) => {
  const pair = memoryPair();
  const cp = new ControlPlaneState();
  const m = await startMetricsServer({ host: '127.0.0.1', port: 0 }, { source: pair.a.source, controlPlane: cp, log, captureSessions: () => 0 });
  t.teardown(async () => { await m.close(); pair.close(); });
  t.match(m.url, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);

  let text = await scrape(m.url);
  t.equal(sample(text, 'vxtun_peer_packets_total{peer="10.244.2.0/24",direction="tx"}'), 0);
  t.equal(sample(text, 'vxtun_drops_total{reason="wrong-vni"}'), 0, 'every drop reason is exported, zeros too');
  t.equal(sample(text, 'vxtun_store_watch_up'), 1, 'nothing reported: up (static manager)');

  for (let k = 0; k < 3; k++) pair.a.tun.inject(buildIcmpEcho({ src: '10.244.1.2', dst: '10.244.2.2', id: 1, seq: k }));
  pair.a.tun.inject(buildIcmpEcho({ src: '10.244.1.2', dst: '10.244.77.1', id: 1, seq: 9 }));
  await settle();
  pair.b.tun.inject(buildIcmpEcho({ src: '10.244.2.2', dst: '10.244.1.2', id: 1, seq: 1, reply: true }));
  await settle();
  cp.leaseRenewed();
  cp.leaseRenewed();
  cp.setWatchUp(false);
  pair.a.source.device.counters.checksumsFinished = 2; // what a LinuxTun's write reports (test/dataplane/offload.test.ts)
  pair.a.source.device.counters.overMtu = 5; // what decap counts (test/dataplane/decap.test.ts)

  text = await scrape(m.url);
  t.equal(sample(text, 'vxtun_peer_packets_total{peer="10.244.2.0/24",direction="tx"}'), 3);
  t.equal(sample(text, 'vxtun_peer_packets_total{peer="10.244.2.0/24",direction="rx"}'), 1);
  t.equal(sample(text, 'vxtun_peer_bytes_total{peer="10.244.2.0/24",direction="tx"}'), 3 * 84);
  t.ok(sample(text, 'vxtun_peer_last_rx_timestamp_seconds{peer="10.244.2.0/24"}')! > 1.6e9);
  t.equal(sample(text, 'vxtun_peers'), 1);
  t.equal(sample(text, 'vxtun_drops_total{reason="no-lease"}'), 1);
  t.equal(sample(text, 'vxtun_packets_total{path="tun_rx"}'), 4);
  t.equal(sample(text, 'vxtun_packets_total{path="udp_tx"}'), 3);
  t.equal(sample(text, 'vxtun_packets_total{path="udp_rx"}'), 1);
  t.equal(sample(text, 'vxtun_icmp_unreachable_sent_total'), 1);
  t.equal(sample(text, 'vxtun_over_mtu_packets_total'), 5);
  t.equal(sample(text, 'vxtun_checksums_finished_total'), 2);
  t.ok(sample(text, 'vxtun_batches_total{direction="encap"}')! >= 1);
  t.ok(sample(text, 'vxtun_batch_size_mean{direction="encap"}')! > 0);
  t.equal(sample(text, 'vxtun_lease_renewals_total'), 2);
  t.equal(sample(text, 'vxtun_store_watch_up'), 0);
  t.equal(sample(text, 'vxtun_capture_sessions'), 0);
  t.match(text, /^vxtun_build_info\{version="[^"]+",node="v\d+[^"]*"\} 1$/m);
  t.match(text, /^vxtun_event_loop_delay_p99_seconds \d/m);
  t.match(text, /^nodejs_eventloop_lag_seconds \d/m, 'default Node.js metrics');
  t.match(text, /^process_resident_memory_bytes \d/m);
  t.match(text, /# TYPE vxtun_drops_total counter/);

  pair.a.table.replace([]);
  text = await scrape(m.url);
  t.equal(sample(text, 'vxtun_peer_packets_total{peer="10.244.2.0/24",direction="tx"}'), undefined, 'a removed peer leaves the metrics');

  const nf = await fetch(m.url.replace('/metrics', '/'));
  t.equal(nf.status, 404);
  await nf.text();
});

t.test('parseMetricsAddress', async (t) => {
  t.equal(parseMetricsAddress('off'), null);
  t.same(parseMetricsAddress('127.0.0.1:9472'), { host: '127.0.0.1', port: 9472 });
  t.same(parseMetricsAddress(':9100'), { host: '0.0.0.0', port: 9100 });
  t.same(parseMetricsAddress('[::1]:9472'), { host: '::1', port: 9472 });
  t.same(parseMetricsAddress('localhost:1'), { host: 'localhost', port: 1 });
  for (const bad of ['9472', '127.0.0.1', '1.2.3.4:99999', 'a:b:c', '1.2.3.4:x']) {
    t.throws(() => parseMetricsAddress(bad), { name: 'UsageError' }, bad);
  }
});

t.test('a taken port is a UsageError naming the address', async (t) => {
  const pair = memoryPair();
  const blocker = createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => { blocker.close(); pair.close(); });
  const port = (blocker.address() as { port: number }).port;
  await t.rejects(startMetricsServer({ host: '127.0.0.1', port }, { source: pair.a.source, log }),
    { name: 'UsageError', message: new RegExp(`127\\.0\\.0\\.1:${port} is already in use`) });
});

t.test('ControlPlaneMetrics recorders', async (t) => {
  NOOP_CONTROL_PLANE_METRICS.leaseRenewed();
  NOOP_CONTROL_PLANE_METRICS.setWatchUp(false);
  t.ok(controlPlaneMetrics instanceof ControlPlaneState, 'a process-wide recorder for vxtun run');
  const s = new ControlPlaneState();
  s.setWatchUp(true);
  s.leaseRenewed();
  t.same({ r: s.leaseRenewals, up: s.storeWatchUp }, { r: 1, up: true });
});
