// SPDX-License-Identifier: Apache-2.0
/**
 * `vxtun run`: start a node the way flanneld starts, stay up until SIGTERM/SIGINT (or
 * until the store revokes our lease), then remove what it added.
 *
 *   1. health server        --healthz-port > 0 (/healthz 200 at once, /readyz 503)
 *   2. subnet manager       kube with --kube-subnet-mgr, else etcd (or vxtun's static)
 *   3. network config       fetched first: a bad net-conf.json fails before anything else
 *   4. br_netfilter         flanneld (iptables mode) refuses to start without it
 *   5. startVtep            interface, lease, UDP port, TUN, routes, dataplane; then
 *      iptables rules       (daemon/traffic.ts, flanneld's order: before subnet.env)
 *      subnet.env           FLANNEL_IPMASQ = --ip-masq
 *   6. /readyz 200
 * Teardown runs in reverse: /readyz 503, rules, dataplane, host state, health server.
 */
import { createLogger } from '../daemon/log.js';
import { startHealthServer, type HealthServer } from '../daemon/health.js';
import { checkBrNetfilter, startTraffic } from '../daemon/traffic.js';
import { startVtep, type Vtep } from '../daemon/vtep.js';
import { watchGc } from '../daemon/gc-stats.js';
import { startOperatorServices } from '../daemon/operator.js';
import { RealExec, type Exec } from '../host/exec.js';
import { createSubnetManager, type SubnetManagerChoice } from '../subnet/create.js';
import type { Logger } from '../daemon/log.js';
import { UsageError } from './errors.js';
import type { RunFlags } from './run-command.js';

export type { RunFlags } from './run-command.js';

/** Seams for tests; production uses the defaults. */
export interface RunDeps {
  /** Environment for NODE_NAME (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Where /proc lives (default /proc). */
  procRoot?: string;
  exec?: Exec;
}

/**
 * subnetManagerChoice maps the flags to the subnet manager flanneld would build: etcd
 * (endpoints split on ",", prefix, TLS/auth, renew margin, subnet.env for the previous
 * subnet), kube (API URL, kubeconfig, annotation prefix, net-conf path, NODE_NAME,
 * --set-node-network-unavailable), or vxtun's static leases file.
 */
export function subnetManagerChoice(flags: RunFlags, env: NodeJS.ProcessEnv = process.env): SubnetManagerChoice {
  switch (flags.subnetMgr) {
    case 'static':
      if (flags.leases === undefined) throw new UsageError('--subnet-mgr static needs --leases <path> (a JSON file of flannel subnet keys → lease values)');
      return { kind: 'static', netConfigPath: flags.netConfigPath, leasesPath: flags.leases };
    case 'etcd':
      return {
        kind: 'etcd',
        endpoints: flags.etcdEndpoints,
        prefix: flags.etcdPrefix,
        ...(flags.etcdKeyfile !== undefined ? { keyfile: flags.etcdKeyfile } : {}),
        ...(flags.etcdCertfile !== undefined ? { certfile: flags.etcdCertfile } : {}),
        ...(flags.etcdCafile !== undefined ? { cafile: flags.etcdCafile } : {}),
        ...(flags.etcdUsername !== undefined ? { username: flags.etcdUsername } : {}),
        ...(flags.etcdPassword !== undefined ? { password: flags.etcdPassword } : {}),
        renewMarginMinutes: flags.subnetLeaseRenewMargin,
        subnetFile: flags.subnetFile,
      };
    case 'kube': {
      const nodeName = env.NODE_NAME;
      return {
        kind: 'kube',
        ...(flags.kubeApiUrl !== undefined ? { apiUrl: flags.kubeApiUrl } : {}),
        ...(flags.kubeconfigFile !== undefined ? { kubeconfigFile: flags.kubeconfigFile } : {}),
        annotationPrefix: flags.kubeAnnotationPrefix,
        netConfigPath: flags.netConfigPath,
        ...(nodeName !== undefined && nodeName !== '' ? { nodeName } : {}),
        setNodeNetworkUnavailable: flags.setNodeNetworkUnavailable,
      };
    }
  }
}

/** The flags as logged at startup (flanneld logs its CLI config too), the etcd password hidden. */
function loggable(flags: RunFlags): Record<string, unknown> {
  return { ...flags, ...(flags.etcdPassword !== undefined ? { etcdPassword: '(hidden)' } : {}) };
}

export async function runCommand(flags: RunFlags, deps: RunDeps = {}): Promise<void> {
  const log = createLogger(flags.logLevel);
  const exec = deps.exec ?? new RealExec();
  log.info({ flags: loggable(flags) }, 'CLI flags config');
  const health = flags.healthzPort > 0 ? await startHealthServer({ host: flags.healthzIp, port: flags.healthzPort, log }) : null;
  try {
    const subnets = await createSubnetManager(subnetManagerChoice(flags, deps.env ?? process.env), log);
    try {
      await subnets.getNetworkConfig();
      const brProblem = await checkBrNetfilter(deps.procRoot);
      if (brProblem !== null) throw new UsageError(brProblem);
    } catch (err) {
      await subnets.close();
      throw err;
    }
    watchGc();
    const vtep = await startVtep({
      subnets,
      subnetFile: flags.subnetFile,
      ifaces: flags.iface,
      ifaceRegexes: flags.ifaceRegex,
      ...(flags.publicIp !== undefined ? { publicIp: flags.publicIp } : {}),
      ...(flags.tunName !== undefined ? { tunName: flags.tunName } : {}),
      ...(deps.procRoot !== undefined ? { procRoot: deps.procRoot } : {}),
      ipMasq: flags.ipMasq,
      validateSource: flags.validateSource,
      udpChecksum: flags.udpChecksum,
      ...(flags.offload === false ? { offload: false } : {}),
      disabledOffloads: flags.disabledOffloads,
      exec,
      log,
      beforeSubnetFile: async ({ netconf, own }) => {
        const traffic = await startTraffic({
          exec, log, ipMasq: flags.ipMasq, ipMasqFullyRandomDisable: flags.ipMasqFullyRandomDisable,
          forwardRules: flags.iptablesForwardRules, resyncSeconds: flags.iptablesResync, subnetFile: flags.subnetFile,
        }, netconf.network, own.subnet);
        return traffic === null ? undefined : () => traffic.stop();
      },
    });
    const operator = await startOperatorServices(vtep, flags, log); // control socket + metrics; stops vtep if it fails
    health?.setReady(true);
    await untilShutdown(vtep, log, health);
    await operator.stop();
  } finally {
    await health?.close();
  }
}

/** Resolves once SIGTERM/SIGINT or a lost lease has stopped `vtep` (exit code 1 when the lease was lost or teardown failed). */
function untilShutdown(vtep: Vtep, log: Logger, health: HealthServer | null): Promise<void> {
  return new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      log.info({ signal }, 'shutting down');
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      health?.setReady(false);
      vtep.stop().then(resolve, (err) => {
        log.error({ err: (err as Error).message }, 'teardown failed');
        process.exitCode = 1;
        resolve();
      });
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
    vtep.onLeaseLost((reason) => {
      log.error({ reason }, 'Lease has been revoked. Shutting down daemon.');
      process.exitCode = 1;
      stop('SIGTERM');
    });
  });
}
