// SPDX-License-Identifier: Apache-2.0
import { randomBytes } from 'node:crypto';

/** A random locally administered unicast MAC, as flannel's pkg/mac: byte0 = (b & 0xfe) | 0x02. */
export function randomVtepMac(): string {
  const b = randomBytes(6);
  b[0] = (b[0]! & 0xfe) | 0x02;
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
}
