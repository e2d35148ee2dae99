// SPDX-License-Identifier: Apache-2.0
// runCni end to end with a fake delegate: a shell script named "bridge" in a temp CNI_PATH
// that records its stdin and CNI_* environment and answers like the real plugin.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCni } from '../../src/cni/main.js';

const RESULT = '{\n    "cniVersion": "0.3.1",\n    "ips": [\n        {\n            "version": "4",\n            "address": "10.244.1.2/24"\n        }\n    ]\n}';
const FAKE = `#!/bin/sh
d=$(dirname "$0")
cat > "$d/stdin.$CNI_COMMAND"
env | grep '^CNI_' | sort > "$d/env.$CNI_COMMAND"
echo "fake bridge $CNI_COMMAND" >&2
if [ -f "$d/fail.$CNI_COMMAND" ]; then cat "$d/fail.$CNI_COMMAND"; exit 1; fi
if [ "$CNI_COMMAND" = ADD ]; then printf '%s' '${RESULT}'; fi
exit 0
`;
const ENV = 'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n';
const DELEGATE = '{"cniVersion":"0.3.1","hairpinMode":true,"ipMasq":false,"ipam":{"ranges":[[{"subnet":"10.244.1.0/24"}]],' +
  '"routes":[{"dst":"10.244.0.0/16"}],"type":"host-local"},"isDefaultGateway":true,"isGateway":true,"mtu":1450,"name":"cbr0","type":"bridge"}';

interface Fixture { dir: string; bin: string; dataDir: string; subnetFile: string; netns: string; conf: (extra?: object) => string }

async function fixture(t: { teardown(fn: () => unknown): void }): Promise<Fixture> {
  const dir = await mkdtemp(join(tmpdir(), 'vxtun-cni-main-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const bin = join(dir, 'bin');
  await mkdir(bin);
  await writeFile(join(bin, 'bridge'), FAKE);
  await chmod(join(bin, 'bridge'), 0o755);
  const subnetFile = join(dir, 'subnet.env');
  await writeFile(subnetFile, ENV);
  const netns = join(dir, 'netns-pod'); // any path that is not our own namespace
  await writeFile(netns, '');
  const dataDir = join(dir, 'data');
  const conf = (extra: object = {}): string => JSON.stringify({
    cniVersion: '0.3.1', name: 'cbr0', type: 'flannel', subnetFile, dataDir, delegate: { hairpinMode: true, isDefaultGateway: true }, ...extra,
  });
  return { dir, bin, dataDir, subnetFile, netns, conf };
}

interface Run { code: number; stdout: string; stderr: string }

async function cni(f: Fixture, command: string, stdin: string, env: Record<string, string | undefined> = {}): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const code = await runCni({
    env: { CNI_COMMAND: command, CNI_CONTAINERID: 'c0ffee', CNI_NETNS: f.netns, CNI_IFNAME: 'eth0', CNI_ARGS: 'K8S_POD_NAME=p', CNI_PATH: `/nonexistent:${f.bin}`, ...env },
    readStdin: async () => stdin,
    stdout: (s) => { stdout += s; },
    stderr: (s) => { stderr += s; },
  });
  return { code, stdout, stderr };
}

const errorOf = (r: Run): { cniVersion: string; code: number; msg: string; details?: string } => JSON.parse(r.stdout) as never;

t.test('ADD → CHECK → DEL → DEL with the kube-flannel.yml netconf', async (t) => {
  const f = await fixture(t);
  const add = await cni(f, 'ADD', f.conf());
  t.equal(add.code, 0, add.stdout);
  t.equal(add.stdout, RESULT, 'the delegate result is passed through unchanged');
  t.equal(await readFile(join(f.bin, 'stdin.ADD'), 'utf8'), DELEGATE, 'the delegate gets flannel\'s delegate netconf');
  t.equal(await readFile(join(f.dataDir, 'c0ffee'), 'utf8'), DELEGATE, 'and it is saved for DEL');
  t.equal(await readFile(join(f.bin, 'env.ADD'), 'utf8'),
    `CNI_ARGS=K8S_POD_NAME=p\nCNI_COMMAND=ADD\nCNI_CONTAINERID=c0ffee\nCNI_IFNAME=eth0\nCNI_NETNS=${f.netns}\nCNI_PATH=/nonexistent:${f.bin}\n`);
  t.match(add.stderr, `delegateAdd: netconf sent to delegate plugin:\n${DELEGATE}\n`);
  t.match(add.stderr, 'fake bridge ADD', 'the delegate\'s stderr is copied');

  const prevResult = JSON.parse(RESULT) as object;
  const check = await cni(f, 'CHECK', f.conf({ cniVersion: '0.4.0', prevResult }));
  t.equal(check.code, 0, check.stdout);
  t.equal(check.stdout, '', 'CHECK prints nothing');
  t.equal(await readFile(join(f.bin, 'stdin.CHECK'), 'utf8'), DELEGATE.replace(',"type":"bridge"}',
    ',"prevResult":{"cniVersion":"0.3.1","ips":[{"address":"10.244.1.2/24","version":"4"}]},"type":"bridge"}'),
  'CHECK sends the saved delegate plus prevResult');

  const del = await cni(f, 'DEL', f.conf(), { CNI_NETNS: undefined });
  t.equal(del.code, 0, del.stdout);
  t.equal(del.stdout, '');
  t.equal(await readFile(join(f.bin, 'stdin.DEL'), 'utf8'), DELEGATE, 'DEL sends the saved bytes');
  await t.rejects(stat(join(f.dataDir, 'c0ffee')), { code: 'ENOENT' }, 'the saved netconf is removed');
  await unlink(join(f.bin, 'stdin.DEL'));
  const again = await cni(f, 'DEL', f.conf());
  t.same([again.code, again.stdout], [0, ''], 'a second DEL succeeds');
  await t.rejects(stat(join(f.bin, 'stdin.DEL')), { code: 'ENOENT' }, 'without running the delegate');
});

t.test('delegate failures pass through; a failed DEL keeps the saved netconf for the retry', async (t) => {
  const f = await fixture(t);
  await writeFile(join(f.bin, 'fail.ADD'), '{"code":11,"msg":"cni0 is busy","details":"retry"}');
  const add = await cni(f, 'ADD', f.conf());
  t.equal(add.code, 1);
  t.same(errorOf(add), { cniVersion: '0.3.1', code: 11, msg: 'cni0 is busy', details: 'retry' });
  await unlink(join(f.bin, 'fail.ADD'));
  t.equal((await cni(f, 'ADD', f.conf())).code, 0);

  await writeFile(join(f.bin, 'fail.DEL'), '');
  const del = await cni(f, 'DEL', f.conf());
  t.equal(del.code, 1);
  t.same(errorOf(del), { cniVersion: '0.3.1', code: 999, msg: 'netplugin failed: "fake bridge DEL\\n"' });
  t.equal(await readFile(join(f.dataDir, 'c0ffee'), 'utf8'), DELEGATE, 'kept');
  await writeFile(join(f.bin, 'fail.DEL'), 'not json');
  t.match(errorOf(await cni(f, 'DEL', f.conf())).msg, /^netplugin failed but error parsing its diagnostic message "not json": /);
  await unlink(join(f.bin, 'fail.DEL'));
  t.equal((await cni(f, 'DEL', f.conf())).code, 0, 'the retry succeeds');
  await t.rejects(stat(join(f.dataDir, 'c0ffee')), { code: 'ENOENT' });
});

t.test('ADD errors: subnet.env, plugin lookup, own netns, delegate result', async (t) => {
  const f = await fixture(t);
  await unlink(f.subnetFile);
  const r = await cni(f, 'ADD', f.conf());
  t.equal(r.code, 1);
  t.match(errorOf(r), { cniVersion: '0.3.1', code: 11, msg: `loadFlannelSubnetEnv failed: open ${f.subnetFile}: no such file or directory` });
  await t.rejects(stat(join(f.dataDir, 'c0ffee')), { code: 'ENOENT' }, 'nothing saved');
  await writeFile(f.subnetFile, 'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\n');
  t.match(errorOf(await cni(f, 'ADD', f.conf())), { code: 6, msg: `loadFlannelSubnetEnv failed: ${f.subnetFile} is missing FLANNEL_MTU, FLANNEL_IPMASQ` });
  await writeFile(f.subnetFile, ENV);

  t.same(errorOf(await cni(f, 'ADD', f.conf(), { CNI_PATH: '/nonexistent:/nonexistent2' })), {
    cniVersion: '0.3.1', code: 7, msg: 'failed to find plugin "bridge" in path [/nonexistent /nonexistent2]',
    details: 'install the CNI reference plugins there (bridge, host-local, portmap …) or fix CNI_PATH / delegate.type',
  });
  t.match(errorOf(await cni(f, 'ADD', f.conf({ delegate: { type: '../bin/bridge' } }))), { code: 7, msg: 'invalid plugin name: ../bin/bridge' });
  t.match(errorOf(await cni(f, 'ADD', f.conf({ delegate: { name: 'x' } }))), { code: 7, msg: /must not have 'name' field/ });
  t.match(errorOf(await cni(f, 'ADD', f.conf(), { CNI_NETNS: '/proc/self/ns/net' })),
    { code: 8, msg: "plugin's netns and netns from CNI_NETNS should not be the same" });

  await writeFile(join(f.bin, 'bridge'), '#!/bin/sh\ncat >/dev/null\necho garbage\n');
  t.match(errorOf(await cni(f, 'ADD', f.conf())), { code: 999, msg: /^failed to delegate add: bridge printed no valid result/ });
});

t.test('CNI protocol errors as skel reports them', async (t) => {
  const f = await fixture(t);
  const e = async (cmd: string, stdin: string, env: Record<string, string | undefined> = {}): Promise<object> => {
    const r = await cni(f, cmd, stdin, env);
    t.equal(r.code, 1, `${cmd} fails`);
    return errorOf(r);
  };
  t.same(await e('ADD', f.conf(), { CNI_NETNS: '', CNI_PATH: undefined }),
    { cniVersion: '1.0.0', code: 4, msg: 'required env variables [CNI_NETNS,CNI_PATH] missing' });
  t.same(await e('DEL', f.conf(), { CNI_CONTAINERID: undefined, CNI_NETNS: undefined }),
    { cniVersion: '1.0.0', code: 4, msg: 'required env variables [CNI_CONTAINERID] missing' }, 'DEL does not need CNI_NETNS');
  t.match(await e('GC', f.conf()), { code: 4, msg: 'unknown CNI_COMMAND: GC' });
  t.match(await e('ADD', '{"name":'), { code: 6, msg: /^error unmarshall network config: / });
  t.match(await e('ADD', '{"cniVersion":"0.3.1"}'), { cniVersion: '0.3.1', code: 7, msg: 'missing network name' });
  t.match(await e('ADD', f.conf(), { CNI_CONTAINERID: 'a/../b' }), { code: 4, msg: 'invalid characters in containerID', details: 'a/../b' });
  t.match(await e('ADD', f.conf(), { CNI_IFNAME: 'eth0123456789abc' }), { code: 4, msg: 'interface name is too long' });
  t.match(await e('ADD', f.conf(), { CNI_IFNAME: 'eth:0' }), { code: 4, msg: 'interface name contains / or : or whitespace characters' });
  t.match(await e('ADD', f.conf(), { CNI_IFNAME: '..' }), { code: 4, msg: 'interface name is . or ..' });
  t.match(await e('ADD', f.conf({ cniVersion: '1.1.0' })), { cniVersion: '1.0.0', code: 1, msg: 'incompatible CNI versions' });
  t.match(await e('CHECK', f.conf()), { code: 1, msg: 'config version does not allow CHECK' });
  t.match(await e('CHECK', f.conf({ cniVersion: '1.0.0' })), { code: 3, msg: `no saved delegate netconf ${join(f.dataDir, 'c0ffee')} for container c0ffee` });

  const none = await cni(f, '', '', {});
  t.same([none.code, none.stdout], [0, ''], 'no CNI_COMMAND: exit 0');
  t.match(none.stderr, /^CNI plugin vxtun-cni \(flannel-compatible meta plugin\) version \S+\nCNI protocol versions supported: 0\.1\.0, 0\.2\.0, 0\.3\.0, 0\.3\.1, 0\.4\.0, 1\.0\.0\n$/);
  const version = await cni(f, 'VERSION', 'not json', { CNI_CONTAINERID: undefined });
  t.same(version, { code: 0, stderr: '', stdout: '{"cniVersion":"1.0.0","supportedVersions":["0.1.0","0.2.0","0.3.0","0.3.1","0.4.0","1.0.0"]}\n' });
});

t.test('DEL with an unreadable saved netconf succeeds and keeps the file (as flannel)', async (t) => {
  const f = await fixture(t);
  await mkdir(f.dataDir);
  await writeFile(join(f.dataDir, 'c0ffee'), '{"cniVersion":');
  const r = await cni(f, 'DEL', f.conf());
  t.same([r.code, r.stdout], [0, '']);
  t.match(r.stderr, `failed to parse netconf: ${join(f.dataDir, 'c0ffee')}: `);
  t.equal(await readFile(join(f.dataDir, 'c0ffee'), 'utf8'), '{"cniVersion":');
});

t.test('bin/vxtun-cni.js as a runtime runs it: exit status and stdout', async (t) => {
  const f = await fixture(t);
  const bin = fileURLToPath(new URL('../../../bin/vxtun-cni.js', import.meta.url));
  const run = (env: Record<string, string>, input: string) =>
    spawnSync(process.execPath, [bin], { input, encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '', ...env } });
  const v = run({ CNI_COMMAND: 'VERSION' }, '');
  t.same([v.status, v.stdout], [0, '{"cniVersion":"1.0.0","supportedVersions":["0.1.0","0.2.0","0.3.0","0.3.1","0.4.0","1.0.0"]}\n']);
  const env = { CNI_CONTAINERID: 'c0ffee', CNI_NETNS: f.netns, CNI_IFNAME: 'eth0', CNI_PATH: f.bin };
  const add = run({ CNI_COMMAND: 'ADD', ...env }, f.conf());
  t.same([add.status, add.stdout], [0, RESULT]);
  const bad = run({ CNI_COMMAND: 'ADD', ...env, CNI_IFNAME: '' }, f.conf());
  t.equal(bad.status, 1);
  t.same(JSON.parse(bad.stdout), { cniVersion: '1.0.0', code: 4, msg: 'required env variables [CNI_IFNAME] missing' });
  const del = run({ CNI_COMMAND: 'DEL', ...env }, f.conf());
  t.same([del.status, del.stdout], [0, '']);
});
