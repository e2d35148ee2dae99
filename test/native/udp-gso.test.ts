// SPDX-License-Identifier: Apache-2.0
/**
 * udpSend with a UDP GSO sender, across a veth with tx offload off (like the lab's ul0:
 * the kernel segments in software, so the capture shows the real wire). Every datagram of
 * the batch must be on the wire once, in batch order, from its flow's source port, with
 * the outer fields the raw path writes (DF clear, the TTL asked for, the TOS of its slot)
 * and a valid UDP checksum; runs must have gone through UDP_SEGMENT, a port another socket
 * holds through the raw path, and nothing through GSO without checksums or after close.
 */
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Netns, netnsSkipReason, uniqueSuffix } from '../../src/lab/netns.js';
import { stopChild, waitForOutput } from '../../src/lab/proc.js';
import { readPcapFile } from '../../src/pcap/reader.js';
import { onesSum, pseudoHeaderSum } from '../../src/packet/checksum.js';
import { runChild } from './fixtures/run-child.js';
import { GSO_BATCH, gsoPayload } from './fixtures/offload-ref.js';

const skip = netnsSkipReason();

interface Wire { sport: number; tos: number; ttl: number; df: boolean; frameLen: number; csum: number; csumOk: boolean; payload: Buffer }

function parse(frame: Buffer): Wire | undefined {
  if (frame.readUInt16BE(12) !== 0x0800) return undefined;
  const ip = frame.subarray(14);
  if (ip[9] !== 17) return undefined;
  const udp = ip.subarray(20, ip.readUInt16BE(2));
  const csum = udp.readUInt16BE(6);
  const csumOk = onesSum(udp, 0, udp.length, pseudoHeaderSum(ip.readUInt32BE(12), ip.readUInt32BE(16), 17, udp.length)) === 0xffff;
  return { sport: udp.readUInt16BE(0), tos: ip[1]!, ttl: ip[8]!, df: (ip[6]! & 0x40) !== 0, frameLen: frame.length, csum, csumOk, payload: Buffer.from(udp.subarray(8)) };
}

t.test('UDP GSO sends over a veth with tx off', { skip: skip ?? false }, async (t) => {
  const x = Netns.create(`vxtun-gsx-${uniqueSuffix()}`);
  t.teardown(() => x.delete());
  const y = Netns.create(`vxtun-gsy-${uniqueSuffix()}`);
  t.teardown(() => y.delete());
  x.ip('link', 'add', 'vxgA', 'type', 'veth', 'peer', 'name', 'vxgB', 'netns', y.name);
  x.ip('addr', 'add', '192.168.77.1/24', 'dev', 'vxgA');
  y.ip('addr', 'add', '192.168.77.2/24', 'dev', 'vxgB');
  x.ip('link', 'set', 'vxgA', 'up');
  y.ip('link', 'set', 'vxgB', 'up');
  x.exec('ethtool', '-K', 'vxgA', 'tx', 'off');
  const dir = mkdtempSync(path.join(tmpdir(), 'vxtun-gso-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'wire.pcap');
  const dump = y.spawn(['tcpdump', '-Z', 'root', '-n', '-U', '--immediate-mode', '-i', 'vxgB', '-w', file, 'udp dst port 8472'], { stdio: ['ignore', 'ignore', 'pipe'] });
  t.teardown(() => stopChild(dump, 'SIGKILL'));
  await waitForOutput(dump, dump.stderr, /listening on/, 10_000);

  const r = runChild<{
    sent: number; first: Record<string, number>; sentNoCsum: number; second: Record<string, number>;
    closed: Record<string, number>; sentAfterClose: number; third: Record<string, number>;
  }>(x, 'offload-child', 'udpgso');
  await new Promise((res) => setTimeout(res, 300));
  await stopChild(dump, 'SIGTERM', 5000);
  t.equal(r.status, 0, `child exits 0 (stderr: ${r.stderr})`);
  const o = r.report;
  if (!o) return t.fail('child printed no report');

  const want: Array<{ port: number; tos: number; payload: Buffer }> = [];
  for (const [port, count, size, tos, last] of GSO_BATCH) {
    if (port === 0) continue;
    for (let k = 0; k < count; k++) want.push({ port, tos, payload: gsoPayload(port, k, k === count - 1 && last !== undefined ? last : size) });
  }
  t.equal(o.sent, want.length, 'udpSend counts every selected datagram');
  t.match(o.first, { sends: 3, segments: 18, bindFailures: 1, fallbacks: 0, disabled: 0 }, 'three runs went through UDP_SEGMENT; the taken port did not');
  t.equal(o.sentNoCsum, 2);
  t.equal(o.second.sends, 3, 'no GSO send without UDP checksums');
  t.equal(o.closed.sockets, 0, 'udpGsoClose closes every socket');
  t.equal(o.sentAfterClose, 2);
  t.equal(o.third.sends, 3, 'nothing through GSO after close');

  const wire = readPcapFile(file).records.map((rec) => parse(rec.data)).filter((w): w is Wire => w !== undefined);
  const main = wire.slice(0, want.length);
  t.same(main.map((w) => `${w.sport}:${w.payload.toString('hex')}`), want.map((w) => `${w.port}:${w.payload.toString('hex')}`), 'every datagram once, in batch order, from its flow\'s port');
  main.forEach((w, i) => {
    const tag = `datagram ${i} (port ${w.sport})`;
    t.equal(w.tos, want[i]!.tos, `${tag}: TOS of its slot`);
    t.equal(w.ttl, 33, `${tag}: TTL`);
    t.equal(w.df, false, `${tag}: DF clear`);
    t.ok(w.csumOk && w.csum !== 0, `${tag}: a valid UDP checksum`);
    t.ok(w.frameLen <= 1514, `${tag}: a real-size frame (${w.frameLen})`);
  });
  const rest = wire.slice(want.length);
  t.same(rest.map((w) => `${w.sport}:${w.csum === 0}`), ['40006:true', '40006:true', '40007:false', '40007:false'], 'then the zero-checksum pair and the pair after close (raw)');
});
