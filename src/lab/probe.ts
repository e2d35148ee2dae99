// SPDX-License-Identifier: Apache-2.0
/**
 * Traffic probes for tests, the demo and the bench. All are asynchronous (they never
 * block the event loop, so an in-process dataplane keeps running) and run their tools
 * inside the namespaces: iputils ping and tiny `node -e` clients/servers. Given a LabNode/LabPod, every process goes through
 * its spawn hook, so the lab kills it on destroy even if a probe is abandoned. Capture and dissection live in capture.ts and are re-exported here.
 */
import type { ChildProcess, SpawnOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { Netns, RunResult } from './netns.js';
import type { LabPod } from './pod.js';
import { collect, sleep, stopChild, waitForOutput } from './proc.js';

export { captureUnderlay, dissect, type Capture, type CaptureOptions, type DissectRow } from './capture.js';

/**
 * Where a probe runs: a LabNode or LabPod (the probe's processes are then tracked by the
 * lab and killed on destroy), or a bare Netns (the caller owns it; processes are bounded
 * by their timeouts only).
 */
export type NsLike = Netns | { readonly ns: Netns; spawn(argv: readonly string[], options?: SpawnOptions): ChildProcess };

/** Runs argv inside `from` and collects its output (never rejects). */
function runIn(from: NsLike, argv: readonly string[], timeoutMs: number): Promise<RunResult> {
  return collect(from.spawn(argv), timeoutMs);
}

/** Runs `node -e script` inside `from`; resolves with the result (never rejects). */
function nodeEval(from: NsLike, script: string, timeoutMs: number): Promise<RunResult> {
  return runIn(from, [process.execPath, '-e', script], timeoutMs);
}

/** Result of ping(): counts parsed from the summary line, plus the raw output. */
export interface PingResult { sent: number; received: number; output: string }

/**
 * Pings `ip` from `from` with iputils (`ping -n -c count -i intervalSec -W timeoutSec`)
 * and never throws for lost replies: returns the counts. When no summary is printed
 * (e.g. "Network is unreachable"), sent and received are 0.
 */
export async function ping(from: NsLike, ip: string, opts: { count?: number; timeoutSec?: number; intervalSec?: number } = {}): Promise<PingResult> {
  const count = opts.count ?? 3;
  const wait = opts.timeoutSec ?? 1;
  const interval = opts.intervalSec ?? 0.2;
  const argv = ['ping', '-n', '-c', String(count), '-i', String(interval), '-W', String(wait), ip];
  const r = await runIn(from, argv, (count * (interval + wait) + 10) * 1000);
  const output = r.stdout + r.stderr;
  const m = /(\d+) packets transmitted, (\d+) received/.exec(output);
  return { sent: Number(m?.[1] ?? 0), received: Number(m?.[2] ?? 0), output };
}

/** Options shared by the exchange probes. */
export interface ExchangeOptions {
  /**
   * TCP/HTTP: client runs while the connection is refused (server not ready yet);
   * UDP: datagram transmissions until an echo arrives. Default 10.
   */
  attempts?: number;
  /** Per-attempt client timeout in ms (default 5000). */
  timeoutMs?: number;
  /** The line to send (default: a random token naming the client). */
  message?: string;
}

/** Where a server can run: a LabPod, or any pod-like place with a name, an IP and a spawn hook (the demo's CNI-made pods). */
export interface ServerPod {
  readonly name: string;
  readonly ip: string;
  spawn(argv: readonly string[], options?: SpawnOptions): ChildProcess;
}

/** Spawns a `node -e` server in `pod`, waits for its 'listening' line; kills it if that fails. */
async function startServer(pod: ServerPod, script: string): Promise<ChildProcess> {
  const child = pod.spawn([process.execPath, '-e', script]);
  try {
    await waitForOutput(child, child.stdout, /listening/, 10_000);
  } catch (err) {
    await stopChild(child, 'SIGKILL');
    throw err;
  }
  child.stdout?.resume();
  child.stderr?.resume();
  return child;
}

/** Runs a client script with bounded retries while it exits 3 (refused / no reply yet). */
async function runClient(from: NsLike, script: string, o: ExchangeOptions, what: string): Promise<string> {
  const attempts = o.attempts ?? 10;
  let last: RunResult | undefined;
  for (let i = 0; i < attempts; i++) {
    last = await nodeEval(from, script, (o.timeoutMs ?? 5000) + 5000);
    if (last.status === 0) return last.stdout;
    if (last.status !== 3) break;
    await sleep(200);
  }
  throw new Error(`${what} failed (exit ${last?.status}): ${last?.stderr.trim()}`);
}

function defaultMessage(client: LabPod): string {
  return `hello from ${client.name} ${randomBytes(4).toString('hex')}`;
}

function checkEcho(sent: string, got: string, what: string): string {
  if (got !== sent) throw new Error(`${what}: sent ${JSON.stringify(sent)}, echoed ${JSON.stringify(got)}`);
  return got;
}

/**
 * Starts a one-shot TCP echo server (0.0.0.0:port) in `server`, connects from `client`,
 * sends one line and returns the echoed line; throws unless the echo equals what was sent.
 * The server is stopped (by PID) whatever happens.
 */
export async function tcpExchange(client: LabPod, server: LabPod, port: number, o: ExchangeOptions = {}): Promise<string> {
  const msg = o.message ?? defaultMessage(client);
  const t = o.timeoutMs ?? 5000;
  const srv = await startServer(server, `const s=require('net').createServer(c=>{let b='';c.setEncoding('utf8');c.on('error',()=>{});
c.on('data',d=>{b+=d;const i=b.indexOf('\\n');if(i>=0)c.end(b.slice(0,i+1),()=>s.close());});});
s.on('error',e=>{console.error(e.message);process.exit(2)});s.listen(${port},'0.0.0.0',()=>console.log('listening'));`);
  try {
    const got = await runClient(client, `const c=require('net').connect({host:${JSON.stringify(server.ip)},port:${port}});let b='';c.setEncoding('utf8');
c.setTimeout(${t},()=>{console.error('timeout');process.exit(4)});c.on('connect',()=>c.write(${JSON.stringify(msg + '\n')}));
c.on('data',d=>{b+=d;const i=b.indexOf('\\n');if(i>=0){process.stdout.write(b.slice(0,i));process.exit(0)}});
c.on('end',()=>{console.error('closed before echo');process.exit(5)});
c.on('error',e=>{console.error(e.code||e.message);process.exit(e.code==='ECONNREFUSED'?3:1)});`, o, `TCP ${client.name} -> ${server.ip}:${port}`);
    return checkEcho(msg, got, 'tcpExchange');
  } finally {
    await stopChild(srv);
  }
}

/**
 * Like tcpExchange over UDP: a one-shot echo server in `server`, one datagram from
 * `client`, retransmitted every 300 ms up to `attempts` times until the echo arrives.
 */
export async function udpExchange(client: LabPod, server: LabPod, port: number, o: ExchangeOptions = {}): Promise<string> {
  const msg = o.message ?? defaultMessage(client);
  const attempts = o.attempts ?? 10;
  const srv = await startServer(server, `const d=require('dgram').createSocket('udp4');
d.on('message',(m,r)=>d.send(m,r.port,r.address,()=>d.close()));d.on('error',e=>{console.error(e.message);process.exit(2)});
d.bind(${port},'0.0.0.0',()=>console.log('listening'));`);
  try {
    const got = await runClient(client, `const d=require('dgram').createSocket('udp4');let n=0;
const send=()=>{if(n++>=${attempts}){console.error('no reply');process.exit(4)}d.send(${JSON.stringify(msg)},${port},${JSON.stringify(server.ip)})};
d.on('message',m=>{process.stdout.write(m.toString());process.exit(0)});d.on('error',e=>{console.error(e.message);process.exit(1)});
d.bind(0,()=>{send();setInterval(send,300)});`, { ...o, attempts: 1 }, `UDP ${client.name} -> ${server.ip}:${port}`);
    return checkEcho(msg, got, 'udpExchange');
  } finally {
    await stopChild(srv);
  }
}

/**
 * HTTP GET `url` from `from`; resolves with the body. Retries (bounded) while the
 * connection is refused; throws on other errors, timeouts or a status >= 400.
 */
export async function httpGet(from: NsLike, url: string, o: { attempts?: number; timeoutMs?: number } = {}): Promise<string> {
  return runClient(from, `const q=require('http').get(${JSON.stringify(url)},{timeout:${o.timeoutMs ?? 5000}},r=>{let b='';r.setEncoding('utf8');
r.on('data',d=>b+=d);r.on('end',()=>{if(r.statusCode>=400){console.error('HTTP '+r.statusCode);process.exit(6)}process.stdout.write(b);process.exit(0)})});
q.on('timeout',()=>q.destroy(new Error('timeout')));q.on('error',e=>{console.error(e.code||e.message);process.exit(e.code==='ECONNREFUSED'?3:1)});`,
  o, `GET ${url}`);
}

/** A running kuard-like HTTP server in a pod. */
export interface HttpServer {
  /** 'http://<pod ip>:<port>/'. */
  readonly url: string;
  readonly child: ChildProcess;
  /** Stops the server (SIGTERM by PID, SIGKILL after a grace period). */
  stop(): Promise<void>;
}

/**
 * Starts a small HTTP server on 0.0.0.0:port in `pod`, answering every request with JSON
 * {pod, ip, path, remote} (remote = the client address it saw). Resolves once listening.
 */
export async function startHttpServer(pod: ServerPod, port: number): Promise<HttpServer> {
  const child = await startServer(pod, `require('http').createServer((q,r)=>{r.writeHead(200,{'content-type':'application/json'});
r.end(JSON.stringify({pod:${JSON.stringify(pod.name)},ip:${JSON.stringify(pod.ip)},path:q.url,remote:q.socket.remoteAddress})+'\\n')})
.on('error',e=>{console.error(e.message);process.exit(2)}).listen(${port},'0.0.0.0',()=>console.log('listening'));`);
  return { url: `http://${pod.ip}:${port}/`, child, stop: () => stopChild(child) };
}
