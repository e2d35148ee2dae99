// SPDX-License-Identifier: Apache-2.0
/**
 * The addon's UDP side (udpOpen, rawOpen, udpSend, udpRecv) and its uv_poll watchers, against
 * the kernel's loopback inside a namespace this test creates. The socket work runs in a
 * child (`ip netns exec`); this file asserts on its report.
 */
import t from 'tap';
import { Netns, netnsSkipReason, uniqueSuffix } from '../../src/lab/netns.js';
import { runChild } from './fixtures/run-child.js';

const skip = netnsSkipReason();
const LO = 0x7f000001;

/** Reference RFC 1071 sum over network-order words (folded, not inverted). */
function sum16(b: Uint8Array, seed = 0): number {
  let s = seed;
  for (let i = 0; i < b.length; i += 2) s += (b[i]! << 8) | (b[i + 1] ?? 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

interface Got { payload: string; len: number; addr: number; port: number; off: number }
const text = (hex: string): string => Buffer.from(hex, 'hex').toString();

t.test('UDP over loopback in a namespace', { skip: skip ?? false }, async (t) => {
  const ns = Netns.create(`vxtun-udp-${uniqueSuffix()}`);
  t.teardown(() => ns.delete());
  const base = 20000 + Math.floor(Math.random() * 30000);

  t.test('udpSend builds datagrams the kernel accepts; udpRecv reports them', async (t) => {
    const port = base;
    const r = runChild<{
      sent: number;
      frames: Array<{ i: number; off: number; frame: string }>;
      received: Got[];
      countersBefore: Record<string, number>;
      countersAfter: Record<string, number>;
      payloads: string[];
      sentNoCsum: number;
      noCsumFrame: string;
      receivedNoCsum: Got[];
      smallRoom: number;
      receivedBig: Got[];
      bigPrefix: string;
      sentWithUnreachable: number;
      receivedAfterUnreachable: Got[];
      badOff: { name: string; message: string } | null;
      receivedAfterBad: Got[];
      inUse: { name: string; message: string; code: string; errno: number; syscall: string } | null;
      pendingAtEnd: number;
    }>(ns, 'udp-child', 'udp', String(port));
    t.equal(r.status, 0, `child exits 0 (stderr: ${r.stderr})`);
    const o = r.report;
    if (!o) return t.fail('child printed no report');

    t.equal(o.sent, 2, 'the two selected packets are sent, the DROP one is not');
    const tos = [0x00, 0x10, 0xb8];
    for (const f of o.frames) {
      const b = Buffer.from(f.frame, 'hex');
      const payload = Buffer.from(o.payloads[f.i]!, 'hex');
      t.test(`outer headers of packet ${f.i}, read back from the batch memory`, async (t) => {
        t.equal(b[0], 0x45, 'version 4, IHL 5');
        t.equal(b[1], tos[f.i], 'TOS from tos[i]');
        t.equal(b.readUInt16BE(2), 28 + payload.length, 'total length');
        t.equal(b.readUInt16BE(6), 0, 'DF clear, no fragment offset');
        t.equal(b[8], 33, 'TTL');
        t.equal(b[9], 17, 'protocol UDP');
        t.equal(sum16(b.subarray(0, 20)), 0xffff, 'IPv4 header checksum verifies');
        t.not(b.readUInt16BE(10), 0, 'header checksum filled in');
        t.equal(b.readUInt32BE(12), LO, 'source');
        t.equal(b.readUInt32BE(16), LO, 'destination');
        t.equal(b.readUInt16BE(20), 40001 + f.i, 'UDP source port from port[i]');
        t.equal(b.readUInt16BE(22), port, 'UDP destination port');
        t.equal(b.readUInt16BE(24), 8 + payload.length, 'UDP length');
        const pseudo = Buffer.alloc(12);
        pseudo.writeUInt32BE(LO, 0);
        pseudo.writeUInt32BE(LO, 4);
        pseudo[9] = 17;
        pseudo.writeUInt16BE(8 + payload.length, 10);
        t.not(b.readUInt16BE(26), 0, 'UDP checksum present');
        t.equal(sum16(b.subarray(20), sum16(pseudo)), 0xffff, 'UDP checksum verifies with the pseudo-header');
        t.same(b.subarray(28), payload, 'payload untouched');
      });
    }
    t.same(
      o.received.map((g) => ({ payload: text(g.payload), port: g.port, addr: g.addr, len: g.len })),
      [0, 2].map((i) => ({ payload: text(o.payloads[i]!), port: 40001 + i, addr: LO, len: Buffer.from(o.payloads[i]!, 'hex').length })),
      'exactly the selected payloads arrive, with their source ports and 127.0.0.1 as source',
    );
    t.ok(o.received.every((g, i) => g.off === i * 1600 + 64), 'off[i] is slot start + headroom');
    t.equal(o.countersAfter.InCsumErrors, o.countersBefore.InCsumErrors, 'no UDP checksum errors counted by the kernel');

    t.equal(o.sentNoCsum, 1);
    t.equal(Buffer.from(o.noCsumFrame, 'hex').readUInt16BE(26), 0, 'checksum off sends 0');
    t.same(o.receivedNoCsum.map((g) => [text(g.payload), g.port]), [['no checksum', 40010]], 'a zero UDP checksum is accepted');

    t.equal(o.receivedBig.length, 1);
    t.equal(o.receivedBig[0]?.len, 300, `len keeps the real length of a datagram larger than the slot (room ${o.smallRoom})`);
    t.ok(o.smallRoom < 300);
    t.equal(o.receivedBig[0]?.payload, o.bigPrefix, 'the slot holds the first bytes');

    t.equal(o.sentWithUnreachable, 1, 'a packet to an unreachable network is skipped, not thrown');
    t.same(o.receivedAfterUnreachable.map((g) => [text(g.payload), g.port]), [['after the unreachable one', 40031]], 'the batch went on after it');

    t.equal(o.badOff?.name, 'RangeError');
    t.match(o.badOff?.message, /packet 1\b/, 'the error names the packet index');
    t.same(o.receivedAfterBad.map((g) => text(g.payload)), ['marker'], 'nothing of the failing call was sent');

    t.equal(o.inUse?.code, 'EADDRINUSE');
    t.equal(o.inUse?.syscall, 'bind');
    t.equal(o.inUse?.errno, -98);
    t.match(o.inUse?.message, `UDP port ${port} on 127.0.0.1 is already in use`);
    t.equal(o.pendingAtEnd, 0, 'nothing unexpected arrived');
  });

  t.test('pollStart fires on a readable socket and pollStop ends it; the child exits by itself', async (t) => {
    const r = runChild<{ fired: number; received: string[]; order: string[]; firedAfterStop: number; sent: number; sentAfterStop: number; pendingAfterStop: number }>(
      ns, 'udp-child', 'poll', String(base + 10),
    );
    t.equal(r.signal, null, 'the child was not killed (no handle kept the loop alive)');
    t.equal(r.status, 0, `child exits 0 (stderr: ${r.stderr})`);
    const o = r.report;
    if (!o) return t.fail('child printed no report');
    t.equal(o.sent, 2);
    t.equal(o.fired, 1, 'the callback fired once');
    t.same(o.received, ['wake up']);
    t.same(o.order, ['cb', 'cb microtask', 'cb', 'cb microtask'], 'microtasks queued in a callback run as soon as it returns');
    t.equal(o.sentAfterStop, 1);
    t.equal(o.firedAfterStop, 0, 'no callback after pollStop');
    t.equal(o.pendingAfterStop, 1, 'the datagram sent after pollStop stayed unread');
  });

  t.test('pollKick calls back once on the next loop turn without readability; kicks coalesce; none after pollStop', async (t) => {
    const r = runChild<{ idle: number; afterKicks: number; afterStop: number; badHandle: { name: string; message: string } }>(
      ns, 'udp-child', 'poll-kick', String(base + 40),
    );
    t.equal(r.signal, null, 'the child was not killed (the idle handle did not keep the loop alive)');
    t.equal(r.status, 0, `child exits 0 (stderr: ${r.stderr})`);
    const o = r.report;
    if (!o) return t.fail('child printed no report');
    t.equal(o.idle, 0, 'an unreadable socket: no callback');
    t.equal(o.afterKicks, 2, 'three kicks gave one call, and the kick made inside it one more');
    t.equal(o.afterStop, 2, 'a kick after pollStop is ignored');
    t.equal(o.badHandle?.name, 'TypeError');
    t.match(o.badHandle?.message, /NativePoll/);
  });

  t.test('an exception in the poll callback reaches uncaughtException', async (t) => {
    const r = runChild<{ caught: string }>(ns, 'udp-child', 'poll-throw', String(base + 20));
    t.equal(r.status, 0, `child exits 0 (stderr: ${r.stderr})`);
    t.equal(r.report?.caught, 'boom from the poll callback');
  });

  t.test('polls left running are stopped at env teardown (a worker terminated with two running)', async (t) => {
    const r = runChild<{ first: string; exitCode: number }>(ns, 'udp-child', 'teardown', String(base + 30));
    t.equal(r.signal, null, 'no crash');
    t.equal(r.status, 0, `child exits 0 (stderr: ${r.stderr})`);
    t.equal(r.report?.first, 'polling');
    t.equal(r.report?.exitCode, 1, 'the worker was terminated');
  });
});
