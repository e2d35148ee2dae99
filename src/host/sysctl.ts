// SPDX-License-Identifier: Apache-2.0
/**
 * Kernel settings vxtun depends on, read from /proc (procRoot is injectable so tests can
 * use a temp directory). vxtun only reads them: changing sysctls is the node operator's
 * decision (flanneld does not set ip_forward either; kubeadm's preflight checks it).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Linux's default net.ipv4.ip_local_port_range. */
export const DEFAULT_LOCAL_PORT_RANGE: readonly [number, number] = [32768, 60999];

/**
 * readSysctl returns the trimmed value of sysctl `key` (dotted, e.g. `net.ipv4.ip_forward`)
 * from `<procRoot>/sys/...`. Throws the read error (ENOENT when the key does not exist).
 */
export async function readSysctl(key: string, procRoot = '/proc'): Promise<string> {
  return (await readFile(join(procRoot, 'sys', ...key.split('.')), 'utf8')).trim();
}

/**
 * checkIpForward returns null when net.ipv4.ip_forward is 1, else a message saying what
 * breaks and how to fix it (also when the file is missing or unreadable).
 */
export async function checkIpForward(procRoot = '/proc'): Promise<string | null> {
  let v: string;
  try {
    v = await readSysctl('net.ipv4.ip_forward', procRoot);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    const file = join(procRoot, 'sys/net/ipv4/ip_forward');
    return `cannot read ${file} (${code}): unable to check net.ipv4.ip_forward; pod traffic between cni0 and flannel.1 needs it set to 1 (\`sysctl -w net.ipv4.ip_forward=1\`)`;
  }
  if (v === '1') return null;
  return `net.ipv4.ip_forward is ${v || '(empty)'}: this node will not forward pod traffic between cni0 and flannel.1; enable it with \`sysctl -w net.ipv4.ip_forward=1\``;
}

/**
 * readLocalPortRange returns net.ipv4.ip_local_port_range as [min, max] (the range the
 * kernel draws VXLAN source ports from), or DEFAULT_LOCAL_PORT_RANGE when the file is
 * unreadable or malformed (not two integers with 1 ≤ min ≤ max ≤ 65535).
 */
export async function readLocalPortRange(procRoot = '/proc'): Promise<[number, number]> {
  try {
    const m = /^(\d+)\s+(\d+)$/.exec(await readSysctl('net.ipv4.ip_local_port_range', procRoot));
    if (m !== null) {
      const min = Number(m[1]);
      const max = Number(m[2]);
      if (min >= 1 && min <= max && max <= 65535) return [min, max];
    }
  } catch {
    // fall through to the default
  }
  return [DEFAULT_LOCAL_PORT_RANGE[0], DEFAULT_LOCAL_PORT_RANGE[1]];
}
