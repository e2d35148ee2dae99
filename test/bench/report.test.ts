// SPDX-License-Identifier: Apache-2.0
// From a fixture result to the three files: medians/spreads per metric, the Markdown table,
// the SVG chart and the file names.
import t from 'tap';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { cell, failures, fmt, modeTable, renderMarkdown, udpCriterion } from '../../src/bench/markdown.js';
import { METRICS, metric, summarizeCells } from '../../src/bench/metrics.js';
import { localDate, resultBaseName, writeResultFiles } from '../../src/bench/report.js';
import { decades, esc, niceCeil, renderSvg } from '../../src/bench/svg.js';
import { fixtureResult } from './fixture.js';
import { heapRetention } from '../../src/bench/steady.js';

t.test('summarizeCells: medians and spread per mode, config and metric', async (t) => {
  const r = fixtureResult();
  const s = summarizeCells(r.cells);
  t.same(Object.keys(s).sort(), ['default', 'txoff']);
  t.same(s.txoff?.kernel?.tcp1_gbps, { median: 5, min: 4.5, max: 5.5, n: 3 });
  t.same(s.txoff?.vxtun?.rtt_p50_us, { median: 60, min: 54, max: 66, n: 3 });
  t.equal(s.default?.mixed?.tcp1_gbps?.n, 2, 'the failed rep is not counted');
  t.equal(s.txoff?.kernel?.tcp1_daemon_cpu_pct?.median, null, 'no forwarder in kernel cells');
  t.equal(s.txoff?.vxtun?.tcp1_daemon_cpu_pct?.median, 90, 'node1 + node2');
  t.equal(s.txoff?.vxtun?.udp_atref_loss_pct?.median, 5, '95 of 100 kpps delivered');
  t.equal(metric('tcp4_gbps').unit, 'Gbit/s');
  t.throws(() => metric('nope'));
  t.equal(new Set(METRICS.map((m) => m.id)).size, METRICS.length, 'metric ids are unique');
});

t.test('Markdown: one table per mode, median (min–max), ratio column, failures listed', async (t) => {
  const r = fixtureResult();
  const table = modeTable(r, 'txoff');
  const lines = table.split('\n');
  t.equal(lines[0], '| metric | kernel | vxtun | mixed | naive | vxtun/kernel | naive/kernel |');
  t.equal(lines[1], '|---|---:|---:|---:|---:|---:|---:|');
  t.ok(lines.includes('| RTT p50 (µs) | 20 (18–22) | 60 (54–66) | 40 (36–44) | 100 (90–110) | 3.00× | 5.00× |'), 'RTT row');
  t.ok(lines.includes('| RTT p50, pinger and forwarders on vCPU 0 (µs) | 10 (9–11) | 30 (27–33) | 20 (18–22) | 50 (45–55) | 3.00× | 5.00× |'), 'pinned RTT row');
  t.ok(lines.includes('| RTT p50, idle (pings 200 ms apart) (µs) | 80 (72–88) [2/3] | 240 (216–264) | 160 (144–176) | 400 (360–440) | 3.00× | 5.00× |'), 'idle RTT row, one kernel rep failed');
  t.ok(lines.indexOf('| RTT p99 (µs) | 80 (72–88) | 200 (180–220) | 150 (135–165) | 400 (360–440) | 2.50× | 5.00× |') < lines.findIndex((l) => l.startsWith('| RTT p50, idle')), 'idle rows follow the busy ones');
  t.ok(lines.includes('| TCP 1 stream (Gbit/s) | 5.00 (4.50–5.50) | 2.00 (1.80–2.20) | 2.50 (2.25–2.75) | 1.00 (0.90–1.10) | 0.40× | 0.20× |'), 'TCP row');
  t.ok(lines.includes('| UDP offered load (kernel max at <1 % loss) (kpps) | 100.0 | 100.0 | 100.0 | 100.0 |  |  |'), 'shared load: no ratio');
  t.ok(lines.some((l) => l.startsWith('| UDP delivered at that load (kpps) | 100.0 | 95.0 (85.5–104.5) |')), 'UDP at load row');
  t.ok(lines.includes('| forwarder processes during TCP 1 (% vCPU) | – | 90 (81–99) | 45 (41–50) | 90 (81–99) | – | – |'), 'forwarder CPU: vxtun and naivefwd, none for the kernel');
  const noNaive = fixtureResult();
  noNaive.plan = { ...noNaive.plan, configs: ['kernel', 'vxtun', 'mixed'] };
  t.equal(modeTable(noNaive, 'txoff').split('\n')[0], '| metric | kernel | vxtun | mixed | vxtun/kernel |', 'without the anchor: one ratio column');
  t.match(modeTable(r, 'default'), /\| TCP 1 stream \(Gbit\/s\) \| 10\.00 \(9\.00–11\.00\) \| 4\.00 \(3\.60–4\.40\) \| 4\.75 \(4\.50–5\.00\) \[2\/3\] \| 2\.00 \(1\.80–2\.20\) \| 0\.40× \| 0\.20× \|/, 'missing rep marked');
  t.match(udpCriterion(r, 'txoff') ?? '', /0\.95× at 5\.00 % loss: \*\*not met\*\*/);
  const md = renderMarkdown(r);
  t.match(md, /^# vxtun namespace bench, 2024-05-01\n/);
  t.match(md, /## Offloads off on the underlay .*primary figures/);
  t.match(md, /## Veth default offloads .*secondary figures/);
  t.ok(md.indexOf('primary figures') < md.indexOf('secondary figures'), 'txoff first');
  t.match(md, /- rep 3 default mixed tcp1: iperf3: unable to connect/);
  t.match(md, /\| node1 \| 81\.0 \| 12 \| not sampled \|/);
  t.match(md, /Heap: heap not sampled: `vxtun status --json` exited 2/);
  t.match(md, /\| node1 \| 50 \| 0 \/ 0 \| 4000000 \| 90000 \| 2 \| 0\.0005 \|/, 'retained growth (KiB) and per packet');
  t.match(md, /\| node2 \| 50 \| 3 \/ 0 \| 4000000 \| – \| – \| – \|/, 'not reported: dashes');
  t.match(md, /every sample follows a full collection/);
  t.match(md, /18-byte payloads \(60-byte inner frame\)/);
  t.match(md, /## Thread wakeups on this machine\n\nA sleeping thread woken on the waker's own vCPU: 2\.1 µs \(p99 15\.0 µs\) per wakeup; on another, idle vCPU: 50\.8 µs \(p99 170\.0 µs\)\./);
  t.notMatch(renderMarkdown({ ...r, wakeup: null }), /Thread wakeups/, 'no section without a probe');
  t.same(failures(r.cells), ['rep 2 txoff kernel rttIdle: no ping replies (50 sent)', 'rep 3 default mixed tcp1: iperf3: unable to connect to server: Connection timed out']);
  t.match(md, /RTT: 2000 pings every 2 ms, nearest-rank percentiles; idle RTT: 50 pings every 200 ms, so every process on the path sleeps between them\. TCP:/);
  t.match(renderMarkdown({ ...r, plan: { ...r.plan, idlePings: 0 } }), /RTT: 2000 pings every 2 ms, nearest-rank percentiles\. TCP:/, 'no idle pings: not described');
});

t.test('Markdown helpers', async (t) => {
  t.equal(fmt(null, 2), '–');
  t.equal(fmt(1.234, 1), '1.2');
  t.equal(cell(undefined, 1, 3), '–');
  t.equal(cell({ median: 2, min: 2, max: 2, n: 3 }, 1, 3), '2.0', 'no spread shown when min = max');
  t.equal(cell({ median: 2, min: 1, max: 3, n: 1 }, 0, 1), '2');
  const only = fixtureResult();
  only.plan = { ...only.plan, configs: ['vxtun', 'mixed'] };
  t.equal(modeTable(only, 'txoff').split('\n')[0], '| metric | vxtun | mixed |', 'no ratio column without kernel');
  t.equal(udpCriterion(only, 'txoff'), udpCriterion(fixtureResult(), 'txoff'), 'criterion reads the summary');
  const searched = fixtureResult();
  const c = searched.cells.find((x) => x.config === 'vxtun' && x.mode === 'txoff' && x.rep === 2);
  const u = c?.udp?.ok ? c.udp.value : undefined;
  if (!u) throw new Error('fixture has no vxtun udp cell');
  u.search = [{ ...u.unthrottled, offeredPps: 90_000 }, { ...u.unthrottled, offeredPps: 76_500 }];
  u.maxPassPps = null;
  t.same(failures(searched.cells).filter((f) => f.includes('offered rate')), ['rep 2 txoff vxtun udp: no offered rate down to 76.5 kpps had < 1 % loss']);
});

/** The first tag nesting problem in `xml`, or null when every element is closed in order. */
function unbalanced(xml: string): string | null {
  const stack: string[] = [];
  for (const m of xml.matchAll(/<(\/?)([a-zA-Z]+)[^>]*?(\/?)>/g)) {
    const [, close, name, selfClose] = m;
    if (selfClose) continue;
    if (!close) stack.push(name ?? '');
    else if (stack.pop() !== name) return `unexpected </${name}> at ${m.index}`;
  }
  return stack.length === 0 ? null : `unclosed <${stack.join('>, <')}>`;
}

t.test('SVG: well formed, one row per mode, deterministic, text escaped', async (t) => {
  const r = fixtureResult();
  const svg = renderSvg(r);
  t.equal(svg, renderSvg(fixtureResult()), 'same input, same SVG');
  t.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" width="960" height="\d+"/);
  t.ok(svg.trimEnd().endsWith('</svg>'));
  t.equal(unbalanced(svg), null, 'tags nest and close properly');
  t.equal((svg.match(/TCP throughput, /g) ?? []).length, 2, 'one TCP panel per mode');
  t.equal((svg.match(/<title>kernel 1 stream: 5 Gbit\/s<\/title>/g) ?? []).length, 1, 'txoff kernel TCP bar');
  t.match(svg, /<title>vxtun: p50 60 µs, p99 200 µs<\/title>/, 'RTT box');
  t.match(svg, /<title>vxtun idle \(200 ms apart\): p50 240 µs, p99 600 µs<\/title>/, 'idle RTT box beside it');
  t.equal((svg.match(/stroke-dasharray/g) ?? []).length, 8, 'one dashed idle box per config and mode');
  t.match(svg, /<title>naive: p50 100 µs, p99 400 µs<\/title>/, 'the anchor has its RTT box');
  t.equal((svg.match(/RTT p50–p99: 2 ms apart \| idle \(dashed\)/g) ?? []).length, 2, 'the RTT panels say which box is which');
  t.notMatch(svg, /NaN|undefined/);
  const one = fixtureResult();
  one.plan = { ...one.plan, modes: ['txoff'] };
  t.ok(Number(/height="(\d+)"/.exec(renderSvg(one))?.[1]) < Number(/height="(\d+)"/.exec(svg)?.[1]), 'fewer modes, shorter chart');
  const quick = fixtureResult();
  for (const byConfig of Object.values(quick.summary)) {
    for (const ids of Object.values(byConfig ?? {})) for (const id of ['rttidle_p50_us', 'rttidle_p99_us']) delete (ids as Record<string, unknown>)[id];
  }
  const quickSvg = renderSvg(quick);
  t.notMatch(quickSvg, /stroke-dasharray|idle/, 'a run without idle pings (--quick) draws no idle boxes');
  t.match(quickSvg, /<title>kernel: p50 20 µs, p99 80 µs<\/title>/, 'and keeps the 2 ms boxes');
  t.equal(unbalanced(quickSvg), null);
  t.equal(esc('a<b & "c">'), 'a&lt;b &amp; &quot;c&quot;&gt;');
  t.equal(niceCeil(4.3), 5);
  t.equal(niceCeil(0.21), 0.25);
  t.equal(niceCeil(101), 200);
  t.equal(niceCeil(0), 1);
  t.same(decades([14, 3340]), [10, 10000]);
  t.same(decades([100]), [100, 1000]);
  t.same(decades([]), [1, 10]);
});

t.test('file names and writing', async (t) => {
  t.equal(localDate(new Date(2024, 0, 5, 23, 59)), '2024-01-05');
  t.equal(resultBaseName('2024-05-01', false, () => false), '2024-05-01');
  t.equal(resultBaseName('2024-05-01', true, () => false), '2024-05-01-quick');
  const taken = new Set(['2024-05-01-quick', '2024-05-01-quick-2']);
  t.equal(resultBaseName('2024-05-01', true, (b) => taken.has(b)), '2024-05-01-quick-3');
  const dir = mkdtempSync(path.join(tmpdir(), 'vxtun-bench-report-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const r = fixtureResult();
  const when = new Date(2024, 4, 1, 12);
  const a = writeResultFiles(r, path.join(dir, 'out'), when);
  t.equal(path.basename(a.json), '2024-05-01.json');
  t.same(JSON.parse(readFileSync(a.json, 'utf8')), JSON.parse(JSON.stringify(r)), 'JSON round-trips');
  t.match(readFileSync(a.md, 'utf8'), /\| metric \| kernel \| vxtun \| mixed \| naive \| vxtun\/kernel \| naive\/kernel \|/);
  t.match(readFileSync(a.svg, 'utf8'), /^<svg /);
  const b = writeResultFiles(r, path.join(dir, 'out'), when);
  t.equal(path.basename(b.md), '2024-05-01-2.md', 'a second run the same day does not overwrite');
});

t.test('heapRetention: retained growth between the first and last sample after the warm-up, per packet at most', async (t) => {
  const st = (heapUsed: number, gcMinor: number, packets: number, heapOld?: number, batches?: number) =>
    ({ heapUsed, gcMinor, gcMajor: 0, packets, ...(heapOld !== undefined ? { heapOld } : {}), ...(batches !== undefined ? { batches } : {}) });
  const samples = [
    { t: 5, rssBytes: {}, heapUsedBytes: {}, status: { node1: st(100, 0, 10, 1, 1), node2: st(100, 0, 10) } },
    { t: 10, rssBytes: {}, heapUsedBytes: {}, status: { node1: st(1000, 1, 1000, 5000, 10), node2: st(1000, 4, 1000) } },
    { t: 15, rssBytes: {}, heapUsedBytes: {} },
    { t: 60, rssBytes: {}, heapUsedBytes: {}, status: { node1: st(3000, 1, 2_001_000, 4096, 40_010), node2: st(500, 9, 2_001_000) } },
  ];
  const b = heapRetention(samples, ['node1', 'node2', 'node3'], 10);
  t.same(b.node1, { seconds: 50, gcMinor: 0, gcMajor: 0, packets: 2_000_000, batches: 40_000, retainedGrowthBytes: -904, retainedPerPacket: 0 }, 'warm-up sample ignored; a shrinking heap keeps 0 per packet');
  t.equal(b.node2?.batches, null, 'batches not reported: null');
  t.equal(b.node2?.retainedGrowthBytes, null, 'old generation not reported: null');
  t.equal(b.node2?.retainedPerPacket, null);
  t.equal(b.node2?.gcMinor, 5);
  t.notOk('node3' in b, 'a node without samples is left out');
});
