// SPDX-License-Identifier: Apache-2.0
/**
 * The flags of `vxtun run`, as one table: flanneld's flags (HEAD main.go, flannel.md §7)
 * with flanneld's names, defaults and meaning, each either supported or refused with the
 * reason, followed by vxtun's own flags. The argv parser (run-command.ts), the
 * FLANNELD_* environment (env-flags.ts) and `vxtun run --help` read this table;
 * test/cli/flags.test.ts checks that the README's compatibility table has a row for each flag.
 *
 * Value syntax follows Go's flag package (what flanneld parses with):
 * - bool: "1", "t", "T", "TRUE", "true", "True", "0", "f", "F", "FALSE", "false", "False"
 *   (strconv.ParseBool); on the command line only as `--flag` or `--flag=value`.
 * - int: strconv.ParseInt base 0 (decimal, 0x.., 0o.., 0b.., leading-0 octal, `_` separators).
 */
import { LOG_LEVELS } from '../daemon/log.js';
import { OFFLOAD_SWITCHES } from '../dataplane/offload-switches.js';

export type FlagKind = 'string' | 'bool' | 'int' | 'list';
export type FlagValue = string | number | boolean | readonly string[];

/** One flag of `vxtun run`. */
export interface FlagSpec {
  /** Name without dashes, exactly as flanneld spells it (`log_backtrace_at` keeps its underscores). */
  readonly name: string;
  readonly kind: FlagKind;
  /** The default (flanneld's for flanneld flags); undefined = unset, decided later (e.g. --subnet-mgr). */
  readonly default?: FlagValue;
  /** Placeholder for the value in help (non-bool kinds). */
  readonly arg?: string;
  /** What it means (flanneld's usage text, where it has one). */
  readonly meaning: string;
  /** Whose flag it is: flanneld's (also read from FLANNELD_<NAME>) or vxtun's own. */
  readonly origin: 'flanneld' | 'vxtun';
  /** When set, vxtun refuses the flag: this sentence says why. */
  readonly refused?: string;
  /** Allowed values (string kind). */
  readonly choices?: readonly string[];
  /** Inclusive range (int kind). */
  readonly min?: number;
  readonly max?: number;
}

const F = 'flanneld' as const;
const V = 'vxtun' as const;

/** Every flag, flanneld's first (in flanneld's registration order), then vxtun's. */
export const FLAGS: readonly FlagSpec[] = [
  { name: 'etcd-endpoints', kind: 'string', origin: F, arg: 'urls', default: 'http://127.0.0.1:4001,http://127.0.0.1:2379', meaning: 'a comma-delimited list of etcd endpoints' },
  { name: 'etcd-prefix', kind: 'string', origin: F, arg: 'prefix', default: '/coreos.com/network', meaning: 'etcd prefix' },
  { name: 'etcd-keyfile', kind: 'string', origin: F, arg: 'path', default: '', meaning: 'SSL key file used to secure etcd communication' },
  { name: 'etcd-certfile', kind: 'string', origin: F, arg: 'path', default: '', meaning: 'SSL certification file used to secure etcd communication' },
  { name: 'etcd-cafile', kind: 'string', origin: F, arg: 'path', default: '', meaning: 'SSL Certificate Authority file used to secure etcd communication' },
  { name: 'etcd-username', kind: 'string', origin: F, arg: 'name', default: '', meaning: 'username for BasicAuth to etcd' },
  { name: 'etcd-password', kind: 'string', origin: F, arg: 'password', default: '', meaning: 'password for BasicAuth to etcd' },
  { name: 'iface', kind: 'list', origin: F, arg: 'name-or-ip', default: [], meaning: 'interface (name or IPv4) for inter-host communication; repeatable, checked in order, first match wins' },
  { name: 'iface-regex', kind: 'list', origin: F, arg: 'regex', default: [], meaning: 'regex on interface IPv4 or name; repeatable, checked after --iface' },
  { name: 'iface-can-reach', kind: 'string', origin: F, arg: 'ip', default: '', meaning: "use the interface `ip route get <ip>` would use",
    refused: 'not implemented by vxtun yet; choose the interface with --iface or --iface-regex' },
  { name: 'subnet-file', kind: 'string', origin: F, arg: 'path', default: '/run/flannel/subnet.env', meaning: 'filename where env variables (subnet, MTU, ...) will be written to' },
  { name: 'public-ip', kind: 'string', origin: F, arg: 'ipv4', default: '', meaning: 'IP accessible by other nodes for inter-host communication (lease PublicIP)' },
  { name: 'public-ipv6', kind: 'string', origin: F, arg: 'ipv6', default: '', meaning: 'IPv6 accessible by other nodes for inter-host communication',
    refused: 'IPv6 is not supported by vxtun yet' },
  { name: 'subnet-lease-renew-margin', kind: 'int', origin: F, arg: 'minutes', default: 60, min: 1, max: 1439, meaning: 'subnet lease renewal margin, in minutes, ranging from 1 to 1439 (etcd)' },
  { name: 'ip-masq', kind: 'bool', origin: F, default: false, meaning: 'setup IP masquerade rule for traffic destined outside of overlay network' },
  { name: 'ip-masq-fully-random-disable', kind: 'bool', origin: F, default: false, meaning: 'disable fully-random mode for MASQUERADE' },
  { name: 'kube-subnet-mgr', kind: 'bool', origin: F, default: false, meaning: 'contact the Kubernetes API for subnet assignment instead of etcd' },
  { name: 'kube-api-url', kind: 'string', origin: F, arg: 'url', default: '', meaning: 'Kubernetes API server URL (in-cluster config when empty)' },
  { name: 'kube-annotation-prefix', kind: 'string', origin: F, arg: 'prefix', default: 'flannel.alpha.coreos.com', meaning: 'Kubernetes annotation prefix' },
  { name: 'kubeconfig-file', kind: 'string', origin: F, arg: 'path', default: '', meaning: 'kubeconfig file location (in-cluster config when empty)' },
  { name: 'version', kind: 'bool', origin: F, default: false, meaning: 'print version and exit' },
  { name: 'healthz-ip', kind: 'string', origin: F, arg: 'ip', default: '0.0.0.0', meaning: 'the IP address for healthz server to listen' },
  { name: 'healthz-port', kind: 'int', origin: F, arg: 'port', default: 0, min: 0, max: 65535, meaning: 'the port for healthz server to listen (0 to disable)' },
  { name: 'iptables-resync', kind: 'int', origin: F, arg: 'seconds', default: 5, min: 1, max: 86400, meaning: 'resync period for iptables rules, in seconds' },
  { name: 'iptables-forward-rules', kind: 'bool', origin: F, default: true, meaning: 'add default accept rules to FORWARD chain in iptables' },
  { name: 'net-config-path', kind: 'string', origin: F, arg: 'path', default: '/etc/kube-flannel/net-conf.json', meaning: 'path to the network configuration file' },
  { name: 'set-node-network-unavailable', kind: 'bool', origin: F, default: true, meaning: 'set NodeNetworkUnavailable after ready (kube)' },
  { name: 'ip-blackhole-route', kind: 'bool', origin: F, default: false, meaning: 'add a blackhole route for the local pod subnet',
    refused: 'not implemented by vxtun yet (it would add a blackhole route for this node\'s subnet)' },
  { name: 'v', kind: 'int', origin: F, arg: 'level', default: 0, min: 0, max: 0xffffffff, meaning: 'klog verbosity: 0 = info, 1..5 = debug, 6+ = trace (unless --log-level is given)' },
  { name: 'vmodule', kind: 'string', origin: F, arg: 'pattern=N,...', default: '', meaning: 'klog per-file verbosity',
    refused: 'per-file verbosity has no equivalent in vxtun\'s logger; use -v or --log-level' },
  { name: 'log_backtrace_at', kind: 'string', origin: F, arg: 'file:line', default: '', meaning: 'klog: emit a stack trace when logging hits file:line',
    refused: 'klog stack traces have no equivalent in vxtun\'s logger' },
  { name: 'subnet-mgr', kind: 'string', origin: V, arg: 'kind', choices: ['static', 'etcd', 'kube'], meaning: 'where leases live (default as flanneld: kube with --kube-subnet-mgr, else etcd; static needs --leases)' },
  { name: 'leases', kind: 'string', origin: V, arg: 'path', meaning: 'static leases file: flannel subnet keys → lease values (watched); --subnet-mgr static only' },
  { name: 'tun-name', kind: 'string', origin: V, arg: 'name', meaning: 'TUN device name (default flannel.<VNI>)' },
  { name: 'control-socket', kind: 'string', origin: V, arg: 'path', meaning: 'unix socket for `vxtun status` and `vxtun capture` (default /run/vxtun/<tun-name>.sock; /run/vxtun/netns-<inode>/… outside the host network namespace)' },
  { name: 'metrics-address', kind: 'string', origin: V, arg: 'host:port', meaning: 'Prometheus /metrics endpoint (default 127.0.0.1:9472), or "off"' },
  { name: 'validate-source', kind: 'bool', origin: V, default: true, meaning: 'drop VXLAN from unknown senders and inner sources outside the sender\'s subnet (--no-validate-source: accept any, as the kernel does)' },
  { name: 'udp-checksum', kind: 'bool', origin: V, default: true, meaning: 'compute outer UDP checksums as current kernels do (--no-udp-checksum: send zero)' },
  { name: 'offload', kind: 'bool', origin: V, default: true, meaning: 'TUN TSO/USO with coalesced writes, UDP GRO and UDP GSO, ~64 KB per syscall (--no-offload: one packet per crossing; docs/offloads.md)' },
  { name: 'disable-offload', kind: 'list', origin: V, arg: 'names', default: [], meaning: `turn single offloads off, comma-separated or repeated: ${OFFLOAD_SWITCHES.join(', ')} (docs/offloads.md)` },
  { name: 'log-level', kind: 'string', origin: V, arg: 'level', choices: [...LOG_LEVELS], default: 'info', meaning: `log level: ${LOG_LEVELS.join(', ')} (overrides -v)` },
];

const BY_NAME = new Map(FLAGS.map((f) => [f.name, f]));

/** The flag called `name` (no dashes), or undefined. */
export function flagSpec(name: string): FlagSpec | undefined {
  return BY_NAME.get(name);
}

/** `--name` as shown in messages (`-v` for the one-letter klog flag). */
export function dashed(name: string): string {
  return name.length === 1 ? `-${name}` : `--${name}`;
}

/** The refusal sentence for a refused flag: `--public-ipv6: IPv6 is not supported by vxtun yet`. */
export function refusal(spec: FlagSpec): string {
  return `${dashed(spec.name)}: ${spec.refused ?? 'not supported'}`;
}

/** Go's strconv.ParseBool, or null when `s` is not one of its spellings. */
export function parseGoBool(s: string): boolean | null {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(s)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(s)) return false;
  return null;
}

/** Go's strconv.ParseInt(s, 0, 64) for safe integers, or null. */
export function parseGoInt(s: string): number | null {
  const m = /^([+-]?)(0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|0[0-7_]*|[1-9][0-9_]*)$/.exec(s);
  if (m === null) return null;
  const body = m[2]!;
  if (/__|_$/.test(body) || (/^[1-9]/.test(body) && body.includes('_'))) return null; // Go allows `_` only after a base prefix
  const digits = body.replace(/_/g, '');
  let v: number;
  if (/^0[xX]/.test(digits)) v = parseInt(digits.slice(2), 16);
  else if (/^0[oO]/.test(digits)) v = parseInt(digits.slice(2), 8);
  else if (/^0[bB]/.test(digits)) v = parseInt(digits.slice(2), 2);
  else if (digits.length > 1 && digits.startsWith('0')) v = parseInt(digits.slice(1), 8);
  else v = parseInt(digits, 10);
  if (!Number.isSafeInteger(v)) return null;
  return m[1] === '-' ? -v : v;
}

/**
 * convertValue turns the text `raw` into the flag's value (a one-element list for list
 * flags), or returns a reason it is invalid (`is not a boolean ...`), without the flag
 * name: callers prefix where the value came from.
 */
export function convertValue(spec: FlagSpec, raw: string): { value: FlagValue } | { error: string } {
  switch (spec.kind) {
    case 'bool': {
      const b = parseGoBool(raw);
      return b === null ? { error: `${JSON.stringify(raw)} is not a boolean (true or false)` } : { value: b };
    }
    case 'int': {
      const n = parseGoInt(raw);
      if (n === null) return { error: `${JSON.stringify(raw)} is not an integer` };
      if ((spec.min !== undefined && n < spec.min) || (spec.max !== undefined && n > spec.max)) {
        return { error: `${n} is out of range (${spec.min ?? '-∞'}..${spec.max ?? '∞'})` };
      }
      return { value: n };
    }
    case 'list':
      return { value: [raw] };
    case 'string':
      if (spec.choices !== undefined && !spec.choices.includes(raw)) {
        return { error: `${JSON.stringify(raw)} is not one of ${spec.choices.join(', ')}` };
      }
      return { value: raw };
  }
}

/** True when `value` asks for exactly flanneld's default (a refused flag set to its default is harmless). */
export function isDefault(spec: FlagSpec, value: FlagValue): boolean {
  if (Array.isArray(value)) return value.length === 0;
  return value === spec.default;
}

function showDefault(spec: FlagSpec): string {
  const d = spec.default;
  if (d === undefined || d === '' || (Array.isArray(d) && d.length === 0)) return '';
  if (spec.kind === 'bool' && d === false) return '';
  return ` (default ${Array.isArray(d) ? d.join(',') : String(d)})`;
}

function usageOf(spec: FlagSpec): string {
  return spec.kind === 'bool' ? dashed(spec.name) : `${dashed(spec.name)} <${spec.arg ?? 'value'}>`;
}

/** The flag list for `vxtun run --help`, in three groups. */
export function formatFlagsHelp(): string {
  const line = (s: FlagSpec, text: string): string => `  ${usageOf(s).padEnd(40)} ${text}`;
  const supported = FLAGS.filter((f) => f.origin === 'flanneld' && f.refused === undefined);
  const own = FLAGS.filter((f) => f.origin === 'vxtun');
  const refused = FLAGS.filter((f) => f.refused !== undefined);
  return [
    '',
    "flanneld's flags (same names, defaults and meaning; `--flag value`, `--flag=value`, `-flag`, booleans as",
    '`--flag` or `--flag=false`, also `--no-flag`; each may instead come from FLANNELD_<FLAG_NAME>, e.g.',
    'FLANNELD_IFACE=eth1, FLANNELD_IP_MASQ=true; repeatable flags comma-separated there):',
    ...supported.map((s) => line(s, `${s.meaning}${showDefault(s)}`)),
    '',
    "vxtun's own flags:",
    ...own.map((s) => line(s, `${s.meaning}${showDefault(s)}`)),
    '',
    'flanneld flags vxtun refuses (exit 2, naming the flag):',
    ...refused.map((s) => line(s, s.refused ?? '')),
    '',
  ].join('\n');
}
