// SPDX-License-Identifier: Apache-2.0
// Root-only smoke test of the bench's own tools: compile udpblast/udpsink with cc, run them
// for about a second between two fresh namespaces joined by a veth, and check the sink
// counted what the blaster sent at a low, paced rate. The namespaces are removed after.
import t from 'tap';
import { netnsSkipReason, Netns, uniqueSuffix, vethPair } from '../../src/lab/netns.js';
import { collect, stopChild, waitForOutput } from '../../src/lab/proc.js';
import { parseBlast, parseSink } from '../../src/bench/parse.js';
import { buildTools, which } from '../../src/bench/tools.js';
import { measureWakeups } from '../../src/bench/wakeup.js';
import { cpus } from 'node:os';

const skip = netnsSkipReason() ?? (which('cc') === null ? 'needs a C compiler (cc): apt-get install build-essential' : null);

t.test('udpblast → udpsink over a veth between two namespaces', { skip: skip ?? false }, async (t) => {
  const tools = buildTools();
  const id = uniqueSuffix();
  const made: Netns[] = [];
  t.teardown(() => {
    for (const ns of made) ns.delete();
    tools.remove();
  });
  const a = Netns.create(`vxbt-${id}-a`);
  made.push(a);
  const b = Netns.create(`vxbt-${id}-b`);
  made.push(b);
  vethPair(a, 'eth0', b, 'eth0');
  a.ip('addr', 'add', '10.99.0.1/30', 'dev', 'eth0');
  b.ip('addr', 'add', '10.99.0.2/30', 'dev', 'eth0');
  a.ip('link', 'set', 'eth0', 'up');
  b.ip('link', 'set', 'eth0', 'up');

  t.match(a.tryExec(tools.udpblast).stderr, /usage: udpblast/, 'udpblast without arguments prints its usage');
  t.equal(a.tryExec(tools.udpblast).status, 2);

  const sink = b.spawn([tools.udpsink, '-p', '9100', '-t', '20']);
  const sinkDone = collect(sink, 30_000);
  await waitForOutput(sink, sink.stdout, /ready/, 5000);
  const blast = await collect(a.spawn([tools.udpblast, '-d', '10.99.0.2', '-p', '9100', '-s', '18', '-t', '1', '-r', '2000', '-b', '16']), 15_000);
  t.equal(blast.status, 0, blast.stderr);
  await new Promise((r) => setTimeout(r, 200));
  await stopChild(sink, 'SIGTERM');
  const sinkOut = await sinkDone;
  const sent = parseBlast(blast.stdout);
  const got = parseSink(sinkOut.stdout);
  t.ok(sent.seconds >= 1 && sent.seconds < 1.5, `ran about 1 s (${sent.seconds})`);
  t.ok(sent.sent >= 1800 && sent.sent <= 2100, `paced near 2000 pps (${sent.sent} sent)`);
  t.equal(sent.offeredPps, 2000);
  t.equal(sent.errors, 0, 'no send errors');
  t.equal(got.received, sent.sent, 'the sink counted every datagram sent');
  t.equal(got.bytes, sent.sent * 18, '18-byte payloads');
  t.ok(got.activeSeconds > 0.8, `datagrams spread over the second (${got.activeSeconds} s)`);

  // The wakeup probe: a real ping-pong between two pinned processes, parsed as the bench does.
  t.equal(a.tryExec(tools.wakeup).status, 2, 'wakeup without arguments: usage, exit 2');
  const w = await measureWakeups(tools.wakeup, cpus().length, 50);
  t.equal(w.sameCpu.rounds, 50);
  t.ok(w.sameCpu.rttP50Us > 0 && w.sameCpu.rttP99Us >= w.sameCpu.rttP50Us, `same-vCPU round trip measured (${w.sameCpu.rttP50Us} µs)`);
  if (cpus().length > 1) t.equal(w.crossCpu?.cpuB, 1, 'the cross-vCPU run pins the partner to vCPU 1');
  else t.equal(w.crossCpu, null);
});
