// SPDX-License-Identifier: Apache-2.0
/**
 * `vxtun run`'s command line: flanneld's flags with flanneld's defaults, Go flag syntax,
 * FLANNELD_* variables, the subnet manager choice, and refusals by name (as a child
 * `node bin/vxtun.js run ...`: they happen before anything touches the host).
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { FLAGS, flagSpec, parseGoBool, parseGoInt } from '../../src/cli/flanneld-flags.js';
import { envVarName, flagsFromEnv } from '../../src/cli/env-flags.js';
import { logLevelForVerbosity, parseRunArgs, type RunFlags } from '../../src/cli/run-command.js';
import { subnetManagerChoice } from '../../src/cli/run.js';
import { collect } from '../../src/lab/proc.js';
import { VXTUN_BIN } from '../../src/lab/vxtun.js';

function flags(args: string[], env: NodeJS.ProcessEnv = {}): RunFlags {
  const p = parseRunArgs(args, env);
  if (p.kind !== 'run') throw new Error(`expected run, got ${p.kind}`);
  return p.flags;
}

/** Runs `node bin/vxtun.js run ...args` with only `env` (plus PATH) in its environment. */
function vxtunRun(args: string[], env: NodeJS.ProcessEnv = {}): ReturnType<typeof collect> {
  return collect(spawn(process.execPath, [VXTUN_BIN, 'run', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH, ...env } }), 30_000);
}

t.test("flanneld's flags and defaults (flannel.md §7)", async (t) => {
  const expected: Record<string, unknown> = {
    'etcd-endpoints': 'http://127.0.0.1:4001,http://127.0.0.1:2379', 'etcd-prefix': '/coreos.com/network', 'etcd-keyfile': '',
    'etcd-certfile': '', 'etcd-cafile': '', 'etcd-username': '', 'etcd-password': '', iface: [], 'iface-regex': [], 'iface-can-reach': '',
    'subnet-file': '/run/flannel/subnet.env', 'public-ip': '', 'public-ipv6': '', 'subnet-lease-renew-margin': 60, 'ip-masq': false,
    'ip-masq-fully-random-disable': false, 'kube-subnet-mgr': false, 'kube-api-url': '', 'kube-annotation-prefix': 'flannel.alpha.coreos.com',
    'kubeconfig-file': '', version: false, 'healthz-ip': '0.0.0.0', 'healthz-port': 0, 'iptables-resync': 5, 'iptables-forward-rules': true,
    'net-config-path': '/etc/kube-flannel/net-conf.json', 'set-node-network-unavailable': true, 'ip-blackhole-route': false, v: 0,
    vmodule: '', log_backtrace_at: '',
  };
  const flanneld = FLAGS.filter((f) => f.origin === 'flanneld');
  t.same(flanneld.map((f) => f.name).sort(), Object.keys(expected).sort(), 'every flanneld flag is in the table');
  for (const f of flanneld) t.same(f.default, expected[f.name], `--${f.name} defaults to ${JSON.stringify(expected[f.name])}`);
  t.same(FLAGS.filter((f) => f.refused !== undefined).map((f) => f.name).sort(),
    ['iface-can-reach', 'ip-blackhole-route', 'log_backtrace_at', 'public-ipv6', 'vmodule']);
  for (const f of FLAGS) t.ok(f.meaning.length > 0, `--${f.name} has a meaning`);
});

t.test('with no flags every RunFlags field is at its default', async (t) => {
  t.same(flags([]), {
    iface: [], ifaceRegex: [], etcdEndpoints: ['http://127.0.0.1:4001', 'http://127.0.0.1:2379'], etcdPrefix: '/coreos.com/network',
    kubeSubnetMgr: false, kubeAnnotationPrefix: 'flannel.alpha.coreos.com', netConfigPath: '/etc/kube-flannel/net-conf.json',
    subnetFile: '/run/flannel/subnet.env', subnetLeaseRenewMargin: 60, ipMasq: false, ipMasqFullyRandomDisable: false,
    iptablesResync: 5, iptablesForwardRules: true, healthzIp: '0.0.0.0', healthzPort: 0, setNodeNetworkUnavailable: true,
    verbosity: 0, subnetMgr: 'etcd', validateSource: true, udpChecksum: true, disabledOffloads: [], logLevel: 'info',
  });
});

t.test('Go flag syntax: --flag value, --flag=value, -flag, booleans, repeats', async (t) => {
  const f = flags(['--iface', 'eth1', '-iface=10.0.0.1', '--iface-regex=^en', '-public-ip', '192.168.1.10', '--ip-masq',
    '-healthz-port=8081', '--healthz-ip', '127.0.0.1', '--iptables-resync=0x0a', '--subnet-lease-renew-margin', '030',
    '--iptables-forward-rules=false', '-set-node-network-unavailable=F', '--subnet-file=/tmp/s.env', '--subnet-file', '/tmp/last.env']);
  t.same(f.iface, ['eth1', '10.0.0.1'], 'repeatable flag appends, either form');
  t.same(f.ifaceRegex, ['^en']);
  t.equal(f.publicIp, '192.168.1.10');
  t.equal(f.ipMasq, true);
  t.equal(f.healthzPort, 8081);
  t.equal(f.healthzIp, '127.0.0.1');
  t.equal(f.iptablesResync, 10, 'ints are Go base-0: 0x0a');
  t.equal(f.subnetLeaseRenewMargin, 24, 'leading 0 is octal, as in Go');
  t.equal(f.iptablesForwardRules, false, '--iptables-forward-rules=false');
  t.equal(f.setNodeNetworkUnavailable, false, 'any strconv.ParseBool spelling');
  t.equal(f.subnetFile, '/tmp/last.env', 'a repeated single-value flag: the last wins');
  t.equal(flags(['--no-iptables-forward-rules']).iptablesForwardRules, false, '--no-<bool>');
  t.equal(flags(['--no-validate-source', '--no-udp-checksum']).validateSource, false);
  t.equal(flags(['--ip-masq=true', '--ip-masq-fully-random-disable=1']).ipMasqFullyRandomDisable, true);
  t.same(flags(['--etcd-endpoints', 'https://a:2379, https://b:2379']).etcdEndpoints, ['https://a:2379', 'https://b:2379']);
  t.same(flags(['--disable-offload', 'udp-gso, gro', '--disable-offload=tso', '-disable-offload', 'gro']).disabledOffloads, ['tso', 'gro', 'udp-gso'],
    '--disable-offload: comma-separated and repeated, in the canonical order, once each');
  t.equal(flags(['--no-offload']).offload, false);
  t.equal(flags(['--ip-blackhole-route=false']).ipMasq, false, "a refused flag set to flanneld's default is accepted");
  t.same(parseRunArgs(['--iface', 'x', '--help']), { kind: 'help' });
  t.same(parseRunArgs(['-h']), { kind: 'help' });
  t.same(parseRunArgs(['-version']), { kind: 'version' });
  t.equal(parseGoBool('True'), true);
  t.equal(parseGoBool('yes'), null);
  t.equal(parseGoInt('1_000'), null, '`_` only after a base prefix');
  t.equal(parseGoInt('0b1_01'), 5);
  t.equal(parseGoInt('-12'), -12);
});

t.test('bad values and syntax are refused naming the flag', async (t) => {
  const bad: Array<[string[], RegExp]> = [
    [['--ip-masq=yes'], /^--ip-masq: "yes" is not a boolean/],
    [['--healthz-port', 'http'], /^--healthz-port: "http" is not an integer/],
    [['--healthz-port=70000'], /^--healthz-port: 70000 is out of range \(0\.\.65535\)/],
    [['--subnet-lease-renew-margin=1440'], /^--subnet-lease-renew-margin: 1440 is out of range \(1\.\.1439\)/],
    [['--iptables-resync=0'], /^--iptables-resync: 0 is out of range/],
    [['--iface'], /^--iface needs a value/],
    [['--log-level', 'loud'], /^--log-level: "loud" is not one of fatal, error, warn, info, debug, trace, silent/],
    [['--subnet-mgr=zookeeper'], /^--subnet-mgr: "zookeeper" is not one of static, etcd, kube/],
    [['--ip-masq', 'false'], /unexpected argument "false".*--ip-masq=false/],
    [['eth0'], /^unexpected argument "eth0"/],
    [['--', 'x'], /^unexpected argument "x"/],
    [['---iface=x'], /^bad flag syntax: ---iface=x/],
    [['--no-ip-masq=true'], /^--no-ip-masq takes no value/],
    [['--listen=:8080'], /^unknown flag --listen: not a flanneld or vxtun flag/],
    [['--no-iface'], /^unknown flag --no-iface/],
    [['--kube-subnet-mgr', '--subnet-mgr', 'etcd'], /^--subnet-mgr etcd conflicts with --kube-subnet-mgr/],
    [['--subnet-mgr', 'static'], /^--subnet-mgr static needs --leases/],
    [['--leases', '/x.json'], /^--leases is used only with --subnet-mgr static \(the subnet manager here is etcd\)/],
    [['--disable-offload', 'tso,tx'], /^--disable-offload: unknown offload "tx": want one or more of tso, uso, gro, gro-udp, udp-gro, udp-gso/],
  ];
  for (const [args, re] of bad) t.throws(() => parseRunArgs(args), { name: 'UsageError', exitCode: 2, message: re }, args.join(' '));
});

t.test('FLANNELD_* fills flags not given on the command line', async (t) => {
  t.equal(envVarName('ip-masq'), 'FLANNELD_IP_MASQ');
  t.equal(envVarName('log_backtrace_at'), 'FLANNELD_LOG_BACKTRACE_AT');
  const f = flags(['--iface', 'cli0'], {
    FLANNELD_IFACE: 'env0', FLANNELD_IFACE_REGEX: 'eth.*, ens.* ,', FLANNELD_IP_MASQ: 'true', FLANNELD_IPTABLES_FORWARD_RULES: 'false',
    FLANNELD_HEALTHZ_PORT: '8081', FLANNELD_KUBE_SUBNET_MGR: 'true', FLANNELD_KUBE_ANNOTATION_PREFIX: 'example.com', FLANNELD_V: '3',
    FLANNELD_PUBLIC_IP: '', FLANNELD_VERSION: 'true', FLANNELD_ETCD_PASSWORD: 's3cret',
  });
  t.same(f.iface, ['cli0'], 'the command line wins');
  t.same(f.ifaceRegex, ['eth.*', 'ens.*'], 'repeatable flags comma-separated');
  t.equal(f.ipMasq, true);
  t.equal(f.iptablesForwardRules, false);
  t.equal(f.healthzPort, 8081);
  t.equal(f.kubeSubnetMgr, true);
  t.equal(f.subnetMgr, 'kube', 'FLANNELD_KUBE_SUBNET_MGR selects kube');
  t.equal(f.kubeAnnotationPrefix, 'example.com');
  t.equal(f.verbosity, 3);
  t.equal(f.logLevel, 'debug');
  t.equal(f.publicIp, undefined, 'an empty variable is unset');
  t.equal(f.etcdPassword, 's3cret');
  t.same(flagsFromEnv({ FLANNELD_SUBNET_MGR: 'static', FLANNELD_LEASES: '/x' }, new Set()), [], "vxtun's own flags are not read from FLANNELD_*");
  t.throws(() => parseRunArgs([], { FLANNELD_IP_MASQ: 'yes' }), { exitCode: 2, message: /^FLANNELD_IP_MASQ \(--ip-masq\): "yes" is not a boolean/ });
  t.throws(() => parseRunArgs([], { FLANNELD_PUBLIC_IPV6: 'fd00::1' }), { exitCode: 2, message: /^FLANNELD_PUBLIC_IPV6 sets --public-ipv6: IPv6 is not supported by vxtun yet/ });
  t.equal(flags([], { FLANNELD_IP_BLACKHOLE_ROUTE: 'false' }).ipMasq, false, 'a refused flag at its default from the environment is accepted');
});

t.test('-v maps to the log level unless --log-level is given', async (t) => {
  t.same([0, 1, 5, 6, 10].map(logLevelForVerbosity), ['info', 'debug', 'debug', 'trace', 'trace']);
  t.equal(flags(['-v', '2']).logLevel, 'debug');
  t.equal(flags(['-v=6']).logLevel, 'trace');
  t.equal(flags(['--v=2', '--log-level', 'warn']).logLevel, 'warn');
  t.equal(flags(['--log-level=error'], { FLANNELD_V: '9' }).logLevel, 'error');
});

t.test('the subnet manager is built from the flags as flanneld builds it', async (t) => {
  t.same(subnetManagerChoice(flags(['--etcd-endpoints=https://e1:2379,https://e2:2379', '--etcd-prefix=/p', '--etcd-cafile=/ca', '--etcd-certfile=/c',
    '--etcd-keyfile=/k', '--etcd-username=u', '--etcd-password=pw', '--subnet-lease-renew-margin=30', '--subnet-file=/s.env'])), {
    kind: 'etcd', endpoints: ['https://e1:2379', 'https://e2:2379'], prefix: '/p', keyfile: '/k', certfile: '/c', cafile: '/ca',
    username: 'u', password: 'pw', renewMarginMinutes: 30, subnetFile: '/s.env',
  });
  t.same(subnetManagerChoice(flags([])), {
    kind: 'etcd', endpoints: ['http://127.0.0.1:4001', 'http://127.0.0.1:2379'], prefix: '/coreos.com/network', renewMarginMinutes: 60, subnetFile: '/run/flannel/subnet.env',
  }, 'etcd by default');
  t.same(subnetManagerChoice(flags(['--kube-subnet-mgr', '--kube-api-url=https://api:6443', '--kubeconfig-file=/kc', '--net-config-path=/n.json',
    '--set-node-network-unavailable=false']), { NODE_NAME: 'node-7' }), {
    kind: 'kube', apiUrl: 'https://api:6443', kubeconfigFile: '/kc', annotationPrefix: 'flannel.alpha.coreos.com', netConfigPath: '/n.json',
    nodeName: 'node-7', setNodeNetworkUnavailable: false,
  });
  t.same(subnetManagerChoice(flags(['--subnet-mgr=kube']), { POD_NAME: 'kube-flannel-ds-x', POD_NAMESPACE: 'kube-flannel' }), {
    kind: 'kube', annotationPrefix: 'flannel.alpha.coreos.com', netConfigPath: '/etc/kube-flannel/net-conf.json', setNodeNetworkUnavailable: true,
  }, 'without NODE_NAME the kube manager resolves the node itself (POD_NAME/POD_NAMESPACE)');
  t.same(subnetManagerChoice(flags(['--subnet-mgr', 'static', '--leases', '/l.json', '--net-config-path', '/n.json'])),
    { kind: 'static', netConfigPath: '/n.json', leasesPath: '/l.json' });
});

t.test('refused flags exit 2 naming the flag and why (child process)', async (t) => {
  const cases: Array<[string[], NodeJS.ProcessEnv, RegExp]> = [
    [['--public-ipv6', 'fd00::1'], {}, /^vxtun: --public-ipv6: IPv6 is not supported by vxtun yet\n$/],
    [['--iface-can-reach=10.0.0.1'], {}, /^vxtun: --iface-can-reach: not implemented by vxtun yet; choose the interface with --iface or --iface-regex\n$/],
    [['--ip-blackhole-route'], {}, /^vxtun: --ip-blackhole-route: not implemented by vxtun yet/],
    [['-vmodule=main=4'], {}, /^vxtun: --vmodule: per-file verbosity has no equivalent/],
    [['--log_backtrace_at', 'main.go:1'], {}, /^vxtun: --log_backtrace_at: klog stack traces/],
    [['--use-multi-cluster-cidr'], {}, /^vxtun: unknown flag --use-multi-cluster-cidr/],
    [['--ip-masq', 'true'], {}, /unexpected argument "true"/],
    [[], { FLANNELD_PUBLIC_IPV6: 'fd00::1' }, /^vxtun: FLANNELD_PUBLIC_IPV6 sets --public-ipv6: IPv6 is not supported by vxtun yet\n$/],
    [[], { FLANNELD_HEALTHZ_PORT: 'x' }, /^vxtun: FLANNELD_HEALTHZ_PORT \(--healthz-port\): "x" is not an integer\n$/],
  ];
  for (const [args, env, re] of cases) {
    const r = await vxtunRun(args, env);
    t.equal(r.status, 2, `${[...Object.keys(env), ...args].join(' ')}: exit 2`);
    t.match(r.stderr, re);
    t.equal(r.stdout, '');
  }
});

t.test('--help lists every flag; --version prints the version (child process)', async (t) => {
  const help = await vxtunRun(['--help']);
  t.equal(help.status, 0);
  for (const f of FLAGS) t.match(help.stdout, f.name.length === 1 ? `-${f.name} ` : `--${f.name}`, `help mentions ${f.name}`);
  t.match(help.stdout, /FLANNELD_/);
  for (const args of [['--version'], ['-version']]) {
    const v = await vxtunRun(args);
    t.equal(v.status, 0, args.join(' '));
    t.match(v.stdout, /^\d+\.\d+\.\d+\n$/);
  }
  t.ok(flagSpec('ip-masq'));
});

t.test('the README\'s compatibility table has a row for every flag', async (t) => {
  const doc = readFileSync(path.join(path.dirname(path.dirname(VXTUN_BIN)), 'README.md'), 'utf8');
  for (const f of FLAGS) {
    const name = f.name.length === 1 ? `-${f.name}` : `--${f.name}`;
    t.match(doc, new RegExp(`^\\| \`${name.replace(/[-]/g, '\\-')}[ \`]`, 'm'), `${name} has a row`);
  }
  for (const section of ['Flags', 'Environment', 'net-conf.json keys', 'Files', 'Leases / etcd', 'Kubernetes annotations', 'iptables rules', 'CNI']) {
    t.match(doc, new RegExp(`^### ${section}$`, 'm'), `section ${section}`);
  }
});
