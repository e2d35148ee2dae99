// SPDX-License-Identifier: Apache-2.0
/**
 * batchAttach validation and the checks every batch-taking function makes before it
 * touches a descriptor or a syscall (so none of this needs privileges).
 */
import t from 'tap';
import v8 from 'node:v8';
import vm from 'node:vm';
import { loadNative } from '../../src/native/load.js';
import { PacketBatch, VERDICT_TUN, VERDICT_UDP } from '../../src/dataplane/batch.js';
import type { NativeBatch, NativePoll } from '../../src/native/binding.js';

const native = loadNative();
// A descriptor number that is never open: any syscall on it would fail with EBADF.
const NO_FD = 2147483647;
const sendOptions = { srcIp: 0x7f000001, dstPort: 8472, ttl: 64, udpChecksum: true };

function arrays(capacity: number, slotSize = 256) {
  return {
    bytes: new Uint8Array(capacity * slotSize),
    off: new Uint32Array(capacity),
    len: new Uint32Array(capacity),
    addr: new Uint32Array(capacity),
    port: new Uint16Array(capacity),
    tos: new Uint8Array(capacity),
    verdict: new Uint8Array(capacity),
  };
}
type Arrays = ReturnType<typeof arrays>;
const attach = (a: Arrays, slotSize = 256, headroom = 64): NativeBatch =>
  native.batchAttach(a.bytes, slotSize, headroom, a.off, a.len, a.addr, a.port, a.tos, a.verdict);

t.test('batchAttach accepts a PacketBatch and returns one handle per batch', async (t) => {
  const b = new PacketBatch(8, 1500);
  const h = b.native(native);
  t.equal(typeof h, 'object');
  t.equal(b.native(native), h, 'cached by PacketBatch');
  t.ok(attach(arrays(4)), 'plain typed arrays work too');
});

t.test('batchAttach validates shapes and types, naming the argument', async (t) => {
  const a = arrays(4);
  t.throws(() => native.batchAttach(a.bytes, 256, 64, a.off, new Uint32Array(3), a.addr, a.port, a.tos, a.verdict), { name: 'RangeError', message: /^len\.length 3 must equal off\.length \(the capacity\) 4/ });
  t.throws(() => native.batchAttach(a.bytes, 256, 64, a.off, a.len, new Uint32Array(5), a.port, a.tos, a.verdict), { name: 'RangeError', message: /^addr\.length 5/ });
  t.throws(() => native.batchAttach(a.bytes, 256, 64, a.off, a.len, a.addr, new Uint16Array(1), a.tos, a.verdict), { name: 'RangeError', message: /^port\.length/ });
  t.throws(() => native.batchAttach(a.bytes, 256, 64, a.off, a.len, a.addr, a.port, new Uint8Array(2), a.verdict), { name: 'RangeError', message: /^tos\.length/ });
  t.throws(() => native.batchAttach(a.bytes, 256, 64, a.off, a.len, a.addr, a.port, a.tos, new Uint8Array(0)), { name: 'RangeError', message: /^verdict\.length/ });
  t.throws(() => native.batchAttach(new Uint8Array(4 * 256 - 1), 256, 64, a.off, a.len, a.addr, a.port, a.tos, a.verdict), { name: 'RangeError', message: /^bytes\.length 1023 is less than capacity 4 \* slotSize 256 = 1024/ });
  t.throws(() => native.batchAttach(a.bytes, 256, 256, a.off, a.len, a.addr, a.port, a.tos, a.verdict), { name: 'RangeError', message: /^headroom 256 must be less than slotSize 256/ });
  t.throws(() => native.batchAttach(a.bytes, 0, 0, a.off, a.len, a.addr, a.port, a.tos, a.verdict), { name: 'RangeError', message: /^slotSize/ });
  t.throws(() => native.batchAttach(a.bytes, 1.5, 0, a.off, a.len, a.addr, a.port, a.tos, a.verdict), { name: 'RangeError', message: /^slotSize/ });
  t.throws(() => native.batchAttach(a.bytes, 256, -1, a.off, a.len, a.addr, a.port, a.tos, a.verdict), { name: 'RangeError', message: /^headroom/ });
  const z = arrays(0);
  t.throws(() => native.batchAttach(z.bytes, 256, 64, z.off, z.len, z.addr, z.port, z.tos, z.verdict), { name: 'RangeError', message: /^off\.length 0/ });

  const bad = <T>(x: unknown): T => x as T;
  t.throws(() => native.batchAttach(bad('bytes'), 256, 64, a.off, a.len, a.addr, a.port, a.tos, a.verdict), { name: 'TypeError', message: /^bytes must be a Uint8Array/ });
  t.throws(() => native.batchAttach(a.bytes, bad('256'), 64, a.off, a.len, a.addr, a.port, a.tos, a.verdict), { name: 'TypeError', message: /^slotSize/ });
  t.throws(() => native.batchAttach(a.bytes, 256, 64, bad(new Uint16Array(4)), a.len, a.addr, a.port, a.tos, a.verdict), { name: 'TypeError', message: /^off must be a Uint32Array/ });
  t.throws(() => native.batchAttach(a.bytes, 256, 64, a.off, bad([0, 0, 0, 0]), a.addr, a.port, a.tos, a.verdict), { name: 'TypeError', message: /^len/ });
  t.throws(() => native.batchAttach(a.bytes, 256, 64, a.off, a.len, bad(new Int32Array(4)), a.port, a.tos, a.verdict), { name: 'TypeError', message: /^addr/ });
  t.throws(() => native.batchAttach(a.bytes, 256, 64, a.off, a.len, a.addr, bad(new Uint32Array(4)), a.tos, a.verdict), { name: 'TypeError', message: /^port must be a Uint16Array/ });
  t.throws(() => native.batchAttach(a.bytes, 256, 64, a.off, a.len, a.addr, a.port, bad(new Uint8ClampedArray(4)), a.verdict), { name: 'TypeError', message: /^tos/ });
  t.throws(() => native.batchAttach(a.bytes, 256, 64, a.off, a.len, a.addr, a.port, a.tos, bad(null)), { name: 'TypeError', message: /^verdict/ });
});

t.test('a handle that is not a NativeBatch is a TypeError', async (t) => {
  const fake = <T>(x: unknown): T => x as T;
  const b = new PacketBatch(2, 1500).native(native);
  for (const [what, v] of [['a plain object', {}], ['undefined', undefined], ['a number', 3], ['a typed array', new Uint8Array(8)]] as const) {
    t.throws(() => native.tunRead(0, fake(v), 1), { name: 'TypeError', message: /^batch must be a NativeBatch/ }, `tunRead with ${what}`);
    t.throws(() => native.tunWrite(NO_FD, fake(v), 1, 1), { name: 'TypeError', message: /^batch/ }, `tunWrite with ${what}`);
    t.throws(() => native.udpRecv(0, fake(v), 1), { name: 'TypeError', message: /^batch/ }, `udpRecv with ${what}`);
    t.throws(() => native.udpSend(NO_FD, fake(v), 1, 1, sendOptions), { name: 'TypeError', message: /^batch/ }, `udpSend with ${what}`);
  }
  // Handles are type-tagged: a batch is not a poll.
  t.throws(() => native.pollStop(fake<NativePoll>(b)), { name: 'TypeError', message: /^poll must be a NativePoll/ });
  t.throws(() => native.pollStop(fake<NativePoll>({})), { name: 'TypeError', message: /^poll/ });
  t.throws(() => native.pollStart(0, fake(undefined)), { name: 'TypeError', message: /^cb/ });
});

t.test('counts and packets are checked before any syscall', async (t) => {
  const pb = new PacketBatch(4, 1500);
  const b = pb.native(native);
  t.throws(() => native.tunRead(-1, b, 1), { name: 'RangeError', message: /^fd/ });
  t.throws(() => native.tunRead(0, b, -1), { name: 'RangeError', message: /^max/ });
  t.throws(() => native.udpRecv(0, b, 0.5), { name: 'RangeError', message: /^max/ });
  t.throws(() => native.tunWrite(NO_FD, b, 5, VERDICT_TUN), { name: 'RangeError', message: /^n must be an integer in 0\.\.4/ });
  t.throws(() => native.tunWrite(NO_FD, b, 1, 256), { name: 'RangeError', message: /^want/ });
  t.throws(() => native.udpSend(NO_FD, b, 5, VERDICT_UDP, sendOptions), { name: 'RangeError', message: /^n/ });

  // tunWrite: a selected packet outside bytes is a RangeError naming it; unselected ones are not checked.
  pb.fill(0, Buffer.alloc(100));
  pb.fill(1, Buffer.alloc(100));
  pb.verdict.set([VERDICT_TUN, VERDICT_TUN, 0, 0]);
  pb.len[1] = pb.bytes.length; // runs past the end
  pb.off[2] = 0xffffffff; // garbage, but not selected
  t.throws(() => native.tunWrite(NO_FD, b, 3, VERDICT_TUN), { name: 'RangeError', message: /^packet 1: off \d+ \+ len \d+ exceeds bytes length 6400/ });
  pb.len[1] = 100;
  t.equal(native.tunWrite(NO_FD, b, 3, VERDICT_TUN), 0, 'write failures (EBADF here) are skipped, not thrown');

  // udpSend: room for headers, inside bytes, and a datagram-sized length.
  pb.verdict.set([VERDICT_UDP, VERDICT_UDP, 0, 0]);
  pb.off[1] = 27;
  t.throws(() => native.udpSend(NO_FD, b, 2, VERDICT_UDP, sendOptions), { name: 'RangeError', message: /^packet 1 .*28-byte/ });
  pb.off[1] = pb.dataStart(1);
  pb.len[0] = pb.bytes.length;
  t.throws(() => native.udpSend(NO_FD, b, 2, VERDICT_UDP, sendOptions), { name: 'RangeError', message: /^packet 0 .*exceeds the bytes array/ });
  const big = new PacketBatch(1, 65535);
  big.fill(0, Buffer.alloc(65535 - 27));
  big.verdict[0] = VERDICT_UDP;
  t.throws(() => native.udpSend(NO_FD, big.native(native), 1, VERDICT_UDP, sendOptions), { name: 'RangeError', message: /^packet 0 .*65535/ });
  pb.len[0] = 100;
  const headroomBefore = Buffer.from(pb.bytes.subarray(0, pb.dataStart(0)));
  t.throws(() => native.udpSend(NO_FD, b, 2, VERDICT_UDP, { ...sendOptions, srcIp: 0 }), { name: 'RangeError', message: /srcIp/ });
  t.throws(() => native.udpSend(NO_FD, b, 2, VERDICT_UDP, { ...sendOptions, ttl: 256 }), { name: 'RangeError', message: /ttl/ });
  t.throws(() => native.udpSend(NO_FD, b, 2, VERDICT_UDP, { ...sendOptions, udpChecksum: 1 as unknown as boolean }), { name: 'TypeError', message: /udpChecksum/ });
  t.throws(() => native.udpSend(NO_FD, b, 2, VERDICT_UDP, undefined as unknown as typeof sendOptions), { name: 'TypeError', message: /^options/ });
  t.same(pb.bytes.subarray(0, pb.dataStart(0)), headroomBefore, 'a rejected call writes no headers');
  t.throws(() => native.udpSend(NO_FD, b, 2, VERDICT_UDP, sendOptions), { name: 'Error', code: 'EBADF', syscall: 'sendmmsg' }, 'a bad fd (not a kernel refusal of a packet) is thrown');
});

t.test('a batch whose memory was detached is refused, not read', async (t) => {
  const a = arrays(2);
  const b = attach(a);
  structuredClone(a.bytes.buffer, { transfer: [a.bytes.buffer] });
  t.equal(a.bytes.length, 0, 'bytes detached');
  t.throws(() => native.tunRead(0, b, 1), { name: 'TypeError', message: /bytes array was detached/ });
  t.throws(() => native.udpSend(NO_FD, b, 1, 1, sendOptions), { name: 'TypeError', message: /detached/ });
});

t.test('the handle keeps the arrays alive after the caller drops them', async (t) => {
  // Without references held by the handle, the arrays would be collected and the next call
  // would touch freed memory or see them detached.
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  const finalized = new Set<string>();
  const registry = new FinalizationRegistry<string>((what) => finalized.add(what));
  const collect = async (until: () => boolean): Promise<void> => {
    for (let i = 0; i < 200 && !until(); i++) {
      gc();
      await new Promise((r) => setImmediate(r));
    }
  };
  let h: NativeBatch | undefined = (() => {
    const a = arrays(2);
    registry.register(a.bytes, 'bytes');
    registry.register(a.verdict, 'verdict');
    a.bytes.fill(7);
    return attach(a);
  })();
  registry.register(h, 'handle');
  // A control object proves collections and finalization callbacks do happen here.
  registry.register({}, 'control');
  await collect(() => finalized.has('control'));
  t.ok(finalized.has('control'), 'the control object was collected');
  t.notOk(finalized.has('bytes') || finalized.has('verdict'), 'the arrays stay alive while the handle is');
  t.equal(native.tunWrite(NO_FD, h, 2, 1), 0, 'still usable');
  // Once the handle goes, its references are released and the arrays can be collected.
  h = undefined;
  await collect(() => finalized.has('bytes') && finalized.has('verdict'));
  t.ok(finalized.has('handle'), 'the handle was collected');
  t.ok(finalized.has('bytes') && finalized.has('verdict'), 'then the arrays (no leaked reference)');
});
