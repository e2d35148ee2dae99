// SPDX-License-Identifier: Apache-2.0
/**
 * UDP_GRO on the receive socket: the kernel (here over loopback, from a UDP_SEGMENT
 * sender) hands over runs of datagrams as one message; udpRecv with a GRO state must give
 * back exactly the datagrams sent, one per slot, in order, each with its sender, whether
 * the batch holds them all at once or must park some for later calls.
 */
import t from 'tap';
import { Netns, netnsSkipReason, uniqueSuffix } from '../../src/lab/netns.js';
import { runChild } from './fixtures/run-child.js';

const skip = netnsSkipReason();

interface Got { head: string; len: number; port: number; addr: number; calls: number }
interface Stats { pending: number; coalesced: number; segmentsOut: number; overflow: number }

/** What the sender sent, datagram by datagram: its first bytes, length and source port. */
function expected(base: number): Array<{ head: string; len: number; port: number }> {
  const out: Array<{ head: string; len: number; port: number }> = [];
  const seg = (k: number, j: number, len: number, port: number): void => {
    const head = Buffer.alloc(6); // the first 6 bytes: k, j, then the sender's pattern
    head[0] = k; head[1] = j;
    for (let i = 2; i < 6; i++) head[i] = (k * 5 + j * 3 + i - 2) & 0xff;
    out.push({ head: head.toString('hex'), len, port });
  };
  for (let j = 0; j < 10; j++) seg(0, j, 1000, base);
  seg(0, 10, 500, base);
  for (let j = 0; j < 3; j++) seg(1, j, 1000, base);
  seg(2, 0, 200, base + 1);
  for (let j = 0; j < 25; j++) seg(3, j, 1000, base);
  return out;
}

t.test('UDP_GRO receive over loopback', { skip: skip ?? false }, async (t) => {
  const ns = Netns.create(`vxtun-gro-${uniqueSuffix()}`);
  t.teardown(() => ns.delete());
  const r = runChild<{ on: boolean; big: Got[]; afterBig: Stats; small: Got[]; afterSmall: Stats }>(ns, 'offload-child', 'udpgro');
  t.equal(r.status, 0, `child exits 0 (stderr: ${r.stderr})`);
  const o = r.report;
  if (!o) return t.fail('child printed no report');
  t.equal(o.on, true, 'UDP_GRO accepted');
  const strip = (g: Got[]): Array<{ head: string; len: number; port: number }> => g.map(({ head, len, port }) => ({ head, len, port }));

  t.same(strip(o.big), expected(9100), 'a 64-slot batch: every datagram, in order, with its sender port');
  t.ok(o.big.every((g) => g.addr === 0x7f000001), 'sender address on every slot');
  t.equal(o.big.at(-1)?.calls, 1, 'all 40 from one udpRecv (4 messages split in place)');
  t.equal(o.afterBig.coalesced, 3, 'three coalesced messages');
  t.equal(o.afterBig.segmentsOut, 39, 'split into 11 + 3 + 25 datagrams');

  t.same(strip(o.small), expected(9200), 'an 8-slot batch: the same, across calls');
  t.ok((o.small.at(-1)?.calls ?? 0) >= 5, 'it took several calls');
  t.ok(o.afterSmall.overflow > 0, 'some messages were parked');
  t.equal(o.afterSmall.pending, 0, 'nothing left pending');
});
