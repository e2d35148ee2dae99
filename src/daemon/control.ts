// SPDX-License-Identifier: Apache-2.0
/**
 * The control socket: a unix socket the running daemon listens on (default
 * /run/vxtun/<tun>.sock), created 0600 and removed on exit. A stale socket file left by a
 * crash is replaced; a live one (another daemon answering) is refused.
 *
 * Protocol: the client sends one JSON line.
 *   {"cmd":"status","gc":true?}
 *       → one JSON line {"ok":true,"status":{...VxtunStatus}} and the server closes. With
 *         "gc", a full garbage collection runs first (only when the daemon was started with
 *         NODE_OPTIONS=--expose-gc; otherwise an error says so), so memory.heapOld is what
 *         is really retained: the steady-state bench reads it to show the heap is flat.
 *   {"cmd":"capture","mode":"outer"|"inner","count":N?,"filter":"10.244.2.0/24"?}
 *       → one JSON line {"ok":true,"mode":..,"linkType":1|101,"tun":..}, then a raw pcap
 *         byte stream (global header, records) until N packets were sent (the server then
 *         ends the stream) or the client disconnects.
 *   anything else → {"ok":false,"error":"..."} and close.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { chmodSync, lstatSync, mkdirSync, readdirSync, readlinkSync, rmdirSync, statSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import { parseCidr } from '../config/cidr.js';
import { UsageError } from '../cli/errors.js';
import { CaptureHub, type CaptureSpec } from './capture.js';
import { buildStatus, type StatusSource } from './status.js';
import type { ControlPlaneState } from './metrics.js';
import type { Logger } from './log.js';

/** Directory of the default control sockets. */
export const CONTROL_DIR = '/run/vxtun';

/**
 * The network namespace this process runs in, as a tag for paths: null in the host's
 * (the namespace of PID 1), else its inode number. When PID 1's namespace cannot be read
 * (some sandboxes refuse it), a namespace named under /run/netns (`ip netns`) counts as
 * not the host's, anything else as the host's.
 */
export function currentNetnsTag(): string | null {
  let self: string;
  try { self = readlinkSync('/proc/self/ns/net'); } catch { return null; }
  const inode = /\[(\d+)\]/.exec(self)?.[1];
  if (inode === undefined) return null;
  try {
    return self === readlinkSync('/proc/1/ns/net') ? null : inode;
  } catch {
    try {
      const named = readdirSync('/run/netns').some((n) => {
        try { return String(statSync(path.join('/run/netns', n)).ino) === inode; } catch { return false; }
      });
      return named ? inode : null;
    } catch {
      return null;
    }
  }
}

/**
 * The default control socket of the daemon serving `tunName`: /run/vxtun/<tun>.sock in
 * the host's network namespace, /run/vxtun/netns-<inode>/<tun>.sock in any other (device
 * names are per namespace, the filesystem is not: nodes of a lab on one machine must not
 * share a socket). `vxtun status` run in the same namespace finds the same path.
 */
export function defaultControlSocket(tunName = 'flannel.1', netnsTag: string | null = currentNetnsTag()): string {
  return netnsTag === null ? path.join(CONTROL_DIR, `${tunName}.sock`) : path.join(CONTROL_DIR, `netns-${netnsTag}`, `${tunName}.sock`);
}

/** Longest request line accepted. */
const MAX_REQUEST = 64 * 1024;
/** A client must send its request within this time. */
const REQUEST_TIMEOUT_MS = 10_000;

export interface ControlServerOptions {
  path: string;
  source: StatusSource;
  log: Logger;
  controlPlane?: ControlPlaneState;
  /** Per capture client: bytes buffered before packets are dropped. */
  maxCaptureBufferBytes?: number;
}

export interface ControlServer {
  readonly path: string;
  readonly capture: CaptureHub;
  /** Ends captures, stops listening and removes the socket file. Idempotent. */
  close(): Promise<void>;
}

/** True when something accepts connections on the unix socket `p`. */
function answers(p: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(p);
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

/** Removes a stale socket file at `p`; throws UsageError when it is live or not a socket. */
async function clearStale(p: string, log: Logger): Promise<void> {
  let st;
  try { st = lstatSync(p); } catch { return; }
  if (!st.isSocket()) throw new UsageError(`control socket ${p} exists and is not a socket: remove it or choose another --control-socket`);
  if (await answers(p)) throw new UsageError(`control socket ${p} is in use: is another vxtun running for this device? (choose another --control-socket)`);
  unlinkSync(p);
  log.warn({ path: p }, 'replaced a stale control socket');
}

/** Parses a capture request into a spec; throws Error with the reason. */
export function parseCaptureRequest(req: Record<string, unknown>): CaptureSpec {
  const mode = req.mode ?? 'outer';
  if (mode !== 'outer' && mode !== 'inner') throw new Error(`capture mode ${JSON.stringify(mode)}: want "outer" or "inner"`);
  const spec: CaptureSpec = { mode };
  if (req.count !== undefined && req.count !== null) {
    if (typeof req.count !== 'number' || !Number.isInteger(req.count) || req.count < 1) throw new Error(`capture count ${JSON.stringify(req.count)}: want a positive integer`);
    spec.count = req.count;
  }
  if (req.filter !== undefined && req.filter !== null) {
    const text = String(req.filter);
    const c = parseCidr(text.includes('/') ? text : `${text}/32`);
    if (c === null) throw new Error(`capture filter ${JSON.stringify(text)}: want an IPv4 subnet like 10.244.2.0/24 or an address`);
    spec.filter = { network: c.network, prefixLen: c.prefixLen };
  }
  return spec;
}

/** Starts the control server on o.path (creating its directory 0755). Rejects with UsageError when it cannot. */
export async function startControlServer(o: ControlServerOptions): Promise<ControlServer> {
  const { log, source } = o;
  const hub = new CaptureHub(source.device, { ifaceAddr: source.external.ifaceAddr, port: source.netconf.backend.port },
    o.maxCaptureBufferBytes !== undefined ? { maxBufferedBytes: o.maxCaptureBufferBytes } : {});
  const clients = new Set<Socket>();
  mkdirSync(path.dirname(o.path), { recursive: true, mode: 0o755 });
  await clearStale(o.path, log);

  const reply = (sock: Socket, body: object): void => { sock.end(`${JSON.stringify(body)}\n`); };
  const handle = (sock: Socket, line: string): void => {
    let req: Record<string, unknown>;
    try {
      const v: unknown = JSON.parse(line);
      if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not a JSON object');
      req = v as Record<string, unknown>;
    } catch (err) {
      return reply(sock, { ok: false, error: `bad request: ${(err as Error).message}` });
    }
    if (req.cmd === 'status') {
      if (req.gc === true) {
        const gc = (globalThis as { gc?: () => void }).gc;
        if (typeof gc !== 'function') return reply(sock, { ok: false, error: 'status with gc: this daemon was not started with NODE_OPTIONS=--expose-gc' });
        gc();
      }
      const cp = o.controlPlane;
      return reply(sock, { ok: true, status: buildStatus(source, {
        ...(cp ? { controlPlane: { leaseRenewals: cp.leaseRenewals, storeWatchUp: cp.storeWatchUp } } : {}),
        capture: { sessions: hub.size, captured: hub.totalCaptured, dropped: hub.totalDropped },
      }) });
    }
    if (req.cmd === 'capture') {
      let spec: CaptureSpec;
      try { spec = parseCaptureRequest(req); } catch (err) { return reply(sock, { ok: false, error: (err as Error).message }); }
      sock.write(`${JSON.stringify({ ok: true, mode: spec.mode, linkType: spec.mode === 'outer' ? 1 : 101, tun: source.tunName })}\n`);
      const session = hub.start(spec, sock, (s) => log.info({ ...s, filter: req.filter ?? null }, 'capture ended'));
      log.info({ mode: spec.mode, count: spec.count ?? null, filter: req.filter ?? null }, 'capture started');
      sock.on('close', () => hub.stop(session));
      return;
    }
    reply(sock, { ok: false, error: `unknown command ${JSON.stringify(req.cmd)} (want "status" or "capture")` });
  };

  const server: Server = createServer((sock) => {
    clients.add(sock);
    sock.on('close', () => clients.delete(sock));
    sock.on('error', () => sock.destroy());
    sock.setTimeout(REQUEST_TIMEOUT_MS, () => sock.destroy());
    let buf = '';
    const onData = (d: Buffer): void => {
      buf += d.toString('utf8');
      const nl = buf.indexOf('\n');
      if (nl < 0) {
        if (buf.length > MAX_REQUEST) { sock.off('data', onData); reply(sock, { ok: false, error: 'request too long' }); }
        return;
      }
      sock.off('data', onData);
      sock.setTimeout(0);
      sock.resume(); // ignore anything after the request line
      handle(sock, buf.slice(0, nl));
    };
    sock.on('data', onData);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(new UsageError(`control socket ${o.path}: ${err.message}`, { cause: err })));
    const umask = process.umask(0o177); // the socket file is created 0600
    try {
      server.listen(o.path, () => resolve());
    } finally {
      process.umask(umask);
    }
  });
  chmodSync(o.path, 0o600);
  log.info({ path: o.path }, 'control socket listening');

  let closed: Promise<void> | undefined;
  return {
    path: o.path,
    capture: hub,
    close() {
      closed ??= new Promise<void>((resolve) => {
        hub.close();
        server.close(() => resolve());
        for (const c of clients) c.destroy();
        try { unlinkSync(o.path); } catch { /* already gone */ }
        const dir = path.dirname(o.path);
        if (/^netns-\d+$/.test(path.basename(dir)) && path.dirname(dir) === CONTROL_DIR) {
          try { rmdirSync(dir); } catch { /* not empty: another tun's socket */ }
        }
      });
      return closed;
    },
  };
}
