// SPDX-License-Identifier: Apache-2.0
/**
 * The etcd subnet manager's entry point: flanneld's default subnet manager (no
 * --kube-subnet-mgr), reading and writing flannel's v3 layout under --etcd-prefix.
 *
 * Test hook: VXTUN_TEST_SUBNET_LEASE="ttl=<s>,margin=<s>,retry=<s>" replaces the 24 h lease
 * TTL, the renew margin (--subnet-lease-renew-margin is in minutes, too coarse for a test
 * that must see a renewal) and the 1 min retry after a failed renewal. It is logged as a
 * warning whenever it is in effect; production never sets it.
 */
import type { Logger } from '../../daemon/log.js';
import { UsageError } from '../../cli/errors.js';
import type { EtcdOptions } from '../create.js';
import type { SubnetManager } from '../manager.js';
import { Etcd3Registry } from './etcd3-registry.js';
import { EtcdSubnetManager, SUBNET_TTL_SEC } from './manager.js';

export const TEST_HOOK_ENV = 'VXTUN_TEST_SUBNET_LEASE';

/** Parses the test hook; throws UsageError naming the variable when it is malformed. */
export function parseLeaseTimingHook(text: string): { ttlSec: number; marginSec: number; retrySec: number } {
  const out = new Map<string, number>();
  for (const part of text.split(',')) {
    const m = /^\s*(ttl|margin|retry)=(\d{1,6})\s*$/.exec(part);
    if (m === null || out.has(m[1]!)) throw new UsageError(`${TEST_HOOK_ENV}=${JSON.stringify(text)}: want "ttl=<s>,margin=<s>,retry=<s>"`);
    out.set(m[1]!, Number(m[2]));
  }
  const ttlSec = out.get('ttl') ?? SUBNET_TTL_SEC;
  const marginSec = out.get('margin') ?? 3600;
  const retrySec = out.get('retry') ?? 60;
  if (ttlSec < 2 || marginSec >= ttlSec || retrySec < 1) {
    throw new UsageError(`${TEST_HOOK_ENV}=${JSON.stringify(text)}: need ttl >= 2, margin < ttl, retry >= 1`);
  }
  return { ttlSec, marginSec, retrySec };
}

/**
 * Checks --etcd-endpoints: each `http(s)://host:port` (a trailing slash is dropped) or a
 * bare `host:port` (taken as http://, as etcd's Go client does). Throws UsageError.
 */
export function normalizeEndpoints(endpoints: readonly string[]): string[] {
  if (endpoints.length === 0) throw new UsageError('--etcd-endpoints is empty: give at least one http(s)://host:port');
  return endpoints.map((e) => {
    const url = /^[a-z][a-z0-9+.-]*:\/\//i.test(e) ? e : `http://${e}`;
    if (!/^https?:\/\/[^/\s]+:\d{1,5}\/?$/.test(url)) {
      throw new UsageError(`--etcd-endpoints: ${JSON.stringify(e)} is not an http(s)://host:port URL`);
    }
    return url.replace(/\/$/, '');
  });
}

/** Builds the manager over the etcd3 client. Flag problems are UsageErrors (exit 2). */
export async function createEtcdSubnetManager(o: EtcdOptions, log: Logger): Promise<SubnetManager> {
  const endpoints = normalizeEndpoints(o.endpoints);
  if (!Number.isInteger(o.renewMarginMinutes) || o.renewMarginMinutes < 1 || o.renewMarginMinutes > 1439) {
    throw new UsageError(`--subnet-lease-renew-margin: ${o.renewMarginMinutes} is not an integer in 1..1439 (minutes)`);
  }
  let timing = { ttlSec: SUBNET_TTL_SEC, marginSec: o.renewMarginMinutes * 60, retrySec: 60 };
  const hook = process.env[TEST_HOOK_ENV];
  if (hook !== undefined && hook !== '') {
    timing = parseLeaseTimingHook(hook);
    log.warn({ env: TEST_HOOK_ENV, ...timing }, 'test hook in effect: etcd lease TTL, renew margin and retry overridden');
  }
  let registry: Etcd3Registry;
  try {
    registry = new Etcd3Registry({
      endpoints, prefix: o.prefix,
      ...(o.cafile ? { cafile: o.cafile } : {}), ...(o.certfile ? { certfile: o.certfile } : {}), ...(o.keyfile ? { keyfile: o.keyfile } : {}),
      ...(o.username ? { username: o.username } : {}), ...(o.password ? { password: o.password } : {}),
    });
  } catch (err) {
    throw new UsageError((err as Error).message, { cause: err });
  }
  log.info({ endpoints: registry.endpoints, prefix: o.prefix }, 'using the etcd subnet manager');
  return new EtcdSubnetManager({
    registry, log, subnetFile: o.subnetFile,
    ttlSec: timing.ttlSec, renewMarginSec: timing.marginSec, renewRetrySec: timing.retrySec,
  });
}
