// SPDX-License-Identifier: Apache-2.0
/**
 * /run/flannel/subnet.env, written exactly as flanneld's WriteSubnetFile does, because the
 * stock flannel CNI plugin (and mk-docker-opts.sh) parse it:
 *
 *   FLANNEL_NETWORK=10.244.0.0/16
 *   FLANNEL_SUBNET=10.244.1.1/24
 *   FLANNEL_MTU=1450
 *   FLANNEL_IPMASQ=true
 *
 * Design notes: FLANNEL_SUBNET is the lease subnet with its address incremented by one
 * (flannel's sn.IncrementIP(): the bridge cni0 takes that address). The file is replaced
 * atomically (temp file in the same directory, fsync, rename; mode 0644, directory 0755)
 * because the CNI plugin may read it at any moment, and a half-written file fails pod
 * creation. IPv6 lines are never written: vxtun refuses EnableIPv6.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { canonicalCidr, formatCidr, formatIpv4, makeCidr, parseCidr, type Cidr } from './cidr.js';

/** flanneld's default --subnet-file. */
export const DEFAULT_SUBNET_FILE = '/run/flannel/subnet.env';

/** What subnet.env reports. */
export interface SubnetEnv {
  /** The cluster Network (FLANNEL_NETWORK). */
  readonly network: Cidr;
  /** This node's lease subnet; FLANNEL_SUBNET is its address + 1. */
  readonly subnet: Cidr;
  /** FLANNEL_MTU: the overlay MTU (underlay - 50). */
  readonly mtu: number;
  /** FLANNEL_IPMASQ: the --ip-masq flag. */
  readonly ipMasq: boolean;
}

/** formatSubnetEnv renders the file content, byte for byte as flanneld writes it. */
export function formatSubnetEnv(env: SubnetEnv): string {
  const sn = canonicalCidr(env.subnet);
  return (
    `FLANNEL_NETWORK=${formatCidr(canonicalCidr(env.network))}\n` +
    `FLANNEL_SUBNET=${formatIpv4((sn.ip + 1) >>> 0)}/${sn.prefixLen}\n` +
    `FLANNEL_MTU=${env.mtu}\n` +
    `FLANNEL_IPMASQ=${env.ipMasq ? 'true' : 'false'}\n`
  );
}

/**
 * writeSubnetEnv atomically replaces `path` with formatSubnetEnv(env): the directory is
 * created (0755) if needed, the content goes to a temp file in the same directory which is
 * fsynced, set to 0644 and renamed over `path`. On failure the temp file is removed and
 * the previous file (if any) is left untouched.
 */
export async function writeSubnetEnv(path: string, env: SubnetEnv): Promise<void> {
  await writeFileAtomic(path, formatSubnetEnv(env), 0o644);
}

/** writeFileAtomic: temp file + fsync + chmod + rename in the target's directory. */
export async function writeFileAtomic(path: string, content: string, mode: number): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true, mode: 0o755 });
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const fh = await open(tmp, 'wx', mode);
  try {
    try {
      await fh.writeFile(content, 'utf8');
      await fh.chmod(mode); // exact mode regardless of umask, as renameio's WithPermissions
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  // Make the rename durable too (best effort: not every filesystem supports it).
  try {
    const d = await open(dir, 'r');
    await d.sync().finally(() => d.close());
  } catch {
    // ignore
  }
}

/**
 * readSubnetEnv reads a subnet.env (godotenv-like: `KEY=value` lines, blank lines and
 * `#` comments ignored, an `export ` prefix and matching surrounding quotes stripped).
 * Returns null when the file does not exist; other read errors are thrown.
 */
export async function readSubnetEnv(path: string): Promise<Map<string, string> | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  return parseEnv(text);
}

/** parseEnv parses env-file text as readSubnetEnv does. Later duplicates win. */
export function parseEnv(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of text.split(/\r?\n/)) {
    let line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('export ')) line = line.slice(7).trimStart();
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    const key = line.slice(0, eq).trim();
    let value = line.slice(eq + 1).trim();
    const q = value[0];
    if ((q === '"' || q === "'") && value.length >= 2 && value.endsWith(q)) value = value.slice(1, -1);
    else value = value.replace(/\s+#.*$/, ''); // unquoted inline comment
    out.set(key, value);
  }
  return out;
}

/**
 * previousSubnet returns the lease subnet recorded in FLANNEL_SUBNET (first entry of a
 * comma-separated list, host bits cleared: 10.244.1.1/24 → 10.244.1.0/24), or null when
 * absent or malformed. flanneld's etcd manager tries this subnet first when it restarts.
 */
export function previousSubnet(env: Map<string, string>): Cidr | null {
  const first = env.get('FLANNEL_SUBNET')?.split(',')[0]?.trim();
  const c = first === undefined ? null : parseCidr(first);
  return c === null ? null : makeCidr(c.network, c.prefixLen);
}
