// SPDX-License-Identifier: Apache-2.0
/**
 * The demo's pods, made the way a kubelet makes them once flannel is up: a network
 * namespace per pod, then vxtun's flannel-compatible CNI plugin (`bin/vxtun-cni.js`, what
 * kube-vxtun.yml installs as /opt/cni/bin/flannel) run inside the node with CNI_COMMAND=ADD.
 * It reads the node's subnet.env and delegates to the reference bridge and host-local
 * plugins (cni0, veth, an address from FLANNEL_SUBNET). When the plugin or the reference
 * plugins are missing, pods are made by the lab exactly as that chain would (LabNode.addPod).
 *
 * Every namespace is named `<lab prefix>-pod-<name>` and removed by cleanup() (also
 * registered for exit/SIGINT); host-local's state lives in the demo's temp directory.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LabNode } from '../lab/node.js';
import type { LabFiles } from '../lab/vxtun.js';
import { Netns } from '../lab/netns.js';
import { ProcessTracker, registerCleanup } from '../lab/proc.js';
import { startHttpServer } from '../lab/probe.js';

/** A pod as the demo uses it (LabPod satisfies it). */
export interface DemoPod {
  readonly name: string;
  readonly ip: string;
  readonly ns: Netns;
  readonly node: { readonly name: string };
  spawn(argv: readonly string[], options?: SpawnOptions): ChildProcess;
}

export interface PodMaker {
  /** One line saying how pods are made. */
  readonly how: string;
  create(node: LabNode, name: string): Promise<DemoPod>;
  /** Kills the pods' processes and deletes their namespaces (synchronous, idempotent). */
  cleanup(): void;
}

const BIN_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', ...(import.meta.url.includes('/dist/') ? ['..'] : []), 'bin');
const CNI_PLUGIN = path.join(BIN_DIR, 'vxtun-cni.js');

/** Where the reference bridge + host-local plugins are, when vxtun's CNI plugin is built too; else null. */
export function cniPluginPath(): string | null {
  if (!existsSync(CNI_PLUGIN) || !existsSync(path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'cni', 'main.js'))) return null;
  return ['/opt/cni/bin', '/usr/lib/cni'].find((d) => existsSync(path.join(d, 'bridge')) && existsSync(path.join(d, 'host-local'))) ?? null;
}

/** Pods made by the lab, as the bridge plugin would (no plugin binaries needed). */
export function labPodMaker(): PodMaker {
  return {
    how: 'pods wired by the lab as flannel\'s CNI chain would (bridge on cni0, host-local from FLANNEL_SUBNET): no CNI plugins here',
    create: async (node, name) => node.addPod(name),
    cleanup: () => {},
  };
}

/** Runs the CNI plugin once; resolves with its stdout, rejects with its CNI error. */
function runCni(node: LabNode, env: Record<string, string>, stdin: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', node.ns.name, process.execPath, CNI_PLUGIN], { stdio: ['pipe', 'pipe', 'pipe'], env });
    let out = '';
    let err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`CNI ADD on ${node.name} failed (exit ${code}): ${(out || err).trim()}`));
    });
    child.stdin.end(stdin);
  });
}

/** Pods made through vxtun's CNI plugin, delegating to the reference plugins in cniPath. */
export function cniPodMaker(o: { prefix: string; files: LabFiles; cniPath: string }): PodMaker {
  const made: Netns[] = [];
  const tracker = new ProcessTracker();
  const cleanup = (): void => {
    tracker.killAll();
    for (const ns of made.splice(0).reverse()) ns.delete();
  };
  const unregister = registerCleanup(cleanup);
  return {
    how: `pods made by vxtun's CNI plugin (bin/vxtun-cni.js, type "flannel") delegating to bridge + host-local from ${o.cniPath}`,
    async create(node, name) {
      const ns = Netns.create(`${o.prefix}-pod-${name}`);
      made.push(ns);
      ns.tryExec('sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1');
      const scratch = path.join(o.files.dir, 'cni', node.name);
      mkdirSync(scratch, { recursive: true, mode: 0o700 });
      const conf = {
        cniVersion: '0.3.1', name: 'cbr0', type: 'flannel', subnetFile: o.files.subnetFile(node), dataDir: path.join(scratch, 'flannel'),
        ipam: { dataDir: path.join(scratch, 'ipam') }, delegate: { hairpinMode: true, isDefaultGateway: true },
      };
      const out = await runCni(node, {
        PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', CNI_COMMAND: 'ADD', CNI_CONTAINERID: name,
        CNI_NETNS: `/var/run/netns/${ns.name}`, CNI_IFNAME: 'eth0', CNI_ARGS: 'IgnoreUnknown=1', CNI_PATH: o.cniPath,
      }, JSON.stringify(conf));
      const result = JSON.parse(out) as { ips?: Array<{ address?: string }> };
      const ip = result.ips?.[0]?.address?.split('/')[0];
      if (ip === undefined) throw new Error(`CNI ADD on ${node.name} returned no address: ${out.trim()}`);
      return { name, ip, ns, node, spawn: (argv, options) => tracker.add(ns.spawn(argv, options)) };
    },
    cleanup: () => { cleanup(); unregister(); },
  };
}

/** Starts the kuard-style JSON server of the lab (startHttpServer) in `pod`; returns its stop(). */
export async function startKuard(pod: DemoPod, port: number): Promise<() => Promise<void>> {
  return (await startHttpServer(pod, port)).stop;
}
