// SPDX-License-Identifier: Apache-2.0
/**
 * The offloads a user can turn off one at a time (`vxtun run --disable-offload a,b`), and
 * what each switch means for the two seams. `--no-offload` turns them all off.
 *
 * Why one switch per offload: each one rests on a different kernel feature (TUN TSO, TUN
 * USO, GSO writes to the TUN, UDP_GRO, UDP_SEGMENT). When one of them misbehaves on some
 * kernel or NIC driver, the operator turns off just that one and keeps the rest of the
 * speed, as wireguard-go's and Tailscale's knobs allow.
 *
 *   tso      the TUN hands over TCP super-packets (TUNSETOFFLOAD CSUM|TSO4|TSO6)
 *   uso      the TUN hands over UDP super-packets (USO4|USO6, Linux 6.2+); gro-udp needs it
 *   gro      runs of one TCP flow are written to the TUN as one GSO_TCPV4 super-packet
 *   gro-udp  runs of one UDP flow are written as one GSO_UDP_L4 super-packet
 *   udp-gro  the receive socket's UDP_GRO (the kernel coalesces VXLAN datagrams)
 *   udp-gso  runs of VXLAN datagrams sent with one UDP_SEGMENT sendmsg
 *
 * With tso, uso, gro and gro-udp all off, the TUN is opened without virtio headers (as
 * with --no-offload); otherwise it keeps them, and with them the handling of a kernel
 * peer's whole TSO frames (docs/offloads.md, "Veth underlays").
 */

export const OFFLOAD_SWITCHES = ['tso', 'uso', 'gro', 'gro-udp', 'udp-gro', 'udp-gso'] as const;
export type OffloadSwitch = (typeof OFFLOAD_SWITCHES)[number];

/** What the TUN seam is asked for (LinuxTunOptions). */
export interface TunOffloadChoice {
  /** Virtio headers at all: false only when every TUN-side switch is off. */
  offload: boolean;
  tso: boolean;
  uso: boolean;
  gro: boolean;
  groUdp: boolean;
}

/** What the UDP seam is asked for (LinuxBindOptions). */
export interface BindOffloadChoice {
  gro: boolean;
  gso: boolean;
}

/**
 * Reads switch names: each entry may hold several, comma-separated (`tso,udp-gso`);
 * spaces around names and empty entries are ignored; repeats are harmless. Throws an
 * Error naming the first unknown name and listing the known ones. Returns them in
 * OFFLOAD_SWITCHES order, without repeats.
 */
export function parseOffloadSwitches(entries: readonly string[]): OffloadSwitch[] {
  const chosen = new Set<OffloadSwitch>();
  for (const entry of entries) {
    for (const raw of entry.split(',')) {
      const name = raw.trim();
      if (name === '') continue;
      if (!(OFFLOAD_SWITCHES as readonly string[]).includes(name)) {
        throw new Error(`unknown offload ${JSON.stringify(name)}: want one or more of ${OFFLOAD_SWITCHES.join(', ')}`);
      }
      chosen.add(name as OffloadSwitch);
    }
  }
  return OFFLOAD_SWITCHES.filter((s) => chosen.has(s));
}

/** The seams' options with `disabled` switched off; `offload` false (--no-offload) turns everything off. */
export function offloadChoice(disabled: readonly OffloadSwitch[], offload = true): { tun: TunOffloadChoice; bind: BindOffloadChoice } {
  const on = (s: OffloadSwitch): boolean => offload && !disabled.includes(s);
  const uso = on('uso');
  const tun = { tso: on('tso'), uso, gro: on('gro'), groUdp: uso && on('gro-udp') };
  return {
    tun: { offload: tun.tso || tun.uso || tun.gro || tun.groUdp, ...tun },
    bind: { gro: on('udp-gro'), gso: on('udp-gso') },
  };
}
