// SPDX-License-Identifier: Apache-2.0
// Parsing the bench tools' output: iperf3 -J (a real capture, trimmed), iputils ping, and
// the JSON lines of udpblast/udpsink.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { parseBlast, parseIperf3, parsePing, parseSink } from '../../src/bench/parse.js';
import { fixturePath } from './fixture.js';
import { parseWakeup } from '../../src/bench/wakeup.js';

t.test('parseIperf3: end.sum_received is the throughput', async (t) => {
  const r = parseIperf3(readFileSync(fixturePath('iperf3-tcp.json'), 'utf8'));
  t.equal(r.receivedBps, 11612461441.690779);
  t.equal(r.sentBps, 11772572838.3056);
  t.equal(r.retransmits, 25);
  t.equal(r.seconds, 1.017472);
  t.equal(r.cpuSenderPct, 29.076104360382182);
  t.equal(r.cpuReceiverPct, 26.77438915921615);
});

t.test('parseIperf3: errors carry iperf3\'s reason', async (t) => {
  t.throws(() => parseIperf3(readFileSync(fixturePath('iperf3-refused.json'), 'utf8')), /iperf3: unable to connect to server: Connection refused/);
  t.throws(() => parseIperf3(''), /printed no JSON: \(nothing\)/);
  t.throws(() => parseIperf3('iperf3: error - some text'), /printed no JSON: iperf3: error/);
  t.throws(() => parseIperf3('{"end":{}}'), /no end.sum_received/);
  t.throws(() => parseIperf3('[1]'), /not an object/);
  const minimal = parseIperf3('{"end":{"sum_received":{"bits_per_second":1e9}}}');
  t.same(minimal, { receivedBps: 1e9, sentBps: 1e9, seconds: 0, retransmits: 0, cpuSenderPct: null, cpuReceiverPct: null }, 'optional fields default');
});

t.test('parsePing: per-packet times in µs and the summary', async (t) => {
  const out = `PING 10.244.2.2 (10.244.2.2) 56(84) bytes of data.
64 bytes from 10.244.2.2: icmp_seq=1 ttl=62 time=0.045 ms
64 bytes from 10.244.2.2: icmp_seq=2 ttl=62 time=0.021 ms
64 bytes from 10.244.2.2: icmp_seq=4 ttl=62 time=1.20 ms
64 bytes from 10.244.2.2: icmp_seq=5 ttl=62 time<0.001 ms

--- 10.244.2.2 ping statistics ---
5 packets transmitted, 4 received, 20% packet loss, time 9ms
rtt min/avg/max/mdev = 0.001/0.316/1.200/0.510 ms
`;
  const p = parsePing(out);
  t.same(p.rttUs, [45, 21, 1200, 1]);
  t.equal(p.transmitted, 5);
  t.equal(p.received, 4);
  t.same(parsePing('1 packets transmitted, 0 received, 100% packet loss').rttUs, []);
  t.throws(() => parsePing('ping: connect: Network is unreachable'), /no summary: ping: connect/);
});

t.test('parseWakeup: the JSON line of bench/tools/wakeup.c', async (t) => {
  t.same(parseWakeup('{"cpu_a":0,"cpu_b":1,"rounds":500,"rtt_p50_us":101.7,"rtt_p99_us":349.9}\n'),
    { cpuA: 0, cpuB: 1, rounds: 500, rttP50Us: 101.7, rttP99Us: 349.9 });
  t.throws(() => parseWakeup('cannot pin to cpu 1\n'), /wakeup printed no JSON line/);
  t.throws(() => parseWakeup('{"cpu_a":0,"cpu_b":1,"rounds":500,"rtt_p50_us":-1,"rtt_p99_us":2}'), /no valid rtt_p50_us/);
});

t.test('parseBlast / parseSink: the last JSON line wins, missing fields are errors', async (t) => {
  const b = parseBlast('warming up\n{"sent":1000,"errors":2,"seconds":1.000100,"offered_pps":1000.0,"sent_pps":999.9,"cpu_user_s":0.010,"cpu_sys_s":0.020}\n');
  t.same(b, { sent: 1000, errors: 2, seconds: 1.0001, offeredPps: 1000, sentPps: 999.9, cpuUserS: 0.01, cpuSysS: 0.02 });
  const s = parseSink('ready\n{"received":998,"bytes":17964,"active_seconds":0.998,"cpu_user_s":0.001,"cpu_sys_s":0.004}\n');
  t.same(s, { received: 998, bytes: 17964, activeSeconds: 0.998, cpuUserS: 0.001, cpuSysS: 0.004 });
  t.throws(() => parseSink('ready\n'), /udpsink printed no result line/);
  t.throws(() => parseBlast('{"sent":5}'), /no numeric "errors"/);
  t.throws(() => parseBlast('{broken'), /udpblast printed no result line/);
});
