// SPDX-License-Identifier: Apache-2.0
/**
 * The `vxtun capture` binary against a control server in this process (memory seams, no
 * root): -w FILE with --count, -w - (stdout carries only pcap), --inner --filter, Ctrl-C,
 * usage errors and no daemon (exit 2, no empty file left).
 */
import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { startControlServer } from '../../src/daemon/control.js';
import { silentLogger } from '../../src/daemon/log.js';
import { VXTUN_BIN } from '../../src/lab/vxtun.js';
import { readPcap, readPcapFile } from '../../src/pcap/reader.js';
import { LINKTYPE_ETHERNET, LINKTYPE_RAW } from '../../src/pcap/format.js';
import { RecordCounter } from '../../src/cli/capture.js';
import { encodeGlobalHeader } from '../../src/pcap/format.js';
import { encodeRecord } from '../../src/pcap/writer.js';
import { buildIcmpEcho } from '../../src/packet/build.js';
import { decodeIpv4, ipToString } from '../../src/packet/ipv4.js';
import { memoryPair, settle, tempDir } from '../daemon/fixtures/memory-vtep.js';

interface Run { child: ChildProcess; stdout: Buffer[]; stderr(): string; started: Promise<void>; exit: Promise<number | null> }

function start(args: string[]): Run {
  const child = spawn(process.execPath, [VXTUN_BIN, 'capture', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const stdout: Buffer[] = [];
  let err = '';
  let onStart!: () => void;
  const started = new Promise<void>((r) => { onStart = r; });
  child.stdout!.on('data', (d: Buffer) => stdout.push(d));
  child.stderr!.on('data', (d: Buffer) => { err += d.toString(); if (/capturing/.test(err)) onStart(); });
  const exit = new Promise<number | null>((r) => child.once('exit', (code) => { onStart(); r(code); }));
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  child.once('exit', () => clearTimeout(timer));
  return { child, stdout, stderr: () => err, started, exit };
}

async function setup(t: { teardown(fn: () => unknown): void }) {
  const pair = memoryPair();
  const tmp = tempDir('vxtun-capcli-');
  const srv = await startControlServer({ path: path.join(tmp.dir, 'a.sock'), source: pair.a.source, log: silentLogger() });
  t.teardown(async () => { await srv.close(); pair.close(); tmp.remove(); });
  const traffic = async (k: number) => {
    for (let i = 0; i < k; i++) pair.a.tun.inject(buildIcmpEcho({ src: '10.244.1.2', dst: `10.244.2.${2 + (i % 2)}`, id: 5, seq: i }));
    await settle();
  };
  return { ...pair, srv, tmp, traffic };
}

t.test('-w FILE --count 3: outer pcap, summary on stderr', async (t) => {
  const { srv, tmp, traffic } = await setup(t);
  const file = path.join(tmp.dir, 'out.pcap');
  const r = start(['--outer', '--count', '3', '-w', file, '--socket', srv.path]);
  await r.started;
  t.match(r.stderr(), /capturing outer packets on flannel\.1, stopping after 3/);
  await traffic(5);
  t.equal(await r.exit, 0, r.stderr());
  t.match(r.stderr(), /3 packets written to .*out\.pcap/);
  const p = readPcapFile(file);
  t.equal(p.linkType, LINKTYPE_ETHERNET);
  t.equal(p.records.length, 3);
  const umask = process.umask(0); process.umask(umask);
  t.equal(statSync(file).mode & 0o777, 0o644 & ~umask, 'mode 0644 (less the umask)');
});

t.test('-w - --inner --filter: stdout is nothing but the pcap', async (t) => {
  const { srv, traffic } = await setup(t);
  const r = start(['--inner', '--filter', '10.244.2.3/32', '--count', '2', '-w', '-', '--socket', srv.path]);
  await r.started;
  await traffic(6);
  t.equal(await r.exit, 0, r.stderr());
  const p = readPcap(Buffer.concat(r.stdout), 'stdout');
  t.equal(p.linkType, LINKTYPE_RAW);
  t.same(p.records.map((x) => { const d = decodeIpv4(x.data, 0, x.data.length); return d.ok ? ipToString(d.dst) : d.reason; }), ['10.244.2.3', '10.244.2.3']);
  t.match(r.stderr(), /2 packets written to stdout/);
});

t.test('Ctrl-C ends a capture without --count cleanly', async (t) => {
  const { srv, tmp, traffic } = await setup(t);
  const file = path.join(tmp.dir, 'int.pcap');
  const r = start(['-w', file, '--socket', srv.path]);
  await r.started;
  await traffic(2);
  for (let i = 0; i < 200; i++) {
    try { if (readPcapFile(file).records.length === 2) break; } catch { /* header not flushed yet */ }
    await new Promise((res) => setTimeout(res, 25));
  }
  r.child.kill('SIGINT');
  t.equal(await r.exit, 0, r.stderr());
  t.match(r.stderr(), /2 packets written/);
  t.equal(readPcapFile(file).records.length, 2);
  for (let i = 0; i < 100 && srv.capture.size > 0; i++) await settle(1);
  t.equal(srv.capture.size, 0, 'the daemon ended the session');
});

t.test('usage errors and no daemon: exit 2, one sentence, no file left', async (t) => {
  const { srv, tmp } = await setup(t);
  const both = start(['--inner', '--outer', '-w', '-', '--socket', srv.path]);
  t.equal(await both.exit, 2);
  t.match(both.stderr(), /choose one of --inner and --outer/);
  const now = start(['--socket', srv.path]);
  t.equal(await now.exit, 2);
  t.match(now.stderr(), /-w FILE, or -w - for stdout/);
  const zero = start(['--count', '0', '-w', '-', '--socket', srv.path]);
  t.equal(await zero.exit, 2);
  t.match(zero.stderr(), /positive integer/);
  const badFilter = start(['--filter', 'nope', '-w', '-', '--socket', srv.path]);
  t.equal(await badFilter.exit, 2);
  t.match(badFilter.stderr(), /refused the capture: capture filter "nope"/);
  const file = path.join(tmp.dir, 'never.pcap');
  const none = start(['-w', file, '--socket', path.join(tmp.dir, 'none.sock')]);
  t.equal(await none.exit, 2);
  t.match(none.stderr(), /^vxtun: no vxtun running: cannot connect to .*none\.sock\n$/);
  t.notOk(existsSync(file), 'no empty pcap left behind');
});

t.test('RecordCounter counts records across arbitrary chunking', async (t) => {
  const stream = Buffer.concat([encodeGlobalHeader(1, 65535), encodeRecord(Buffer.alloc(50, 1), 1, undefined, 65535),
    encodeRecord(Buffer.alloc(0), 2, undefined, 65535), encodeRecord(Buffer.alloc(7, 2), 3, undefined, 65535)]);
  for (const size of [1, 3, 16, 17, 1000]) {
    const c = new RecordCounter();
    for (let i = 0; i < stream.length; i += size) c.push(stream.subarray(i, i + size));
    t.equal(c.records, 3, `chunks of ${size}`);
  }
  const partial = new RecordCounter();
  partial.push(stream.subarray(0, stream.length - 1));
  t.equal(partial.records, 2, 'an incomplete record is not counted');
});
