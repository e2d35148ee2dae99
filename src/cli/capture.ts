// SPDX-License-Identifier: Apache-2.0
/**
 * `vxtun capture`: asks the running daemon for a live pcap of what it encapsulates and
 * decapsulates (see src/daemon/control.ts for the protocol) and writes it to a file or,
 * with `-w -`, to stdout (`vxtun capture -w - | wireshark -k -i -`). Ends after --count
 * packets (the daemon closes the stream), on Ctrl-C, or when the reader of stdout goes.
 * Progress goes to stderr only, so stdout carries nothing but pcap bytes.
 */
import { connect, type Socket } from 'node:net';
import { createWriteStream, openSync, rmSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { PCAP_GLOBAL_HEADER_LEN, PCAP_INCL_LEN_OFFSET, PCAP_RECORD_HEADER_LEN } from '../pcap/format.js';
import { UsageError } from './errors.js';
import { connectError, socketPathOf } from './status.js';

export interface CaptureFlags {
  inner?: boolean;
  outer?: boolean;
  count?: number;
  filter?: string;
  write?: string;
  socket?: string;
  tunName?: string;
}

export interface CaptureHeader { ok: true; mode: 'outer' | 'inner'; linkType: number; tun: string }

/** Counts complete pcap records in a byte stream (daemon pcaps are little-endian). */
export class RecordCounter {
  records = 0;
  #skip = PCAP_GLOBAL_HEADER_LEN;
  #hdr = Buffer.alloc(PCAP_RECORD_HEADER_LEN);
  #have = 0;

  push(chunk: Buffer): void {
    let i = 0;
    while (i < chunk.length) {
      if (this.#skip > 0) {
        const n = Math.min(this.#skip, chunk.length - i);
        this.#skip -= n;
        i += n;
        if (this.#skip === 0 && this.#have === -1) { this.records++; this.#have = 0; }
        continue;
      }
      const n = Math.min(PCAP_RECORD_HEADER_LEN - this.#have, chunk.length - i);
      chunk.copy(this.#hdr, this.#have, i, i + n);
      this.#have += n;
      i += n;
      if (this.#have === PCAP_RECORD_HEADER_LEN) {
        this.#skip = this.#hdr.readUInt32LE(PCAP_INCL_LEN_OFFSET);
        this.#have = -1; // record body pending
        if (this.#skip === 0) { this.records++; this.#have = 0; }
      }
    }
  }
}

export interface RunCaptureOptions {
  socketPath: string;
  request: { mode: 'outer' | 'inner'; count?: number; filter?: string };
  out: Writable;
  /** Called once the daemon is capturing. */
  onStart?: (header: CaptureHeader) => void;
  /** Aborting ends the capture cleanly (Ctrl-C). */
  signal?: AbortSignal;
}

/**
 * Runs one capture: resolves with the records written once the daemon ended the stream,
 * the signal aborted, or `out` failed (EPIPE: the reader went away). Rejects with a
 * UsageError when the daemon is not there or refuses the request.
 */
export function runCapture(o: RunCaptureOptions): Promise<{ records: number }> {
  return new Promise((resolve, reject) => {
    const sock: Socket = connect(o.socketPath);
    const counter = new RecordCounter();
    let header: CaptureHeader | undefined;
    let pending = Buffer.alloc(0);
    let settled = false;
    const finish = (err?: Error): void => {
      if (settled) return;
      settled = true;
      o.signal?.removeEventListener('abort', onAbort);
      sock.destroy();
      if (err) reject(err); else resolve({ records: counter.records });
    };
    const onAbort = (): void => finish();
    o.signal?.addEventListener('abort', onAbort);
    if (o.signal?.aborted) return finish();
    const emit = (chunk: Buffer): void => {
      counter.push(chunk);
      if (!o.out.write(chunk)) {
        sock.pause();
        o.out.once('drain', () => sock.resume());
      }
    };
    // EPIPE: the reader (e.g. wireshark) went away: a normal end. Anything else is an error.
    o.out.on('error', (e: NodeJS.ErrnoException) => finish(e.code === 'EPIPE' ? undefined : e));
    sock.once('connect', () => sock.write(`${JSON.stringify({ cmd: 'capture', ...o.request })}\n`));
    sock.on('error', (err: NodeJS.ErrnoException) => finish(header ? undefined : connectError(o.socketPath, err)));
    sock.on('data', (d: Buffer) => {
      if (header) return emit(d);
      pending = Buffer.concat([pending, d]);
      const nl = pending.indexOf(0x0a);
      if (nl < 0) return;
      let h: Record<string, unknown>;
      try { h = JSON.parse(pending.subarray(0, nl).toString('utf8')) as Record<string, unknown>; } catch {
        return finish(new Error(`control socket ${o.socketPath} answered something that is not JSON`));
      }
      if (h.ok !== true) return finish(new UsageError(`vxtun refused the capture: ${String(h.error)}`));
      header = h as unknown as CaptureHeader;
      o.onStart?.(header);
      const rest = pending.subarray(nl + 1);
      if (rest.length > 0) emit(rest);
    });
    sock.on('end', () => finish(header ? undefined : new Error(`control socket ${o.socketPath} closed before answering`)));
  });
}

/** The action: validates flags, opens the output, captures until done, reports on stderr. */
export async function captureCommand(flags: CaptureFlags, err: Writable = process.stderr): Promise<void> {
  if (flags.inner && flags.outer) throw new UsageError('choose one of --inner and --outer');
  if (flags.write === undefined) throw new UsageError('say where the pcap goes: -w FILE, or -w - for stdout (e.g. `vxtun capture -w - | wireshark -k -i -`)');
  const count = flags.count;
  if (count !== undefined && (!Number.isInteger(count) || count < 1)) throw new UsageError(`--count ${String(count)}: want a positive integer`);
  const mode = flags.inner ? 'inner' : 'outer';
  const toStdout = flags.write === '-';
  const socketPath = socketPathOf(flags);
  let out: Writable = process.stdout;
  if (!toStdout) {
    try {
      out = createWriteStream('', { fd: openSync(flags.write, 'w', 0o644) });
    } catch (e) {
      throw new UsageError(`cannot write ${flags.write}: ${(e as Error).message}`, { cause: e });
    }
  }
  const ac = new AbortController();
  const onSignal = (): void => ac.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let started = false;
  try {
    const { records } = await runCapture({
      socketPath, out, signal: ac.signal,
      request: { mode, ...(count !== undefined ? { count } : {}), ...(flags.filter !== undefined ? { filter: flags.filter } : {}) },
      onStart: (h) => { started = true; err.write(`vxtun capture: capturing ${h.mode} packets on ${h.tun}${flags.filter ? ` (filter ${flags.filter})` : ''}${count ? `, stopping after ${count}` : ''}; Ctrl-C to stop\n`); },
    });
    err.write(`vxtun capture: ${records} packet${records === 1 ? '' : 's'} written to ${toStdout ? 'stdout' : flags.write}\n`);
  } catch (e) {
    if (!started && !toStdout) { out.destroy(); rmSync(flags.write, { force: true }); } // leave no empty file behind
    throw e;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (!toStdout && !out.destroyed) await new Promise<void>((resolve) => out.end(() => resolve()));
  }
}
