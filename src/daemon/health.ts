// SPDX-License-Identifier: Apache-2.0
/**
 * The health endpoint of --healthz-ip/--healthz-port (off when the port is 0), as
 * flanneld's: started before anything else, so a liveness probe sees the process alive
 * while it waits for its lease.
 *
 *   GET /healthz  200 "vxtun is running" while the process runs
 *   GET /readyz   503 until setReady(true) (vxtun: after the iptables rules and
 *                 subnet.env are in place), 200 after; 503 again once shutdown starts
 *   anything else 404
 *
 * Any method is answered (Go's http.HandleFunc does not filter methods either).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { UsageError } from '../cli/errors.js';
import type { Logger } from './log.js';

export interface HealthOptions {
  /** --healthz-ip ('' or '0.0.0.0' = every IPv4 address). */
  host: string;
  /** --healthz-port; 0 picks a free port (tests; the CLI treats 0 as "off" and never calls this). */
  port: number;
  log?: Logger;
}

export interface HealthServer {
  /** Where it listens (the real port when 0 was asked for). */
  readonly host: string;
  readonly port: number;
  /** /readyz answers 200 while ready, 503 otherwise. */
  setReady(ready: boolean): void;
  readonly ready: boolean;
  /** Stops listening and drops open connections. Idempotent. */
  close(): Promise<void>;
}

/** Turns a listen error into a sentence naming the flag at fault. */
function listenError(err: NodeJS.ErrnoException, host: string, port: number): Error {
  const where = `${host || '0.0.0.0'}:${port}`;
  switch (err.code) {
    case 'EADDRINUSE':
      return new UsageError(`--healthz-port ${port}: ${where} is already in use (another flanneld or vxtun?); choose another port`, { cause: err });
    case 'EADDRNOTAVAIL':
      return new UsageError(`--healthz-ip ${host}: not an address of this host`, { cause: err });
    case 'EACCES':
      return new UsageError(`--healthz-port ${port}: not allowed to listen on ${where} (ports below 1024 need root)`, { cause: err });
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new UsageError(`--healthz-ip ${host}: not an IP address this host can listen on`, { cause: err });
    default:
      return new Error(`health server on ${where}: ${err.message}`, { cause: err });
  }
}

/**
 * startHealthServer listens on host:port and resolves once it does. Rejects with a
 * UsageError naming --healthz-port/--healthz-ip when the address is taken or not local.
 */
export async function startHealthServer(o: HealthOptions): Promise<HealthServer> {
  let ready = false;
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (status: number, body: string): void => {
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body) });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (path === '/healthz') send(200, 'vxtun is running\n');
    else if (path === '/readyz') send(ready ? 200 : 503, ready ? 'ready\n' : 'not ready: iptables rules and subnet.env are not in place yet\n');
    else send(404, 'not found\n');
  });
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => reject(listenError(err, o.host, o.port));
    server.once('error', onError);
    server.listen(o.port, o.host === '' ? undefined : o.host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  server.on('error', (err) => o.log?.error({ err: err.message }, 'health server error'));
  const addr = server.address() as AddressInfo;
  o.log?.info({ address: `${addr.address}:${addr.port}` }, 'healthz server listening');
  let closed: Promise<void> | undefined;
  return {
    host: addr.address,
    port: addr.port,
    get ready() { return ready; },
    setReady(r: boolean) { ready = r; },
    close() {
      closed ??= new Promise<void>((resolve) => {
        ready = false;
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
}
