// SPDX-License-Identifier: Apache-2.0
/**
 * `vxtun run`: its command line, parsed as flanneld parses its own (Go's flag package),
 * from the table in flanneld-flags.ts, then completed from FLANNELD_* (env-flags.ts).
 *
 * Syntax accepted (Go's, so flanneld command lines and manifests work unchanged):
 *   --flag value   --flag=value   -flag value   -flag=value
 *   booleans: --flag (true), --flag=false / --flag=true (any strconv.ParseBool spelling),
 *             plus --no-flag (vxtun's addition, e.g. --no-iptables-forward-rules)
 *   repeatable flags (--iface, --iface-regex) append; any other flag repeated: the last wins
 *   -h / --help / -help print the flag table; --version / -version print the version.
 * Refusals (exit 2, one sentence naming the flag): unknown flags, malformed values,
 * flanneld flags vxtun does not implement (set to anything but flanneld's default), and
 * positional arguments (Go stops parsing there and flanneld silently ignores the rest; a
 * stray `false` after a boolean flag is the usual cause, so the message says so).
 * Everything here happens before the daemon touches the host.
 */
import type { Command } from 'commander';
import type { LogLevel } from '../daemon/log.js';
import { UsageError } from './errors.js';
import { parseOffloadSwitches, type OffloadSwitch } from '../dataplane/offload-switches.js';
import { flagsFromEnv } from './env-flags.js';
import {
  convertValue, dashed, flagSpec, formatFlagsHelp, isDefault, parseGoBool, refusal, type FlagSpec, type FlagValue,
} from './flanneld-flags.js';

/** The parsed flags of `vxtun run` (names follow the flags). */
export interface RunFlags {
  iface: string[];
  ifaceRegex: string[];
  publicIp?: string;
  etcdEndpoints: string[];
  etcdPrefix: string;
  etcdKeyfile?: string;
  etcdCertfile?: string;
  etcdCafile?: string;
  etcdUsername?: string;
  etcdPassword?: string;
  kubeSubnetMgr: boolean;
  kubeApiUrl?: string;
  kubeconfigFile?: string;
  kubeAnnotationPrefix: string;
  netConfigPath: string;
  subnetFile: string;
  subnetLeaseRenewMargin: number;
  ipMasq: boolean;
  ipMasqFullyRandomDisable: boolean;
  iptablesResync: number;
  iptablesForwardRules: boolean;
  healthzIp: string;
  healthzPort: number;
  setNodeNetworkUnavailable: boolean;
  /** -v (klog verbosity). */
  verbosity: number;
  /** --subnet-mgr, or as flanneld decides: kube with --kube-subnet-mgr, else etcd. */
  subnetMgr: 'static' | 'etcd' | 'kube';
  leases?: string;
  tunName?: string;
  /** --control-socket (default /run/vxtun/<tun>.sock) and --metrics-address (host:port or "off"). */
  controlSocket?: string;
  metricsAddress?: string;
  validateSource: boolean;
  udpChecksum: boolean;
  /** false with --no-offload (absent: offloads on). */
  offload?: false;
  /** --disable-offload, checked and in OFFLOAD_SWITCHES order. */
  disabledOffloads: OffloadSwitch[];
  /** --log-level if given, else from -v. */
  logLevel: LogLevel;
}

export type ParsedRun = { kind: 'run'; flags: RunFlags } | { kind: 'help' } | { kind: 'version' };

/** The log level -v N means when --log-level is not given: 0 info, 1..5 debug, 6+ trace (flanneld logs payloads at V(6)). */
export function logLevelForVerbosity(v: number): LogLevel {
  return v <= 0 ? 'info' : v < 6 ? 'debug' : 'trace';
}

interface ArgvResult { values: Map<string, FlagValue>; help: boolean; version: boolean }

/** Tokenizes argv per Go's flag rules (see the header); throws UsageError. */
function parseArgv(args: readonly string[]): ArgvResult {
  const values = new Map<string, FlagValue>();
  let help = false;
  let version = false;
  let lastBool: string | null = null;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') {
      const extra = args[i + 1];
      if (extra !== undefined) throw new UsageError(`unexpected argument ${JSON.stringify(extra)}: \`vxtun run\` takes flags only`);
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      const hint = lastBool !== null && parseGoBool(arg) !== null ? ` (a boolean flag takes its value after "=": ${lastBool}=${arg})` : '';
      throw new UsageError(`unexpected argument ${JSON.stringify(arg)}: \`vxtun run\` takes flags only${hint}`);
    }
    lastBool = null;
    const body = arg.startsWith('--') ? arg.slice(2) : arg.slice(1);
    if (body === '' || body.startsWith('-') || body.startsWith('=')) throw new UsageError(`bad flag syntax: ${arg}`);
    const eq = body.indexOf('=');
    const name = eq < 0 ? body : body.slice(0, eq);
    const inline = eq < 0 ? undefined : body.slice(eq + 1);
    if (name === 'h' || name === 'help') { help = true; continue; }
    let spec: FlagSpec | undefined = flagSpec(name);
    let negated = false;
    if (spec === undefined && name.startsWith('no-')) {
      const positive = flagSpec(name.slice(3));
      if (positive?.kind === 'bool') { spec = positive; negated = true; }
    }
    if (spec === undefined) throw new UsageError(`unknown flag ${arg.slice(0, arg.length - (inline === undefined ? 0 : inline.length + 1))}: not a flanneld or vxtun flag (see \`vxtun run --help\`)`);
    let value: FlagValue;
    if (spec.kind === 'bool') {
      if (negated && inline !== undefined) throw new UsageError(`--no-${spec.name} takes no value (use ${dashed(spec.name)}=${inline})`);
      if (negated || inline === undefined) {
        value = !negated;
        lastBool = dashed(spec.name);
      } else {
        const v = convertValue(spec, inline);
        if ('error' in v) throw new UsageError(`${dashed(spec.name)}: ${v.error}`);
        value = v.value;
      }
    } else {
      const raw = inline ?? args[++i];
      if (raw === undefined) throw new UsageError(`${dashed(spec.name)} needs a value (<${spec.arg ?? 'value'}>)`);
      const v = convertValue(spec, raw);
      if ('error' in v) throw new UsageError(`${dashed(spec.name)}: ${v.error}`);
      value = v.value;
    }
    if (spec.refused !== undefined && !isDefault(spec, value)) throw new UsageError(refusal(spec));
    if (spec.name === 'version') { version = value === true; continue; }
    const prev = values.get(spec.name);
    values.set(spec.name, spec.kind === 'list' && Array.isArray(prev) ? [...(prev as string[]), ...(value as string[])] : value);
  }
  return { values, help, version };
}

/**
 * parseRunArgs parses the arguments after `run` and the FLANNELD_* variables of `env`
 * into RunFlags (every unset flag at its default), or says help/version was asked for.
 * Throws UsageError (exit 2) naming the flag or variable at fault.
 */
export function parseRunArgs(args: readonly string[], env: NodeJS.ProcessEnv = {}): ParsedRun {
  const { values, help, version } = parseArgv(args);
  if (help) return { kind: 'help' };
  if (version) return { kind: 'version' };
  const given = new Set(values.keys());
  for (const e of flagsFromEnv(env, given)) values.set(e.spec.name, e.value);

  const get = (name: string): FlagValue | undefined => values.get(name) ?? flagSpec(name)?.default;
  const str = (name: string): string => String(get(name) ?? '');
  const opt = (name: string): string | undefined => (str(name) === '' ? undefined : str(name));
  const bool = (name: string): boolean => get(name) === true;
  const int = (name: string): number => Number(get(name));
  const list = (name: string): string[] => [...((get(name) as readonly string[] | undefined) ?? [])];

  const kubeSubnetMgr = bool('kube-subnet-mgr');
  const explicitMgr = opt('subnet-mgr') as RunFlags['subnetMgr'] | undefined;
  if (explicitMgr !== undefined && explicitMgr !== 'kube' && kubeSubnetMgr) {
    throw new UsageError(`--subnet-mgr ${explicitMgr} conflicts with --kube-subnet-mgr (which selects the Kubernetes subnet manager)`);
  }
  const subnetMgr = explicitMgr ?? (kubeSubnetMgr ? 'kube' : 'etcd');
  const leases = opt('leases');
  if (subnetMgr === 'static' && leases === undefined) {
    throw new UsageError('--subnet-mgr static needs --leases <path> (a JSON file of flannel subnet keys → lease values)');
  }
  if (subnetMgr !== 'static' && leases !== undefined) {
    throw new UsageError(`--leases is used only with --subnet-mgr static (the subnet manager here is ${subnetMgr})`);
  }
  const verbosity = int('v');
  let disabledOffloads: OffloadSwitch[];
  try {
    disabledOffloads = parseOffloadSwitches(list('disable-offload'));
  } catch (err) {
    throw new UsageError(`--disable-offload: ${(err as Error).message}`);
  }
  const flags: RunFlags = {
    iface: list('iface'),
    ifaceRegex: list('iface-regex'),
    etcdEndpoints: str('etcd-endpoints').split(',').map((s) => s.trim()).filter((s) => s !== ''),
    etcdPrefix: str('etcd-prefix'),
    kubeSubnetMgr,
    kubeAnnotationPrefix: str('kube-annotation-prefix'),
    netConfigPath: str('net-config-path'),
    subnetFile: str('subnet-file'),
    subnetLeaseRenewMargin: int('subnet-lease-renew-margin'),
    ipMasq: bool('ip-masq'),
    ipMasqFullyRandomDisable: bool('ip-masq-fully-random-disable'),
    iptablesResync: int('iptables-resync'),
    iptablesForwardRules: bool('iptables-forward-rules'),
    healthzIp: str('healthz-ip'),
    healthzPort: int('healthz-port'),
    setNodeNetworkUnavailable: bool('set-node-network-unavailable'),
    verbosity,
    subnetMgr,
    validateSource: bool('validate-source'),
    udpChecksum: bool('udp-checksum'),
    ...(bool('offload') ? {} : { offload: false as const }),
    disabledOffloads,
    logLevel: values.has('log-level') ? (str('log-level') as LogLevel) : logLevelForVerbosity(verbosity),
  };
  const optional: Array<[keyof RunFlags, string]> = [
    ['publicIp', 'public-ip'], ['etcdKeyfile', 'etcd-keyfile'], ['etcdCertfile', 'etcd-certfile'], ['etcdCafile', 'etcd-cafile'],
    ['etcdUsername', 'etcd-username'], ['etcdPassword', 'etcd-password'], ['kubeApiUrl', 'kube-api-url'],
    ['kubeconfigFile', 'kubeconfig-file'], ['leases', 'leases'], ['tunName', 'tun-name'], ['controlSocket', 'control-socket'], ['metricsAddress', 'metrics-address'],
  ];
  for (const [key, name] of optional) {
    const v = opt(name);
    if (v !== undefined) (flags as unknown as Record<string, unknown>)[key] = v;
  }
  return { kind: 'run', flags };
}

export function registerRun(program: Command): void {
  program
    .command('run')
    .description("run the VXLAN dataplane and its control plane on this node: a drop-in for flanneld's vxlan backend (its flags, environment, files and iptables rules)")
    .usage('[flags]')
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .addHelpText('after', formatFlagsHelp())
    .action(async (_opts: unknown, command: Command) => {
      const parsed = parseRunArgs(command.args, process.env);
      if (parsed.kind === 'help') {
        command.outputHelp();
        return;
      }
      if (parsed.kind === 'version') {
        const { packageVersion } = await import('./main.js');
        process.stdout.write(`${packageVersion()}\n`);
        return;
      }
      const { runCommand } = await import('./run.js');
      await runCommand(parsed.flags);
    });
}
