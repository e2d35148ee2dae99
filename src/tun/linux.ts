// SPDX-License-Identifier: Apache-2.0
/**
 * LinuxTun: the real device, through the addon. Opening creates (or attaches to) the TUN,
 * sets its MTU and brings it up; the fd is non-blocking and watched by a uv_poll.
 */
import type { Tun } from './tun.js';
import type { PacketBatch } from '../dataplane/batch.js';
import { VERDICT_TUN } from '../dataplane/batch.js';
import type { NativeBinding, NativePoll } from '../native/binding.js';
import { loadNative } from '../native/load.js';

export interface LinuxTunOptions {
  /** Device name, e.g. 'flannel.1'. */
  name: string;
  mtu: number;
  native?: NativeBinding;
}

export class LinuxTun implements Tun {
  readonly name: string;
  readonly mtu: number;
  readonly #native: NativeBinding;
  #fd: number;
  #poll: NativePoll | undefined;

  private constructor(native: NativeBinding, fd: number, name: string, mtu: number) {
    this.#native = native;
    this.#fd = fd;
    this.name = name;
    this.mtu = mtu;
  }

  /** Opens the device, sets its MTU and brings it up. Throws the addon's error (errno, code, device name) on failure. */
  static open(options: LinuxTunOptions): LinuxTun {
    const native = loadNative(options.native);
    const handle = native.tunOpen(options.name, {});
    try {
      native.linkSetMtu(handle.name, options.mtu);
      native.linkSetUp(handle.name);
    } catch (err) {
      native.close(handle.fd);
      throw err;
    }
    return new LinuxTun(native, handle.fd, handle.name, options.mtu);
  }

  read(batch: PacketBatch): number {
    if (this.#fd < 0) return 0;
    return this.#native.tunRead(this.#fd, batch.native(this.#native), batch.capacity);
  }

  write(batch: PacketBatch, n: number): number {
    if (this.#fd < 0) return 0;
    return this.#native.tunWrite(this.#fd, batch.native(this.#native), n, VERDICT_TUN);
  }

  onReadable(cb: () => void): void {
    if (this.#fd < 0) return;
    if (this.#poll !== undefined) this.#native.pollStop(this.#poll);
    this.#poll = this.#native.pollStart(this.#fd, cb);
  }

  close(): void {
    if (this.#fd < 0) return;
    if (this.#poll !== undefined) this.#native.pollStop(this.#poll);
    this.#poll = undefined;
    this.#native.close(this.#fd);
    this.#fd = -1;
  }
}
