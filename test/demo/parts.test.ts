// SPDX-License-Identifier: Apache-2.0
/**
 * The demo's parts that need no root: preflight refusals (one sentence each), the packet
 * decoder on a built VXLAN frame, and the progress printer off a TTY.
 */
import t from 'tap';
import { Writable } from 'node:stream';
import { preflight, which, TOOL_PACKAGES } from '../../src/demo/preflight.js';
import { decodeOuterFrame } from '../../src/demo/decode.js';
import { Progress, indent } from '../../src/demo/progress.js';
import { shellLine } from '../../src/demo/show.js';
import { outerFrame } from '../../src/daemon/capture.js';
import { buildTcpIpv4, buildVxlanFrame, TCP_SYN } from '../../src/packet/build.js';
import { parseIpv4 } from '../../src/packet/ipv4.js';

t.test('preflight refuses with one sentence', async (t) => {
  await t.rejects(preflight({ uid: 1000 }), { name: 'UsageError', message: /^vxtun demo needs root: .*sudo/ });
  await t.rejects(preflight({ uid: 0, tunPath: '/nonexistent/net/tun' }), { name: 'UsageError', message: /^\/nonexistent\/net\/tun is missing: load the tun module/ });
  await t.rejects(preflight({ uid: 0, tunPath: '/dev/null', tools: ['vxtun-no-such-tool'], install: false }),
    { name: 'UsageError', message: 'missing tools: vxtun-no-such-tool (package vxtun-no-such-tool): install them and run the demo again' });
  t.equal(TOOL_PACKAGES.ip, 'iproute2');
  t.ok(which('sh') !== null, 'finds sh on PATH');
  t.equal(which('vxtun-no-such-tool'), null);
});

t.test('decodeOuterFrame: the seed\'s packet, from vxtun\'s own codecs', async (t) => {
  const inner = buildTcpIpv4({ src: '10.244.3.2', dst: '10.244.2.2', sport: 59712, dport: 8080, seq: 0, ack: 0, flags: TCP_SYN, ttl: 63 });
  const vx = buildVxlanFrame({ vni: 1, innerDstMac: '02:f1:00:00:00:02', innerSrcMac: '02:f1:00:00:00:03', inner });
  const d = decodeOuterFrame(outerFrame(vx, parseIpv4('192.168.50.3'), parseIpv4('192.168.50.2'), 57456, 8472));
  t.match(d, { outerSrc: '192.168.50.3', outerDst: '192.168.50.2', srcPort: 57456, dstPort: 8472, udpChecksumGood: true, vni: 1,
    innerSrcMac: '02:f1:00:00:00:03', innerDstMac: '02:f1:00:00:00:02', innerSrc: '10.244.3.2', innerDst: '10.244.2.2' });
  t.match(d.lines.join('\n'), /User Datagram Protocol, Src Port: 57456, Dst Port: 8472, checksum 0x[0-9a-f]{4} good/);
  t.match(d.lines.join('\n'), /Flags: 0x0800, VXLAN Network ID \(VNI\)\n {4}VXLAN Network Identifier \(VNI\): 1/);
  t.match(d.lines.at(-1), /Transmission Control Protocol, Src Port: 59712, Dst Port: 8080, Seq: 0, Flags: \[SYN\], Len: 0, checksum good/);
  const broken = outerFrame(Buffer.from('0900000000000100', 'hex'), 1, 2, 3, 8472);
  t.throws(() => decodeOuterFrame(broken), /VXLAN: bad-flags/);
});

t.test('Progress off a TTY: plain start and end lines, failures marked', async (t) => {
  let text = '';
  const out = new Writable({ write(c, _e, cb) { text += String(c); cb(); } });
  const p = new Progress(out, 2, false);
  t.equal(await p.step('first', async () => 42), 42);
  await t.rejects(p.step('second', async () => { throw new Error('boom'); }), /boom/);
  t.match(text, /^… \[1\/2\] first\n✓ \[1\/2\] first \(\d+\.\d s\)\n… \[2\/2\] second\n✗ \[2\/2\] second: boom\n$/);
  t.equal(indent('a\n\nb\n', 2), '  a\n\n  b');
  t.equal(shellLine(['vxtun', 'capture', '-w', '/tmp/x y.pcap']), "vxtun capture -w '/tmp/x y.pcap'");
});
