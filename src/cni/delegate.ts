// SPDX-License-Identifier: Apache-2.0
/**
 * The delegate netconf, built exactly as flannel's CNI plugin builds it (cmdAdd,
 * doCmdAdd, getDelegateIPAM in flannel-io/cni-plugin), and its scratch copy in
 * <dataDir>/<containerID> that DEL and CHECK read back.
 *
 * Building (ADD):
 * 1. delegate = netconf.delegate or {}; it must not hold `name` or `ipam`, and its `type`,
 *    if present, must be a string (flannel's error texts, code 7).
 * 2. runtimeConfig (when given) is copied into the delegate.
 * 3. name = netconf.name; defaults when the key is absent: type "bridge",
 *    ipMasq = !FLANNEL_IPMASQ, mtu = FLANNEL_MTU, and for type bridge isGateway = true;
 *    cniVersion = netconf.cniVersion when that is not empty.
 * 4. ipam = netconf.ipam or {} (user keys such as dataDir or subnet are kept), type
 *    defaults to "host-local", ranges = [[{subnet: FLANNEL_SUBNET network}], [{IPv6}]],
 *    routes = user routes (decoded as CNI types.Route and re-encoded) + one {dst} per
 *    FLANNEL_NETWORK / FLANNEL_IPV6_NETWORK entry.
 * The bytes are Go's json.Marshal of that map (src/cni/gojson.ts): sorted keys, routes in
 * struct order dst, gw, mtu, advmss, priority, table, scope (empty ones omitted).
 *
 * Scratch file: directory created 0700, file 0600 (flannel's MkdirAll(dataDir, 0700) and
 * WriteFile(…, 0600)), written atomically here (temp + fsync + rename) where flannel
 * truncates in place.
 */
import { mkdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { isConfigError } from '../config/errors.js';
import { JsonFields, isJsonObject, type JsonObject } from '../config/json.js';
import { writeFileAtomic } from '../config/subnet-env.js';
import { CniCode, CniError } from './errors.js';
import { goJson, goStruct, type GoStruct } from './gojson.js';
import { formatIp, formatIpNet, parseIp, parseIpNet } from './ipnet.js';
import { NETCONF_SOURCE, type FlannelNetConf } from './netconf.js';
import type { FlannelSubnetEnv } from './subnet-env.js';

const has = (o: JsonObject, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);
const invalid = (msg: string): CniError => new CniError(CniCode.InvalidNetworkConfig, msg);

/** decodeRoute decodes one ipam.routes element as CNI's types.Route and re-encodes it. */
function decodeRoute(v: unknown, path: string): GoStruct {
  if (!isJsonObject(v)) throw invalid(`${NETCONF_SOURCE}: ${path}: ${JSON.stringify(v)} is not a JSON object`);
  const f = new JsonFields(NETCONF_SOURCE, `${path}.`, v, ['dst', 'gw', 'mtu', 'advmss', 'priority', 'table', 'scope']);
  const dstText = f.string('dst');
  if (dstText === undefined) throw invalid(`${NETCONF_SOURCE}: ${path}.dst: (missing) a route needs a destination CIDR`);
  const dst = parseIpNet(dstText);
  if (dst === null) throw invalid(`${NETCONF_SOURCE}: ${path}.dst: invalid CIDR address: ${dstText}`);
  const gwText = f.string('gw') ?? '';
  const gw = gwText === '' ? null : parseIp(gwText);
  if (gw === null && gwText !== '') throw invalid(`${NETCONF_SOURCE}: ${path}.gw: invalid IP address: ${gwText}`);
  const int = (k: string): number | undefined => f.int(k, -0x80000000, 0x7fffffff);
  const nonZero = (n: number | undefined): number | undefined => (n === 0 ? undefined : n);
  return goStruct([
    ['dst', formatIpNet(dst)],
    ['gw', gw === null ? undefined : formatIp(gw)],
    ['mtu', nonZero(int('mtu'))],
    ['advmss', nonZero(int('advmss'))],
    ['priority', nonZero(int('priority'))],
    ['table', int('table')],
    ['scope', int('scope')],
  ]);
}

/** delegateIpam is getDelegateIPAM: the user's ipam completed with ranges and routes. */
function delegateIpam(conf: FlannelNetConf, env: FlannelSubnetEnv): JsonObject {
  const ipam: JsonObject = conf.ipam ?? {};
  if (!has(ipam, 'type')) ipam['type'] = 'host-local';
  const ranges: unknown[] = [];
  if (env.subnet !== undefined) ranges.push([{ subnet: formatIpNet(env.subnet) }]);
  if (env.ip6Subnet !== undefined) ranges.push([{ subnet: formatIpNet(env.ip6Subnet) }]);
  ipam['ranges'] = ranges.length === 0 ? null : ranges;

  const routes: GoStruct[] = [];
  const user = ipam['routes'];
  if (user !== undefined && user !== null) {
    if (!Array.isArray(user)) throw invalid(`${NETCONF_SOURCE}: ipam.routes: ${JSON.stringify(user)} is not a JSON array`);
    user.forEach((r, i) => routes.push(decodeRoute(r, `ipam.routes[${i}]`)));
  }
  for (const nw of [...env.networks, ...env.ip6Networks]) routes.push(goStruct([['dst', formatIpNet(nw)]]));
  ipam['routes'] = routes;
  return ipam;
}

/**
 * buildDelegate returns the delegate netconf object (goJson-ready) for ADD. Throws
 * CniError 7 for a forbidden or mistyped delegate key or a bad ipam.routes entry.
 */
export function buildDelegate(conf: FlannelNetConf, env: FlannelSubnetEnv): JsonObject {
  const d: JsonObject = conf.delegate ?? {};
  if (conf.delegate !== undefined) {
    if (has(d, 'type') && typeof d['type'] !== 'string') throw invalid("'delegate' dictionary, if present, must have (string) 'type' field");
    if (has(d, 'name')) throw invalid("'delegate' dictionary must not have 'name' field, it'll be set by flannel");
    if (has(d, 'ipam')) throw invalid("'delegate' dictionary must not have 'ipam' field, it'll be set by flannel");
  }
  if (conf.runtimeConfig !== undefined) d['runtimeConfig'] = conf.runtimeConfig;
  d['name'] = conf.name;
  if (!has(d, 'type')) d['type'] = 'bridge';
  if (!has(d, 'ipMasq')) d['ipMasq'] = !env.ipMasq; // if flannel is not masquerading, the bridge should
  if (!has(d, 'mtu')) d['mtu'] = env.mtu;
  if (d['type'] === 'bridge' && !has(d, 'isGateway')) d['isGateway'] = true;
  if (conf.cniVersion !== '') d['cniVersion'] = conf.cniVersion;
  try {
    d['ipam'] = delegateIpam(conf, env);
  } catch (err) {
    const msg = isConfigError(err) || err instanceof CniError ? (err as Error).message : String(err);
    throw invalid(`failed to assemble Delegate IPAM: failed to read IPAM routes: ${msg}`);
  }
  return d;
}

/** buildDelegateBytes: buildDelegate encoded as flannel's json.Marshal would. */
export function buildDelegateBytes(conf: FlannelNetConf, env: FlannelSubnetEnv): string {
  return goJson(buildDelegate(conf, env));
}

/** scratchPath is <dataDir>/<containerID> (the ID is validated by the caller: no `/`). */
export function scratchPath(dataDir: string, containerId: string): string {
  return join(dataDir, containerId);
}

/** saveDelegate writes the scratch file (dir 0700, file 0600, atomic). I/O errors → CniError 5. */
export async function saveDelegate(dataDir: string, containerId: string, bytes: string): Promise<void> {
  const path = scratchPath(dataDir, containerId);
  try {
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    await writeFileAtomic(path, bytes, 0o600);
  } catch (err) {
    throw new CniError(CniCode.IoFailure, `failed to save the delegate netconf to ${path}: ${(err as Error).message}`);
  }
}

/** loadDelegate reads the scratch file: its text, or null when it does not exist. Other errors → CniError 5. */
export async function loadDelegate(dataDir: string, containerId: string): Promise<string | null> {
  const path = scratchPath(dataDir, containerId);
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new CniError(CniCode.IoFailure, `failed to read the saved delegate netconf ${path}: ${(err as Error).message}`);
  }
}

/** removeDelegate deletes the scratch file; errors are ignored (the spec lets DEL go on). */
export async function removeDelegate(dataDir: string, containerId: string): Promise<void> {
  await unlink(scratchPath(dataDir, containerId)).catch(() => undefined);
}
