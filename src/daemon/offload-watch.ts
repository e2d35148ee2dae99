// SPDX-License-Identifier: Apache-2.0
/**
 * OffloadWatch: one log line when the data path changes how it works on its own, so an
 * operator reading the log (not only `vxtun status`) learns it when it happens:
 * - an offload the kernel refused mid-run and that stays off (tun.udpGroDisabled,
 *   bind['gso.disabled']): warn;
 * - the first leaked partial checksum finished, or the first oversize TCP packet cut (by
 *   the kernel, or without virtio headers by the addon; a kernel peer on a veth underlay;
 *   counters.checksumsFinished, tun.oversizeTcp): info, since that is expected there and
 *   harmless.
 *
 * It reads counters the hot path already keeps (no hot-path work), on a timer that never
 * holds the process open. Each line is logged at most once per run.
 */
import type { Logger } from './log.js';
import type { OffloadStats } from '../dataplane/offload.js';

/** What the watch reads: the Device's counters and offload stats. */
export interface OffloadWatchSource {
  counters: { checksumsFinished: number };
  offloadStats(): { tun?: OffloadStats; bind?: OffloadStats };
}

interface Event {
  key: string;
  level: 'warn' | 'info';
  value: (s: OffloadWatchSource, st: { tun?: OffloadStats; bind?: OffloadStats }) => number;
  msg: string;
}

const EVENTS: readonly Event[] = [
  { key: 'udpGroDisabled', level: 'warn', value: (_, st) => st.tun?.udpGroDisabled ?? 0,
    msg: 'the kernel refused a coalesced UDP write to the TUN; UDP goes one datagram at a time from now on (gro-udp off)' },
  { key: 'gsoDisabled', level: 'warn', value: (_, st) => st.bind?.['gso.disabled'] ?? 0,
    msg: 'the kernel cannot do UDP GSO; VXLAN datagrams go out through the raw socket from now on (udp-gso off)' },
  { key: 'checksumsFinished', level: 'info', value: (s) => s.counters.checksumsFinished,
    msg: 'a peer sends inner checksums left for a NIC (a kernel VTEP on a veth underlay?); finishing them before the TUN write' },
  { key: 'oversizeTcp', level: 'info', value: (_, st) => st.tun?.oversizeTcp ?? 0,
    msg: 'a peer sends TCP frames over the MTU (a kernel VTEP whose TSO frames cross a veth whole?); cutting them into MTU-sized segments at the TUN' },
];

export class OffloadWatch {
  readonly #source: OffloadWatchSource;
  readonly #log: Logger;
  readonly #logged = new Set<string>();
  #timer: NodeJS.Timeout | undefined;

  constructor(source: OffloadWatchSource, log: Logger) {
    this.#source = source;
    this.#log = log;
  }

  /** Checks every `intervalMs` until stop(); the timer is unref'd. */
  start(intervalMs = 5000): void {
    this.stop();
    this.#timer = setInterval(() => this.check(), intervalMs);
    this.#timer.unref();
  }

  /** One look at the counters: logs each event whose counter became non-zero, once. */
  check(): void {
    if (this.#logged.size === EVENTS.length) return;
    const st = this.#source.offloadStats();
    for (const e of EVENTS) {
      if (this.#logged.has(e.key)) continue;
      const v = e.value(this.#source, st);
      if (v > 0) {
        this.#logged.add(e.key);
        this.#log[e.level]({ event: e.key, count: v }, e.msg);
      }
    }
  }

  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
