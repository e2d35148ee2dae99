// SPDX-License-Identifier: Apache-2.0
/**
 * Live capture from the control socket over in-memory seams (no root): outer pcaps
 * rebuild the outer headers a kernel VTEP would send around exactly the VXLAN payload on
 * the wire, inner pcaps hold the inner packets; --filter and --count; observers exist
 * only while a capture runs; a slow client loses packets (counted), never the hot path.
 */
import t from 'tap';
import { createWriteStream } from 'node:fs';
import path from 'node:path';
import { startControlServer, type ControlServer } from '../../src/daemon/control.js';
import { CaptureHub, outerFrame, type CaptureSink, type CaptureSummary } from '../../src/daemon/capture.js';
import { silentLogger } from '../../src/daemon/log.js';
import { runCapture } from '../../src/cli/capture.js';
import { fetchStatus } from '../../src/cli/status.js';
import { readPcapFile } from '../../src/pcap/reader.js';
import { stripOuterEthernet } from '../../src/pcap/outer.js';
import { LINKTYPE_ETHERNET, LINKTYPE_RAW } from '../../src/pcap/format.js';
import { buildIcmpEcho, buildUdpIpv4 } from '../../src/packet/build.js';
import { decodeIpv4, parseIpv4, ipToString } from '../../src/packet/ipv4.js';
import { decodeUdp, verifyUdpChecksumIPv4 } from '../../src/packet/udp.js';
import { decodeVxlan } from '../../src/packet/vxlan.js';
import { memoryPair, settle, tempDir, type MemNode } from './fixtures/memory-vtep.js';

const log = silentLogger();

async function setup(t: { teardown(fn: () => unknown): void }) {
  const pair = memoryPair();
  const tmp = tempDir('vxtun-cap-');
  const srv = await startControlServer({ path: path.join(tmp.dir, 'a.sock'), source: pair.a.source, log });
  t.teardown(async () => { await srv.close(); pair.close(); tmp.remove(); });
  return { ...pair, tmp, srv };
}

/** Captures into `file` while `during` runs; resolves when the daemon (or abort) ends it. */
async function captureToFile(srv: ControlServer, file: string, request: { mode: 'outer' | 'inner'; count?: number; filter?: string },
  during: () => Promise<void>, signal?: AbortSignal): Promise<number> {
  const out = createWriteStream(file);
  let started!: () => void;
  const ready = new Promise<void>((r) => { started = r; });
  const run = runCapture({ socketPath: srv.path, request, out, onStart: () => started(), ...(signal ? { signal } : {}) });
  await ready;
  await during();
  const { records } = await run;
  await new Promise<void>((r) => out.end(() => r()));
  return records;
}

function echo(src: string, dst: string, seq: number): Buffer {
  return buildIcmpEcho({ src, dst, id: 42, seq });
}

/** Spy on setObservers: every call's (onEncap, onDecap) presence. */
function spyObservers(node: MemNode): Array<[boolean, boolean]> {
  const calls: Array<[boolean, boolean]> = [];
  const orig = node.device.setObservers.bind(node.device);
  node.device.setObservers = (e, d) => { calls.push([e !== undefined, d !== undefined]); orig(e, d); };
  return calls;
}

t.test('outer capture: both directions, outer headers rebuilt around the exact wire payload', async (t) => {
  const { a, b, net, srv, tmp } = await setup(t);
  const calls = spyObservers(a);
  const file = path.join(tmp.dir, 'outer.pcap');
  const n = await captureToFile(srv, file, { mode: 'outer', count: 4 }, async () => {
    a.tun.inject(echo('10.244.1.2', '10.244.2.2', 1), echo('10.244.1.2', '10.244.2.2', 2));
    await settle();
    b.tun.inject(echo('10.244.2.2', '10.244.1.2', 1), echo('10.244.2.2', '10.244.1.2', 2));
    await settle();
  });
  t.equal(n, 4, 'the client counted 4 records');
  t.same(calls, [[true, true], [false, false]], 'observers installed for the capture only');
  const pcap = readPcapFile(file);
  t.equal(pcap.linkType, LINKTYPE_ETHERNET);
  t.equal(pcap.records.length, 4);
  const wire = net.wire; // [A→B, A→B, B→A, B→A]
  pcap.records.forEach((rec, k) => {
    const ip = stripOuterEthernet(rec.data)!;
    const o = decodeIpv4(ip, 0, ip.length);
    if (!o.ok) { t.fail(`record ${k}: outer IPv4 ${o.reason}`); return; }
    const sent = wire[k]!;
    t.equal(ipToString(o.src), ipToString(sent.src), `record ${k}: outer source`);
    t.equal(ipToString(o.dst), ipToString(sent.dst), `record ${k}: outer destination`);
    t.match(o, { df: false, ttl: 64, protocol: 17, totalLength: ip.length });
    const u = decodeUdp(ip, o.payloadOffset, o.payloadLength);
    if (!u.ok) { t.fail(`record ${k}: UDP ${u.reason}`); return; }
    t.equal(u.srcPort, sent.srcPort, `record ${k}: source port as sent`);
    t.equal(u.dstPort, 8472);
    t.not(u.checksum, 0, 'a UDP checksum is present');
    t.ok(verifyUdpChecksumIPv4(ip, o.payloadOffset, o.src, o.dst), `record ${k}: UDP checksum valid`);
    t.same(ip.subarray(u.payloadOffset, u.payloadOffset + u.payloadLength), sent.payload, `record ${k}: VXLAN payload exactly as on the wire`);
    t.match(decodeVxlan(ip, u.payloadOffset, u.payloadLength), { ok: true, vni: 1 });
  });
  t.equal(ipToString(wire[0]!.src), '192.168.50.1', 'first two are encapsulated by A');
  t.equal(ipToString(wire[2]!.src), '192.168.50.2', 'last two are decapsulated by A');
  const s = await fetchStatus(srv.path);
  t.same(s.capture, { sessions: 0, captured: 4, dropped: 0 });
});

t.test('inner capture: the inner IPv4 packets, raw', async (t) => {
  const { a, b, srv, tmp } = await setup(t);
  const file = path.join(tmp.dir, 'inner.pcap');
  const pkts = [echo('10.244.1.2', '10.244.2.2', 1), buildUdpIpv4({ src: '10.244.1.3', dst: '10.244.2.9', sport: 999, dport: 53, payload: Buffer.from('q') })];
  const back = echo('10.244.2.2', '10.244.1.2', 1);
  await captureToFile(srv, file, { mode: 'inner', count: 3 }, async () => {
    a.tun.inject(...pkts);
    await settle();
    b.tun.inject(back);
    await settle();
  });
  const pcap = readPcapFile(file);
  t.equal(pcap.linkType, LINKTYPE_RAW);
  t.same(pcap.records.map((r) => Buffer.from(r.data)), [...pkts, back]);
});

t.test('--filter keeps inner src or dst in the subnet; --count stops the stream', async (t) => {
  const { a, b, srv, tmp } = await setup(t);
  const file = path.join(tmp.dir, 'f.pcap');
  const n = await captureToFile(srv, file, { mode: 'inner', filter: '10.244.2.3', count: 2 }, async () => {
    a.tun.inject(echo('10.244.1.2', '10.244.2.2', 1), echo('10.244.1.2', '10.244.2.3', 2), echo('10.244.1.2', '10.244.2.2', 3));
    await settle();
    b.tun.inject(echo('10.244.2.2', '10.244.1.2', 4), echo('10.244.2.3', '10.244.1.2', 5), echo('10.244.2.3', '10.244.1.2', 6));
    await settle();
  });
  t.equal(n, 2);
  const recs = readPcapFile(file).records.map((r) => decodeIpv4(r.data, 0, r.data.length));
  t.same(recs.map((r) => (r.ok ? [ipToString(r.src), ipToString(r.dst)] : r.reason)), [['10.244.1.2', '10.244.2.3'], ['10.244.2.3', '10.244.1.2']],
    'the packet to .3 and the first from .3; the third match is past --count');
  t.equal(srv.capture.size, 0, 'session gone');
});

t.test('the client going away ends the session and removes the observers', async (t) => {
  const { a, srv, tmp } = await setup(t);
  const calls = spyObservers(a);
  const ac = new AbortController();
  const n = await captureToFile(srv, path.join(tmp.dir, 'abort.pcap'), { mode: 'outer' }, async () => {
    a.tun.inject(echo('10.244.1.2', '10.244.2.2', 1));
    await settle();
    ac.abort();
  }, ac.signal);
  t.ok(n <= 1);
  for (let i = 0; i < 50 && srv.capture.size > 0; i++) await settle(1);
  t.equal(srv.capture.size, 0);
  t.same(calls.at(-1), [false, false], 'observers cleared');
});

t.test('a slow client loses packets, counted; the dataplane never waits', async (t) => {
  const { a, b, net } = await setup(t);
  let buffered = 0;
  const sink: CaptureSink = { write: (c) => { buffered += c.length; return false; }, get writableLength() { return buffered; }, end() {} };
  const hub = new CaptureHub(a.device, { ifaceAddr: parseIpv4('192.168.50.1'), port: 8472 }, { maxBufferedBytes: 100 });
  let summary: CaptureSummary | undefined;
  const s = hub.start({ mode: 'outer' }, sink, (x) => { summary = x; });
  for (let k = 0; k < 10; k++) a.tun.inject(echo('10.244.1.2', '10.244.2.2', k));
  await settle();
  t.equal(net.wire.length, 10, 'all ten forwarded');
  t.equal(b.tun.written.length, 10, 'and delivered');
  t.equal(s.captured, 1, 'one record fit under the limit');
  t.equal(s.dropped, 9, 'the rest were dropped and counted');
  hub.close();
  t.same(summary, { mode: 'outer', captured: 1, dropped: 9, reason: 'shutdown' });
  t.equal(hub.totalDropped, 9);
});

t.test('outerFrame', async (t) => {
  const f = outerFrame(Buffer.from('0800000000000100', 'hex'), parseIpv4('1.2.3.4'), parseIpv4('5.6.7.8'), 40000, 8472, 2);
  t.equal(f.length, 14 + 20 + 8 + 8);
  const ip = stripOuterEthernet(f)!;
  t.match(decodeIpv4(ip, 0, ip.length), { ok: true, tos: 2, df: false, ttl: 64, id: 0, protocol: 17 });
  t.ok(verifyUdpChecksumIPv4(ip, 20, parseIpv4('1.2.3.4'), parseIpv4('5.6.7.8')));
});
