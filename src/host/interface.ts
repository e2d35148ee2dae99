// SPDX-License-Identifier: Apache-2.0
/**
 * Choosing the external (underlay) interface and the public IP, as flanneld's main.go +
 * pkg/ipmatch LookupExtIface do, from `ip -j addr show` / `ip -j route show default`.
 *
 * flanneld's rules, reproduced:
 * - `--iface` values (names or IPv4 addresses) are tried in order, then `--iface-regex`
 *   values; the first that matches wins. A regex is matched first against each
 *   interface's IPv4 addresses, then against interface names.
 * - With neither: if `--public-ip` is given, the interface holding that address (flanneld
 *   fails when the public IP is not local, e.g. behind NAT; pass --iface then); otherwise
 *   the interface of the first IPv4 default route in the main table.
 * - The interface address is the matched IP, else the first usable IPv4 of the interface:
 *   global unicast before link-local (169.254/16), permanent before dynamic, skipping
 *   deprecated ones (flannel's compareAddrs order).
 * - The public IP (lease PublicIP) is `--public-ip` if given, else that address.
 */
import { formatIpv4, parseIpv4 } from '../config/cidr.js';
import { ConfigError } from '../config/errors.js';
import { runChecked, type Exec } from './exec.js';
import { ipv4Addrs, parseIpAddrJson, parseIpRouteJson, type IpLink, type IpRoute } from './ip-json.js';

/** The --iface / --iface-regex / --public-ip inputs. */
export interface ExternalInterfaceOptions {
  /** `--iface` values: interface names or IPv4 addresses, in order. */
  readonly ifaces?: readonly string[];
  /** `--iface-regex` values (JavaScript RegExp syntax, unanchored like Go's MatchString). */
  readonly ifaceRegexes?: readonly string[];
  /** `--public-ip`: the address advertised in our lease. */
  readonly publicIp?: string;
}

/** The chosen underlay interface. */
export interface ExternalInterface {
  readonly name: string;
  readonly index: number;
  readonly mtu: number;
  /** Address on the interface (the source of our VXLAN packets). */
  readonly ifaceAddr: number;
  /** Address advertised as our lease PublicIP. */
  readonly publicIp: number;
}

const CLI = 'command line';

function isLinkLocal(ip: number): boolean {
  return ip >>> 16 === 0xa9fe;
}

function isGlobalUnicast(ip: number): boolean {
  const top = ip >>> 24;
  return ip !== 0 && ip !== 0xffffffff && top !== 127 && ip >>> 28 !== 0xe && !isLinkLocal(ip);
}

/** usableIpv4 lists a link's IPv4 addresses in flanneld's order of preference (see above). */
export function usableIpv4(link: IpLink): number[] {
  const rank = (a: { ip: number; dynamic: boolean; temporary: boolean }): number =>
    (isLinkLocal(a.ip) ? 4 : 0) + (a.dynamic ? 2 : 0) + (a.temporary ? 1 : 0);
  return ipv4Addrs(link)
    .filter((a) => !a.deprecated)
    .map((a) => ({ ip: parseIpv4(a.local), dynamic: a.dynamic, temporary: a.temporary }))
    .filter((a): a is { ip: number; dynamic: boolean; temporary: boolean } => a.ip !== null && (isGlobalUnicast(a.ip) || isLinkLocal(a.ip)))
    .map((a, i) => ({ ...a, i }))
    .sort((a, b) => rank(a) - rank(b) || a.i - b.i)
    .map((a) => a.ip);
}

type Found = { link: IpLink; addr: number | null } | { error: string };

function byName(links: readonly IpLink[], name: string): Found {
  const link = links.find((l) => l.ifname === name);
  return link ? { link, addr: null } : { error: `interface ${name} not found` };
}

function byAddress(links: readonly IpLink[], ip: number): Found {
  const link = links.find((l) => ipv4Addrs(l).some((a) => parseIpv4(a.local) === ip));
  return link ? { link, addr: ip } : { error: `no interface has address ${formatIpv4(ip)}` };
}

function byRegex(links: readonly IpLink[], source: string): Found {
  let re: RegExp;
  try {
    re = new RegExp(source);
  } catch (err) {
    throw new ConfigError(CLI, '--iface-regex', JSON.stringify(source), `is not a valid regular expression (${(err as Error).message})`);
  }
  for (const link of links) {
    const hit = usableIpv4(link).find((ip) => re.test(formatIpv4(ip)));
    if (hit !== undefined) return { link, addr: hit };
  }
  const link = links.find((l) => re.test(l.ifname));
  return link ? { link, addr: null } : { error: `no interface name or IPv4 address matches --iface-regex ${source}` };
}

function byDefaultRoute(links: readonly IpLink[], routes: readonly IpRoute[]): Found {
  const route = routes.find((r) => r.dst === 'default' || r.dst === '0.0.0.0/0');
  if (route === undefined) return { error: 'no default route: pass --iface' };
  if (route.dev === undefined) return { error: 'the default route has no device: pass --iface' };
  const found = byName(links, route.dev);
  return 'error' in found ? { error: `${found.error} (the default route's device)` } : found;
}

/** needsDefaultRoute is true when selection falls back to the default route. */
export function needsDefaultRoute(opts: ExternalInterfaceOptions): boolean {
  return !opts.ifaces?.length && !opts.ifaceRegexes?.length && !opts.publicIp;
}

/**
 * selectExternalInterface applies flanneld's rules to parsed `ip -j` output. `routes` is
 * needed only when needsDefaultRoute(opts). Throws ConfigError for a malformed
 * --public-ip/--iface-regex, and Error (e.g. "interface eth9 not found",
 * "interface ul0 has no IPv4 address", "no default route: pass --iface") when nothing fits.
 */
export function selectExternalInterface(links: readonly IpLink[], routes: readonly IpRoute[], opts: ExternalInterfaceOptions): ExternalInterface {
  let publicIp: number | null = null;
  if (opts.publicIp) {
    publicIp = parseIpv4(opts.publicIp);
    if (publicIp === null) throw new ConfigError(CLI, '--public-ip', JSON.stringify(opts.publicIp), 'is not an IPv4 address');
  }
  const attempts: (() => Found)[] = [];
  for (const v of opts.ifaces ?? []) {
    const ip = parseIpv4(v);
    attempts.push(() => (ip === null ? byName(links, v) : byAddress(links, ip)));
  }
  for (const r of opts.ifaceRegexes ?? []) attempts.push(() => byRegex(links, r));
  if (attempts.length === 0 && publicIp !== null) {
    const ip = publicIp;
    attempts.push(() => {
      const f = byAddress(links, ip);
      return 'error' in f
        ? { error: `no interface has the --public-ip address ${formatIpv4(ip)}: pass --iface as well when the public IP is not local (flanneld requires this too)` }
        : f;
    });
  }
  if (attempts.length === 0) attempts.push(() => byDefaultRoute(links, routes));

  const errors: string[] = [];
  for (const attempt of attempts) {
    const f = attempt();
    if ('error' in f) { errors.push(f.error); continue; }
    const addr = f.addr ?? usableIpv4(f.link)[0];
    if (addr === undefined) { errors.push(`interface ${f.link.ifname} has no IPv4 address`); continue; }
    if (!(f.link.mtu > 0)) { errors.push(`cannot determine the MTU of interface ${f.link.ifname}`); continue; }
    return { name: f.link.ifname, index: f.link.ifindex, mtu: f.link.mtu, ifaceAddr: addr, publicIp: publicIp ?? addr };
  }
  throw new Error(errors.length === 1 ? errors[0] : `no interface matches --iface/--iface-regex: ${errors.join('; ')}`);
}

/**
 * chooseExternalInterface runs `ip -j addr show` (and `ip -j route show default` when
 * needed) through `exec` and returns selectExternalInterface's answer.
 */
export async function chooseExternalInterface(exec: Exec, opts: ExternalInterfaceOptions): Promise<ExternalInterface> {
  const links = parseIpAddrJson((await runChecked(exec, ['ip', '-j', 'addr', 'show'])) ?? '');
  const routes = needsDefaultRoute(opts) ? parseIpRouteJson((await runChecked(exec, ['ip', '-j', 'route', 'show', 'default'])) ?? '') : [];
  return selectExternalInterface(links, routes, opts);
}
