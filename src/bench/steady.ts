// SPDX-License-Identifier: Apache-2.0
/**
 * The steady-state run: vxtun on both nodes (txoff), a constant load for N seconds (iperf3
 * TCP paced with -b plus small UDP at a fixed rate), sampling each vxtun's RSS every second
 * from /proc/<pid>/status and its V8 heap every 5 s from `vxtun status --json --gc` when that
 * command exists and reports it. Reports RSS max and the RSS/heap slopes after a 10 s warm-up.
 *
 * Why a full GC before each heap sample (the daemons run with --expose-gc): without it the
 * heap figures mix what is retained with garbage not yet collected. Node allocates a small
 * object per event-loop iteration, so a busy daemon scavenges every second or so even though
 * it allocates nothing per packet, and V8 promotes some control-plane garbage (timers,
 * child processes) into the old generation, where it waits for a full collection that may
 * not come within a minute. After a full GC the heap holds only what is retained: flat
 * means nothing per packet (or per anything) accumulates.
 */
import { collect, execAsync, sleep, stopChild } from '../lab/proc.js';
import { VXTUN_BIN } from '../lab/vxtun.js';
import { buildBed, type BenchBed } from './bed.js';
import { startReady } from './measure.js';
import { parseBlast, parseIperf3, parseSink } from './parse.js';
import { readRss } from './procfs.js';
import type { HeapRetention, StatusSample, SteadyResult } from './result.js';
import { slope } from './stats.js';

/** The first numeric `key` anywhere inside `doc` (depth-first), or null. */
export function findNumber(doc: unknown, key: string): number | null {
  if (typeof doc !== 'object' || doc === null) return null;
  const o = doc as Record<string, unknown>;
  if (typeof o[key] === 'number' && Number.isFinite(o[key])) return o[key] as number;
  for (const v of Object.values(o)) {
    const found = findNumber(v, key);
    if (found !== null) return found;
  }
  return null;
}

/** Memory and packet counters of the vxtun on `bed` node `node` via `vxtun status --json`; throws with the reason when unavailable. */
async function statusSample(bed: BenchBed, node: string): Promise<StatusSample> {
  const n = node === 'node1' ? bed.node1 : bed.node2;
  // The lab gives every node its own control socket (when this vxtun has one).
  const files = bed.files as { controlSocket?: (x: typeof n) => string };
  const socket = typeof files.controlSocket === 'function' ? ['--socket', files.controlSocket(n)] : [];
  const r = await execAsync(n.ns.argv(process.execPath, VXTUN_BIN, 'status', '--json', '--gc', ...socket), 5000);
  if (r.status !== 0) throw new Error(`\`vxtun status --json\` exited ${r.status}: ${r.stderr.trim().split('\n')[0] ?? ''}`);
  let doc: unknown;
  try { doc = JSON.parse(r.stdout); } catch { throw new Error('`vxtun status --json` printed no JSON'); }
  const get = (key: string): number => {
    const v = findNumber(doc, key);
    if (v === null) throw new Error(`\`vxtun status --json\` reports no ${key}`);
    return v;
  };
  const batches = (doc as { batches?: { encap?: unknown; decap?: unknown } }).batches;
  const sample: StatusSample = { heapUsed: get('heapUsed'), gcMinor: get('gcMinor'), gcMajor: get('gcMajor'), packets: get('tunRxPackets') + get('udpRxPackets') };
  const heapOld = findNumber(doc, 'heapOld');
  if (heapOld !== null) sample.heapOld = heapOld;
  if (typeof batches?.encap === 'number' && typeof batches.decap === 'number') sample.batches = batches.encap + batches.decap;
  return sample;
}

/** What each node retained, from its first and last status samples at t ≥ warmup. */
export function heapRetention(samples: SteadyResult['samples'], nodes: string[], warmup: number): Record<string, HeapRetention> {
  const out: Record<string, HeapRetention> = {};
  for (const node of nodes) {
    const pts = samples.filter((s) => s.t >= warmup && s.status?.[node] !== undefined);
    if (pts.length < 2) continue;
    const a = pts[0]!;
    const b = pts[pts.length - 1]!;
    const sa = a.status![node]!;
    const sb = b.status![node]!;
    const gcMinor = sb.gcMinor - sa.gcMinor;
    const gcMajor = sb.gcMajor - sa.gcMajor;
    const packets = sb.packets - sa.packets;
    const grown = sa.heapOld !== undefined && sb.heapOld !== undefined ? sb.heapOld - sa.heapOld : null;
    out[node] = {
      seconds: Math.round((b.t - a.t) * 10) / 10, gcMinor, gcMajor, packets,
      batches: sa.batches !== undefined && sb.batches !== undefined ? sb.batches - sa.batches : null,
      retainedGrowthBytes: grown,
      retainedPerPacket: grown !== null && packets > 0 ? Math.max(0, grown) / packets : null,
    };
  }
  return out;
}

/** Per-node slope in KiB/min of the samples taken at t ≥ warmup seconds. */
function slopes(samples: SteadyResult['samples'], nodes: string[], field: 'rssBytes' | 'heapUsedBytes', warmup: number): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  for (const node of nodes) {
    const pts = samples.filter((s) => s.t >= warmup && typeof s[field][node] === 'number');
    const k = slope(pts.map((s) => s.t), pts.map((s) => s[field][node] as number));
    out[node] = Number.isFinite(k) ? Math.round((k * 60) / 1024) : null;
  }
  return out;
}

/**
 * Runs the steady-state test for `seconds` with iperf3 paced at `tcpBps` and udpblast at
 * `udpPps` (`udpPayload`-byte datagrams). Never rejects: a failure is reported in `error` with whatever was sampled.
 */
export async function runSteady(tools: { udpblast: string; udpsink: string }, seconds: number, tcpBps: number, udpPps: number, udpPayload: number, tick?: (s: string) => void): Promise<SteadyResult> {
  const res: SteadyResult = { seconds, load: { tcpBps, udpPps }, samples: [], rssMaxBytes: {}, rssSlopeKiBPerMin: {}, heapSlopeKiBPerMin: null, heapNote: null, tcpGbps: null, udpLoss: null };
  let bed: BenchBed | undefined;
  try {
    bed = await buildBed('vxtun', 'txoff', { vxtunEnv: { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --expose-gc`.trim() } });
    const b = bed;
    const srv = await startReady(() => b.server.spawn(['iperf3', '-s', '-1', '-p', '5201', '--forceflush']), /Server listening/, (seconds + 60) * 1000);
    const sink = await startReady(() => b.server.spawn([tools.udpsink, '-p', '9000', '-t', String(seconds + 30)]), /ready/, (seconds + 60) * 1000);
    const tcp = collect(b.client.spawn(['iperf3', '-c', b.server.ip, '-p', '5201', '-t', String(seconds), '-b', String(Math.round(tcpBps)), '-J', '--connect-timeout', '3000']), (seconds + 30) * 1000);
    const udp = collect(b.client.spawn([tools.udpblast, '-d', b.server.ip, '-p', '9000', '-s', String(udpPayload), '-t', String(seconds), '-r', String(udpPps)]), (seconds + 30) * 1000);
    const nodes = b.daemons.map((v) => v.node);
    let heapOk = true;
    const t0 = Date.now();
    for (let i = 0; (Date.now() - t0) / 1000 < seconds; i++) {
      const t = Math.round((Date.now() - t0) / 100) / 10;
      const sample: SteadyResult['samples'][number] = { t, rssBytes: {}, heapUsedBytes: {} };
      for (const v of b.daemons) sample.rssBytes[v.node] = readRss(v.pid);
      if (heapOk && i % 5 === 0) {
        for (const v of b.daemons) {
          try {
            const st = await statusSample(b, v.node);
            sample.heapUsedBytes[v.node] = st.heapUsed;
            (sample.status ??= {})[v.node] = st;
          } catch (err) {
            heapOk = false;
            res.heapNote = `heap not sampled: ${(err as Error).message}`;
            break;
          }
        }
      }
      res.samples.push(sample);
      tick?.(`${Math.floor(t)}/${seconds} s, RSS ${nodes.map((n) => `${((sample.rssBytes[n] ?? 0) / 1048576).toFixed(0)} MiB`).join(' / ')}`);
      await sleep(1000 - ((Date.now() - t0) % 1000));
    }
    const [tcpOut, udpOut] = await Promise.all([tcp, udp]);
    await sleep(500);
    await stopChild(sink.child);
    await stopChild(srv.child);
    const sinkOut = await sink.done;
    for (const node of nodes) res.rssMaxBytes[node] = Math.max(0, ...res.samples.map((s) => s.rssBytes[node] ?? 0));
    res.rssSlopeKiBPerMin = slopes(res.samples, nodes, 'rssBytes', 10);
    if (heapOk) {
      res.heapSlopeKiBPerMin = slopes(res.samples, nodes, 'heapUsedBytes', 10);
      res.retention = heapRetention(res.samples, nodes, 10);
    }
    res.tcpGbps = parseIperf3(tcpOut.stdout).receivedBps / 1e9;
    const sent = parseBlast(udpOut.stdout).sent;
    res.udpLoss = sent > 0 ? Math.max(0, (sent - parseSink(sinkOut.stdout).received) / sent) : null;
  } catch (err) {
    res.error = err instanceof Error ? err.message : String(err);
  } finally {
    await bed?.teardown();
  }
  return res;
}
