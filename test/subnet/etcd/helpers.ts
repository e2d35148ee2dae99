// SPDX-License-Identifier: Apache-2.0
/**
 * Shared fixtures for the etcd manager's unit tests: a manual clock, a MemoryRegistry,
 * a logger whose lines the test can read, a scratch subnet.env, and flannel-format values.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino, type Logger } from 'pino';
import { parseIpv4 } from '../../../src/config/cidr.js';
import { ManualClock } from '../../../src/subnet/etcd/clock.js';
import { EtcdSubnetManager, type EtcdManagerOptions } from '../../../src/subnet/etcd/manager.js';
import { MemoryRegistry } from '../../../src/subnet/etcd/memory-registry.js';

export const NETCONF = '{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan"}}';
export const MY_IP = '192.168.50.1';
export const MY_IP_N = parseIpv4(MY_IP)!;
export const HOUR = 3600_000;

/** flanneld's value for a vxlan lease, byte for byte. */
export function value(ip: string, mac: string, vni = 1): string {
  return `{"PublicIP":"${ip}","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":${vni},"VtepMAC":"${mac}"}}`;
}

/** A logger that keeps every line (parsed) for assertions. */
export function captureLog(): { log: Logger; lines: () => Array<Record<string, unknown>>; msgs: () => string[]; text: () => string } {
  const out: string[] = [];
  const log = pino({ level: 'debug' }, { write: (s: string) => { out.push(s); } });
  const lines = () => out.map((s) => JSON.parse(s) as Record<string, unknown>);
  return { log, lines, msgs: () => lines().map((l) => String(l.msg)), text: () => out.join('') };
}

/** A MAC source that hands out 02:00:00:00:00:01, :02, … and counts the calls. */
export function macSource(): { newMac: () => string; calls: () => number } {
  let n = 0;
  return { newMac: () => `02:00:00:00:00:${(++n).toString(16).padStart(2, '0')}`, calls: () => n };
}

export interface Fixture {
  clock: ManualClock;
  reg: MemoryRegistry;
  cap: ReturnType<typeof captureLog>;
  subnetFile: string;
  mgr: EtcdSubnetManager;
  /** A new manager on the same store (another start of this node). */
  restart(over?: Partial<EtcdManagerOptions>): EtcdSubnetManager;
  writeSubnetEnv(flannelSubnet: string): void;
}

/** A manager over a MemoryRegistry holding NETCONF (unless `config` says otherwise); cleaned up by t.teardown. */
export function fixture(t: { teardown(fn: () => unknown): void }, o: { config?: string | null; over?: Partial<EtcdManagerOptions> } = {}): Fixture {
  const clock = new ManualClock();
  const reg = new MemoryRegistry(clock);
  reg.setConfig(o.config === undefined ? NETCONF : o.config);
  const cap = captureLog();
  const dir = mkdtempSync(path.join(tmpdir(), 'vxtun-etcd-unit-'));
  const subnetFile = path.join(dir, 'subnet.env');
  const managers: EtcdSubnetManager[] = [];
  const make = (over: Partial<EtcdManagerOptions> = {}): EtcdSubnetManager => {
    const m = new EtcdSubnetManager({ registry: reg, log: cap.log, clock, subnetFile, renewMarginSec: 3600, random: () => 0, ...o.over, ...over });
    managers.push(m);
    return m;
  };
  t.teardown(async () => {
    for (const m of managers) await m.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    clock, reg, cap, subnetFile, mgr: make(), restart: make,
    writeSubnetEnv: (s) => writeFileSync(subnetFile, `FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=${s}\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n`),
  };
}
