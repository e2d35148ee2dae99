// SPDX-License-Identifier: Apache-2.0
/**
 * What the demo needs before it touches anything, each missing piece refused with one
 * sentence (UsageError, exit 2): root; /dev/net/tun; no flannel.1 in this host's network
 * namespace (only read: `ip link show flannel.1`); the tools it runs. Missing tools are
 * installed with apt-get (one `apt-get update` first) when running as root on
 * Debian/Ubuntu; elsewhere the sentence names them and their packages.
 */
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../cli/errors.js';
import { execAsync } from '../lab/proc.js';

/** Tool → Debian/Ubuntu package. */
export const TOOL_PACKAGES: Readonly<Record<string, string>> = {
  ip: 'iproute2', ethtool: 'ethtool', tshark: 'tshark', tcpdump: 'tcpdump', iptables: 'iptables', ping: 'iputils-ping',
};

/** Tools the demo runs: ip (namespaces, links), ethtool (tx checksum offload off on the underlay), iptables (--ip-masq rules). */
export const DEMO_TOOLS = ['ip', 'ethtool', 'iptables'] as const;

/** The full path of `tool` on PATH, or null. */
export function which(tool: string, envPath = process.env.PATH ?? ''): string | null {
  for (const dir of envPath.split(':')) {
    if (dir === '') continue;
    const p = path.join(dir, tool);
    try { accessSync(p, constants.X_OK); return p; } catch { /* next */ }
  }
  for (const dir of ['/usr/sbin', '/sbin']) { // root's tools when PATH lacks sbin
    const p = path.join(dir, tool);
    if (existsSync(p)) return p;
  }
  return null;
}

/** True on Debian, Ubuntu and derivatives with apt-get. */
export function isDebianLike(osRelease = '/etc/os-release'): boolean {
  if (which('apt-get') === null) return false;
  try {
    const text = readFileSync(osRelease, 'utf8');
    return /^(ID|ID_LIKE)=.*\b(debian|ubuntu)\b/m.test(text);
  } catch {
    return existsSync('/etc/debian_version');
  }
}

export interface PreflightOptions {
  tools?: readonly string[];
  /** Where progress lines go (apt-get runs). */
  say?: (line: string) => void;
  /** Install missing tools with apt-get when possible (default true). */
  install?: boolean;
  /** Test seams. */
  uid?: number;
  tunPath?: string;
}

/** Runs every check; resolves when the demo can run, else throws a UsageError. */
export async function preflight(o: PreflightOptions = {}): Promise<void> {
  const say = o.say ?? (() => {});
  const uid = o.uid ?? (typeof process.getuid === 'function' ? process.getuid() : -1);
  if (uid !== 0) throw new UsageError('vxtun demo needs root: it creates network namespaces, TUN devices and raw sockets (try `sudo npm start`)');
  const tun = o.tunPath ?? '/dev/net/tun';
  if (!existsSync(tun)) throw new UsageError(`${tun} is missing: load the tun module (\`modprobe tun\`) or run the demo where TUN devices are available`);

  const tools = o.tools ?? DEMO_TOOLS;
  let missing = tools.filter((t) => which(t) === null);
  if (missing.length > 0 && (o.install ?? true) && isDebianLike()) {
    const pkgs = [...new Set(missing.map((t) => TOOL_PACKAGES[t] ?? t))];
    say(`installing ${pkgs.join(', ')} with apt-get (missing: ${missing.join(', ')})`);
    const up = await execAsync(['env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get', 'update'], 600_000);
    if (up.status !== 0) throw new UsageError(`missing tools: ${missing.join(', ')}; \`apt-get update\` failed: ${up.stderr.trim().split('\n').at(-1) ?? ''}`);
    const inst = await execAsync(['env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get', 'install', '-y', '--no-install-recommends', ...pkgs], 900_000);
    if (inst.status !== 0) throw new UsageError(`missing tools: ${missing.join(', ')}; \`apt-get install ${pkgs.join(' ')}\` failed: ${inst.stderr.trim().split('\n').at(-1) ?? ''}`);
    missing = tools.filter((t) => which(t) === null);
  }
  if (missing.length > 0) {
    const pkgs = missing.map((t) => `${t} (package ${TOOL_PACKAGES[t] ?? t})`);
    throw new UsageError(`missing tools: ${pkgs.join(', ')}: install them and run the demo again`);
  }

  const link = await execAsync(['ip', 'link', 'show', 'flannel.1'], 10_000);
  if (link.status === 0) {
    throw new UsageError('this host already has a flannel.1 (flanneld or vxtun runs here): the demo builds its own cluster in network namespaces and will not run next to a live one; stop it first');
  }
}
