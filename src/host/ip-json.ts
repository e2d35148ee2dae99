// SPDX-License-Identifier: Apache-2.0
/**
 * Parsers for iproute2's JSON output (`ip -j addr show`, `ip -j route show`), the only
 * way vxtun reads host network state. Unknown fields are ignored; missing optional ones
 * get neutral defaults, so older and newer iproute2 versions both work.
 */

/** One address from `addr_info`. */
export interface IpAddr {
  readonly family: string; // 'inet' | 'inet6'
  readonly local: string;
  readonly prefixlen: number;
  /** Has a finite lifetime (DHCP, SLAAC): the opposite of IFA_F_PERMANENT. */
  readonly dynamic: boolean;
  readonly deprecated: boolean;
  readonly temporary: boolean;
  readonly secondary: boolean;
}

/** One link from `ip -j addr show`. */
export interface IpLink {
  readonly ifindex: number;
  readonly ifname: string;
  readonly mtu: number;
  readonly flags: readonly string[];
  readonly addrs: readonly IpAddr[];
}

/** One route from `ip -j route show`. */
export interface IpRoute {
  readonly dst: string;
  readonly dev?: string;
  readonly gateway?: string;
  readonly prefsrc?: string;
  readonly metric?: number;
  readonly type?: string;
}

function parseArray(what: string, stdout: string): unknown[] {
  const text = stdout.trim();
  if (text === '') return [];
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new Error(`cannot parse the JSON output of \`${what}\`: ${(err as Error).message}`);
  }
  if (!Array.isArray(v)) throw new Error(`the JSON output of \`${what}\` is not an array`);
  return v;
}

function rec(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : {};
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const num = (v: unknown): number => (typeof v === 'number' ? v : 0);

/** parseIpAddrJson parses the stdout of `ip -j addr show [dev X]`. Throws on malformed JSON. */
export function parseIpAddrJson(stdout: string): IpLink[] {
  return parseArray('ip -j addr show', stdout).map((l) => {
    const link = rec(l);
    const info = Array.isArray(link.addr_info) ? link.addr_info : [];
    return {
      ifindex: num(link.ifindex),
      ifname: str(link.ifname),
      mtu: num(link.mtu),
      flags: Array.isArray(link.flags) ? link.flags.filter((f): f is string => typeof f === 'string') : [],
      addrs: info.map((a) => {
        const r = rec(a);
        return {
          family: str(r.family),
          local: str(r.local),
          prefixlen: num(r.prefixlen),
          dynamic: r.dynamic === true,
          deprecated: r.deprecated === true,
          temporary: r.temporary === true,
          secondary: r.secondary === true,
        };
      }).filter((a) => a.local !== ''),
    };
  }).filter((l) => l.ifname !== '');
}

/** parseIpRouteJson parses the stdout of `ip -j route show ...`. Throws on malformed JSON. */
export function parseIpRouteJson(stdout: string): IpRoute[] {
  return parseArray('ip -j route show', stdout).map((r) => {
    const o = rec(r);
    const route: { -readonly [K in keyof IpRoute]: IpRoute[K] } = { dst: str(o.dst) };
    if (typeof o.dev === 'string') route.dev = o.dev;
    if (typeof o.gateway === 'string') route.gateway = o.gateway;
    if (typeof o.prefsrc === 'string') route.prefsrc = o.prefsrc;
    if (typeof o.metric === 'number') route.metric = o.metric;
    if (typeof o.type === 'string') route.type = o.type;
    return route;
  });
}

/** The IPv4 addresses of a link, in the kernel's order. */
export function ipv4Addrs(link: IpLink): IpAddr[] {
  return link.addrs.filter((a) => a.family === 'inet');
}
