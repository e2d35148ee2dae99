// SPDX-License-Identifier: Apache-2.0
/**
 * The addon's TUN side against the real kernel, inside a namespace this test creates. The
 * TUN work happens in a child started with `ip netns exec` (node cannot setns); it reports
 * what it saw and this file asserts.
 */
import t from 'tap';
import { loadNative } from '../../src/native/load.js';
import { Netns, netnsSkipReason, uniqueSuffix } from '../../src/lab/netns.js';
import { runChild, runChildUnprivileged } from './fixtures/run-child.js';

const native = loadNative();
const skip = netnsSkipReason();

const ip = (a: string): number => a.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);

t.test('argument checks need no privileges', async (t) => {
  t.throws(() => native.tunOpen('a-name-of-16-byt'), { name: 'RangeError', message: /name/ });
  t.throws(() => native.tunOpen(42 as unknown as string), { name: 'TypeError', message: /name/ });
  t.throws(() => native.tunOpen('vx0', { multiQueue: 'yes' as unknown as boolean }), { name: 'TypeError', message: /multiQueue/ });
  t.throws(() => native.linkSetMtu('', 1400), { name: 'RangeError', message: /name/ });
  t.throws(() => native.linkSetMtu('vx0', -1), { name: 'RangeError', message: /mtu/ });
  t.throws(() => native.linkGetMtu('x'.repeat(20)), { name: 'RangeError', message: /name/ });
  t.throws(() => native.close(-1), { name: 'RangeError', message: /fd/ });
});

t.test('TUN in a namespace', { skip: skip ?? false }, async (t) => {
  const ns = Netns.create(`vxtun-tun-${uniqueSuffix()}`);
  t.teardown(() => ns.delete());

  t.test('open, MTU, up, read what the kernel routes, write what it answers', async (t) => {
    const r = runChild<{
      open: { fd: number; name: string };
      templateName: string;
      getMtu: number;
      ipLink: { mtu: number; operstate: string; flags: string[] };
      udpRead: { n: number; version: number; dst: number; src: number; dstPort: number; payload: string; badDescriptors?: number } | null;
      clampFirst: number;
      clampSecond: number;
      written: number;
      replies: Array<{ id: number; seq: number; type: number; src: number; dst: number; payload: string; icmpChecksumOk: boolean }>;
      noSuchLink: { name: string; message: string; code: string } | null;
      readClosed: { fd: number; error: { message: string; code: string; syscall: string } | null };
    }>(ns, 'tun-child', 'basic');
    t.equal(r.status, 0, `child exits 0 (stderr: ${r.stderr})`);
    const o = r.report;
    if (!o) return t.fail('child printed no report');
    t.type(o.open.fd, 'number');
    t.ok(o.open.fd >= 0, 'tunOpen returns a fd');
    t.equal(o.open.name, 'vxt0');
    t.match(o.templateName, /^vxt\d+$/, 'a template name is expanded by the kernel');
    t.not(o.templateName, 'vxt0', 'and does not collide with the existing vxt0');
    t.equal(o.getMtu, 1400, 'linkGetMtu reads back linkSetMtu');
    t.equal(o.ipLink.mtu, 1400, 'ip link shows the MTU');
    t.ok(o.ipLink.flags.includes('UP'), `ip link shows flag UP (${o.ipLink.flags.join(',')})`);
    t.ok(['UP', 'UNKNOWN'].includes(o.ipLink.operstate), `operstate ${o.ipLink.operstate}`);

    t.ok(o.udpRead, 'tunRead returned the datagram routed to 10.9.0.2');
    t.notOk(o.udpRead?.badDescriptors, 'off[i] is slot start + headroom');
    t.equal(o.udpRead?.version, 4);
    t.equal(o.udpRead?.dst, ip('10.9.0.2'));
    t.equal(o.udpRead?.src, ip('10.9.0.1'));
    t.equal(o.udpRead?.dstPort, 9999);
    t.equal(o.udpRead?.payload, 'hello from the kernel side');

    t.equal(o.clampFirst, 4, 'max above capacity reads capacity packets');
    t.ok(o.clampSecond >= 2, `the rest stays pending (${o.clampSecond})`);

    t.equal(o.written, 1, 'tunWrite writes only the packet with the wanted verdict');
    const reply = o.replies.find((x) => x.id === 0x1234);
    t.ok(reply, 'the kernel answered the echo request we wrote');
    t.equal(reply?.type, 0, 'echo reply');
    t.equal(reply?.seq, 7);
    t.equal(reply?.src, ip('10.9.0.1'));
    t.equal(reply?.dst, ip('10.9.0.2'));
    t.equal(reply?.payload, 'vxtun echo');
    t.equal(reply?.icmpChecksumOk, true);
    t.notOk(o.replies.some((x) => x.id === 0x9999), 'the DROP packet was not written');

    t.equal(o.noSuchLink?.code, 'ENODEV');
    t.match(o.noSuchLink?.message, /no such interface: vxnosuch0/);
    t.equal(o.readClosed.error?.code, 'EBADF', 'reading a closed fd throws');
    t.match(o.readClosed.error?.message, new RegExp(`read from TUN fd ${o.readClosed.fd}\\b`));
    t.equal(o.readClosed.error?.syscall, 'read');
  });

  t.test('a non-TUN device of that name is refused, naming it', async (t) => {
    // A dummy link where the kernel has the module, else a veth (both are not TUN devices).
    const made = [['dummy'], ['veth', 'peer', 'name', 'vxdum1'], ['bridge']].some((kind) => {
      try {
        ns.ip('link', 'add', 'vxdum0', 'type', ...kind);
        return true;
      } catch {
        return false;
      }
    });
    if (!made) return t.fail('could not create a non-TUN link (dummy, veth or bridge) named vxdum0');
    const r = runChild<{ error?: { name: string; message: string; code: string; syscall: string }; opened?: unknown }>(ns, 'tun-child', 'nontun');
    t.equal(r.status, 0, `child exits 0 (stderr: ${r.stderr})`);
    t.notOk(r.report?.opened, 'tunOpen did not attach to a dummy link');
    t.match(r.report?.error?.message, /vxdum0/);
    t.match(r.report?.error?.message, /already exists and is not a TUN/);
    t.equal(r.report?.error?.code, 'EINVAL');
    t.equal(r.report?.error?.syscall, 'ioctl(TUNSETIFF)');
  });

  t.test('vnetHdr and multiQueue are passed to the kernel', async (t) => {
    type Info = { vnet_hdr: boolean; multi_queue: boolean; numqueues: number } | null;
    const r = runChild<{ a: { fd: number; name: string }; b: { fd: number; name: string }; v: { name: string }; mq: Info; vh: Info; singleOnMq: { message?: string; code?: string; opened?: boolean } }>(
      ns, 'tun-child', 'flags',
    );
    t.equal(r.status, 0, `child exits 0 (stderr: ${r.stderr})`);
    const o = r.report;
    if (!o) return t.fail('child printed no report');
    t.equal(o.a.name, 'vxmq0');
    t.equal(o.b.name, 'vxmq0', 'a second multiqueue open attaches to the same device');
    t.not(o.a.fd, o.b.fd);
    t.equal(o.mq?.multi_queue, true);
    t.equal(o.mq?.numqueues, 2, 'two queues attached');
    t.equal(o.mq?.vnet_hdr, false);
    t.equal(o.v.name, 'vxvh0');
    t.equal(o.vh?.vnet_hdr, true);
    t.equal(o.vh?.multi_queue, false);
    t.equal(o.singleOnMq.code, 'EINVAL', 'a single-queue open of a multiqueue device is refused');
    t.match(o.singleOnMq.message, /vxmq0/);
  });

  t.test('without privileges the errors say what is missing', async (t) => {
    type E = { ok?: unknown; name?: string; message?: string; code?: string; syscall?: string };
    const r = runChildUnprivileged<Record<string, E> & { uid: number }>(ns, 'tun-child', 'unprivileged');
    t.equal(r.status, 0, `child exits 0 (stderr: ${r.stderr})`);
    const o = r.report;
    if (!o) return t.fail('child printed no report');
    t.equal(o.uid, 65534, 'ran as nobody');
    // EACCES where /dev/net/tun is root-only, else EPERM from TUNSETIFF.
    t.ok(['EPERM', 'EACCES'].includes(o.tunOpen?.code ?? ''), `tunOpen refused (${o.tunOpen?.code})`);
    t.match(o.tunOpen?.message, /vxt0.*needs CAP_NET_ADMIN/);
    t.equal(o.rawOpen?.code, 'EPERM');
    t.match(o.rawOpen?.message, /raw socket needs CAP_NET_RAW/);
    t.equal(o.linkSetMtu?.code, 'EPERM');
    t.match(o.linkSetMtu?.message, /\blo\b.*needs CAP_NET_ADMIN/);
    t.equal(o.linkSetUp?.code, 'EPERM');
    t.equal(o.linkSetUp?.syscall, 'ioctl(SIOCSIFFLAGS)');
    t.same(o.linkGetMtu, { ok: 65536 }, 'reading an MTU needs no privilege');
    t.same(o.udpOpenBuffers, { ok: true }, 'buffer sizes fall back to SO_RCVBUF/SO_SNDBUF');
    t.equal(o.udpOpenLowPort?.code, 'EACCES');
    t.match(o.udpOpenLowPort?.message, /UDP port 80 needs CAP_NET_BIND_SERVICE/);
    t.equal(o.udpOpenForeignIp?.code, 'EADDRNOTAVAIL');
    t.match(o.udpOpenForeignIp?.message, /address 10\.1\.2\.3 is not assigned to any interface/);
  });
});
