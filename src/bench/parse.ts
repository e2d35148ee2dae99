// SPDX-License-Identifier: Apache-2.0
/**
 * Parsers for the output of the bench's tools: iperf3 -J, iputils ping, and the JSON
 * lines of bench/tools/udpblast.c and udpsink.c. Pure; each throws an Error saying what
 * was wrong when the output cannot be used, so a failed measurement is recorded with a
 * reason instead of a made-up number.
 */

/** What the bench keeps from one iperf3 TCP client run (`iperf3 -c … -J`). */
export interface Iperf3Result {
  /** end.sum_received.bits_per_second: what the receiver got, the figure baseline.md reports. */
  receivedBps: number;
  /** end.sum_sent.bits_per_second. */
  sentBps: number;
  /** end.sum_received.seconds. */
  seconds: number;
  /** end.sum_sent.retransmits (0 when iperf3 does not report it). */
  retransmits: number;
  /** end.cpu_utilization_percent.host_total / remote_total (sender / receiver), when present. */
  cpuSenderPct: number | null;
  cpuReceiverPct: number | null;
}

function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

function obj(v: unknown): Record<string, unknown> | null {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
}

/**
 * Parses iperf3's -J document. Throws with iperf3's own "error" text when it reports one,
 * or when end.sum_received.bits_per_second is missing.
 */
export function parseIperf3(text: string): Iperf3Result {
  let doc: Record<string, unknown> | null;
  try {
    doc = obj(JSON.parse(text));
  } catch {
    throw new Error(`iperf3 printed no JSON: ${text.trim().slice(0, 200) || '(nothing)'}`);
  }
  if (!doc) throw new Error('iperf3 JSON is not an object');
  if (typeof doc.error === 'string') throw new Error(`iperf3: ${doc.error}`);
  const end = obj(doc.end);
  const rcv = obj(end?.sum_received);
  const snd = obj(end?.sum_sent);
  const receivedBps = num(rcv?.bits_per_second);
  if (receivedBps === null) throw new Error('iperf3 JSON has no end.sum_received.bits_per_second');
  const cpu = obj(end?.cpu_utilization_percent);
  return {
    receivedBps,
    sentBps: num(snd?.bits_per_second) ?? receivedBps,
    seconds: num(rcv?.seconds) ?? 0,
    retransmits: num(snd?.retransmits) ?? 0,
    cpuSenderPct: num(cpu?.host_total),
    cpuReceiverPct: num(cpu?.remote_total),
  };
}

/** Per-packet round-trip times and the summary counts of one iputils ping run. */
export interface PingTimes {
  /** RTT of every reply, in microseconds, in arrival order. */
  rttUs: number[];
  transmitted: number;
  received: number;
}

/**
 * Extracts the `time=X ms` of every reply line (also `time<X ms`) and the
 * "N packets transmitted, M received" summary from iputils ping output. Throws when
 * there is no summary line (ping could not run).
 */
export function parsePing(output: string): PingTimes {
  const rttUs: number[] = [];
  for (const m of output.matchAll(/ time[=<]([0-9.]+) ms/g)) rttUs.push(Math.round(Number(m[1]) * 1000 * 1000) / 1000);
  const s = /(\d+) packets transmitted, (\d+) (?:packets )?received/.exec(output);
  if (!s) throw new Error(`ping printed no summary: ${output.trim().slice(0, 200) || '(nothing)'}`);
  return { rttUs, transmitted: Number(s[1]), received: Number(s[2]) };
}

/** The JSON line udpblast prints. */
export interface BlastResult {
  sent: number;
  errors: number;
  seconds: number;
  offeredPps: number;
  sentPps: number;
  cpuUserS: number;
  cpuSysS: number;
}

/** The JSON line udpsink prints when stopped. */
export interface SinkResult {
  received: number;
  bytes: number;
  activeSeconds: number;
  cpuUserS: number;
  cpuSysS: number;
}

/** The last line of `text` that parses as a JSON object. */
function lastJsonLine(text: string, what: string): Record<string, unknown> {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l.startsWith('{')).reverse();
  for (const l of lines) {
    try {
      const o = obj(JSON.parse(l));
      if (o) return o;
    } catch { /* not this line */ }
  }
  throw new Error(`${what} printed no result line: ${text.trim().slice(0, 200) || '(nothing)'}`);
}

function need(o: Record<string, unknown>, key: string, what: string): number {
  const v = num(o[key]);
  if (v === null) throw new Error(`${what} result has no numeric "${key}"`);
  return v;
}

/** Parses udpblast's stdout; throws when the result line is missing or incomplete. */
export function parseBlast(text: string): BlastResult {
  const o = lastJsonLine(text, 'udpblast');
  return {
    sent: need(o, 'sent', 'udpblast'),
    errors: need(o, 'errors', 'udpblast'),
    seconds: need(o, 'seconds', 'udpblast'),
    offeredPps: need(o, 'offered_pps', 'udpblast'),
    sentPps: need(o, 'sent_pps', 'udpblast'),
    cpuUserS: num(o.cpu_user_s) ?? 0,
    cpuSysS: num(o.cpu_sys_s) ?? 0,
  };
}

/** Parses udpsink's stdout; throws when the result line is missing or incomplete. */
export function parseSink(text: string): SinkResult {
  const o = lastJsonLine(text, 'udpsink');
  return {
    received: need(o, 'received', 'udpsink'),
    bytes: need(o, 'bytes', 'udpsink'),
    activeSeconds: num(o.active_seconds) ?? 0,
    cpuUserS: num(o.cpu_user_s) ?? 0,
    cpuSysS: num(o.cpu_sys_s) ?? 0,
  };
}
