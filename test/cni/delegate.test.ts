// SPDX-License-Identifier: Apache-2.0
import t from 'tap';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEnv } from '../../src/config/subnet-env.js';
import { buildDelegateBytes, loadDelegate, removeDelegate, saveDelegate } from '../../src/cni/delegate.js';
import { parseNetConf, parseNetConfText } from '../../src/cni/netconf.js';
import { decodeSubnetEnv } from '../../src/cni/subnet-env.js';

const ENV_MASQ = 'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n';
const ENV_NOMASQ = ENV_MASQ.replace('IPMASQ=true', 'IPMASQ=false');
/** The plugin entry of kube-flannel.yml's conflist as libcni hands it to the plugin (name and cniVersion inserted). */
const KUBE_FLANNEL = { cniVersion: '0.3.1', name: 'cbr0', type: 'flannel', delegate: { hairpinMode: true, isDefaultGateway: true } };

const build = (conf: object, env = ENV_MASQ): string =>
  buildDelegateBytes(parseNetConf(parseNetConfText(JSON.stringify(conf))), decodeSubnetEnv('/run/flannel/subnet.env', parseEnv(env)));

t.test('kube-flannel.yml conflist: byte-for-byte the delegate flannel\'s plugin writes', async (t) => {
  // The same string appears in flannel's "delegateAdd: netconf sent to delegate plugin" logs
  // and in /var/lib/cni/flannel/<id> on stock nodes.
  t.equal(build(KUBE_FLANNEL),
    '{"cniVersion":"0.3.1","hairpinMode":true,"ipMasq":false,"ipam":{"ranges":[[{"subnet":"10.244.1.0/24"}]],' +
    '"routes":[{"dst":"10.244.0.0/16"}],"type":"host-local"},"isDefaultGateway":true,"isGateway":true,"mtu":1450,"name":"cbr0","type":"bridge"}');
  t.equal(build(KUBE_FLANNEL, ENV_NOMASQ),
    '{"cniVersion":"0.3.1","hairpinMode":true,"ipMasq":true,"ipam":{"ranges":[[{"subnet":"10.244.1.0/24"}]],' +
    '"routes":[{"dst":"10.244.0.0/16"}],"type":"host-local"},"isDefaultGateway":true,"isGateway":true,"mtu":1450,"name":"cbr0","type":"bridge"}',
    'FLANNEL_IPMASQ=false: the bridge masquerades instead');
});

t.test('user routes come first, decoded as CNI routes, then one per FLANNEL_NETWORK', async (t) => {
  const conf = { ...KUBE_FLANNEL, ipam: { routes: [{ dst: '192.168.0.0/16', gw: '10.244.1.254' }, { DST: '0.0.0.0/0', gw: '' }, { dst: '172.16.5.9/12', mtu: 1400, table: 0, extra: 'x' }] } };
  t.equal(build(conf, ENV_MASQ.replace('10.244.0.0/16', '10.244.0.0/16,10.250.0.0/16')),
    '{"cniVersion":"0.3.1","hairpinMode":true,"ipMasq":false,"ipam":{"ranges":[[{"subnet":"10.244.1.0/24"}]],' +
    '"routes":[{"dst":"192.168.0.0/16","gw":"10.244.1.254"},{"dst":"0.0.0.0/0"},{"dst":"172.16.5.9/12","mtu":1400,"table":0},' +
    '{"dst":"10.244.0.0/16"},{"dst":"10.250.0.0/16"}],"type":"host-local"},"isDefaultGateway":true,"isGateway":true,"mtu":1450,"name":"cbr0","type":"bridge"}');
});

t.test('user ipam keys are kept: a subnet does not replace the flannel range, ranges are replaced', async (t) => {
  const conf = { cniVersion: '1.0.0', name: 'cbr0', ipam: { subnet: '10.99.0.0/24', dataDir: '/var/lib/x', ranges: [[{ subnet: '1.2.3.0/24' }]] } };
  t.equal(build(conf),
    '{"cniVersion":"1.0.0","ipMasq":false,"ipam":{"dataDir":"/var/lib/x","ranges":[[{"subnet":"10.244.1.0/24"}]],' +
    '"routes":[{"dst":"10.244.0.0/16"}],"subnet":"10.99.0.0/24","type":"host-local"},"isGateway":true,"mtu":1450,"name":"cbr0","type":"bridge"}');
  t.equal(build({ name: 'n', ipam: { type: 'static' } }),
    '{"ipMasq":false,"ipam":{"ranges":[[{"subnet":"10.244.1.0/24"}]],"routes":[{"dst":"10.244.0.0/16"}],"type":"static"},"isGateway":true,"mtu":1450,"name":"n","type":"bridge"}',
    'an explicit ipam type is kept; no cniVersion key without a netconf cniVersion');
});

t.test('user delegate values win over the defaults; isGateway only for bridge', async (t) => {
  t.equal(build({ name: 'n', cniVersion: '1.0.0', delegate: { ipMasq: true, mtu: 1400, isGateway: false, cniVersion: '0.1.0' } }),
    '{"cniVersion":"1.0.0","ipMasq":true,"ipam":{"ranges":[[{"subnet":"10.244.1.0/24"}]],"routes":[{"dst":"10.244.0.0/16"}],"type":"host-local"},' +
    '"isGateway":false,"mtu":1400,"name":"n","type":"bridge"}');
  t.equal(build({ name: 'n', delegate: { type: 'ipvlan', master: 'eth0' } }),
    '{"ipMasq":false,"ipam":{"ranges":[[{"subnet":"10.244.1.0/24"}]],"routes":[{"dst":"10.244.0.0/16"}],"type":"host-local"},' +
    '"master":"eth0","mtu":1450,"name":"n","type":"ipvlan"}');
  t.equal(build({ name: 'n', runtimeConfig: { portMappings: [{ hostPort: 80 }] }, delegate: { note: '<&>' } }),
    '{"ipMasq":false,"ipam":{"ranges":[[{"subnet":"10.244.1.0/24"}]],"routes":[{"dst":"10.244.0.0/16"}],"type":"host-local"},' +
    '"isGateway":true,"mtu":1450,"name":"n","note":"\\u003c\\u0026\\u003e","runtimeConfig":{"portMappings":[{"hostPort":80}]},"type":"bridge"}');
});

t.test('dual stack and IPv6 only', async (t) => {
  const v6 = 'FLANNEL_IPV6_NETWORK=2001:cafe:42::/56\nFLANNEL_IPV6_SUBNET=2001:cafe:42:1::1/64\n';
  t.equal(build({ name: 'n' }, ENV_MASQ + v6),
    '{"ipMasq":false,"ipam":{"ranges":[[{"subnet":"10.244.1.0/24"}],[{"subnet":"2001:cafe:42:1::/64"}]],' +
    '"routes":[{"dst":"10.244.0.0/16"},{"dst":"2001:cafe:42::/56"}],"type":"host-local"},"isGateway":true,"mtu":1450,"name":"n","type":"bridge"}');
  t.equal(build({ name: 'n' }, `${v6}FLANNEL_MTU=1430\nFLANNEL_IPMASQ=false\n`),
    '{"ipMasq":true,"ipam":{"ranges":[[{"subnet":"2001:cafe:42:1::/64"}]],"routes":[{"dst":"2001:cafe:42::/56"}],"type":"host-local"},' +
    '"isGateway":true,"mtu":1430,"name":"n","type":"bridge"}');
});

t.test('delegate errors: flannel\'s texts, code 7', async (t) => {
  t.throws(() => build({ name: 'n', delegate: { type: 5 } }), { code: 7, message: "'delegate' dictionary, if present, must have (string) 'type' field" });
  t.throws(() => build({ name: 'n', delegate: { name: 'x' } }), { code: 7, message: "'delegate' dictionary must not have 'name' field, it'll be set by flannel" });
  t.throws(() => build({ name: 'n', delegate: { ipam: {} } }), { code: 7, message: "'delegate' dictionary must not have 'ipam' field, it'll be set by flannel" });
  const pre = 'failed to assemble Delegate IPAM: failed to read IPAM routes: netconf (stdin): ';
  t.throws(() => build({ name: 'n', ipam: { routes: {} } }), { code: 7, message: `${pre}ipam.routes: {} is not a JSON array` });
  t.throws(() => build({ name: 'n', ipam: { routes: [{ dst: '10.0.0.0' }] } }), { code: 7, message: `${pre}ipam.routes[0].dst: invalid CIDR address: 10.0.0.0` });
  t.throws(() => build({ name: 'n', ipam: { routes: [{ gw: '10.0.0.1' }] } }), { code: 7, message: /ipam\.routes\[0\]\.dst: \(missing\)/ });
  t.throws(() => build({ name: 'n', ipam: { routes: [{ dst: '10.0.0.0/8', gw: '10.0.0.256' }] } }), { message: `${pre}ipam.routes[0].gw: invalid IP address: 10.0.0.256` });
  t.throws(() => build({ name: 'n', ipam: { routes: [{ dst: '10.0.0.0/8', mtu: 'big' }] } }), { message: /ipam\.routes\[0\]\.mtu: "big" is not an integer/ });
  t.throws(() => build({ name: 'n', ipam: { routes: [null] } }), { message: `${pre}ipam.routes[0]: null is not a JSON object` });
});

t.test('scratch file: <dataDir>/<containerID>, dir 0700, file 0600, atomic; load/remove', async (t) => {
  const base = await mkdtemp(join(tmpdir(), 'vxtun-cni-data-'));
  t.teardown(() => rm(base, { recursive: true, force: true }));
  const dataDir = join(base, 'var', 'lib', 'cni', 'flannel');
  t.equal(await loadDelegate(dataDir, 'abc'), null, 'nothing saved yet');
  await saveDelegate(dataDir, 'abc', '{"type":"bridge"}');
  t.equal(await readFile(join(dataDir, 'abc'), 'utf8'), '{"type":"bridge"}');
  t.equal((await stat(join(dataDir, 'abc'))).mode & 0o777, 0o600);
  t.equal((await stat(dataDir)).mode & 0o777, 0o700 & ~process.umask());
  t.same(await readdir(dataDir), ['abc'], 'no temp file left');
  await saveDelegate(dataDir, 'abc', '{"type":"ipvlan"}');
  t.equal(await loadDelegate(dataDir, 'abc'), '{"type":"ipvlan"}', 'rewritten in place');
  await removeDelegate(dataDir, 'abc');
  await removeDelegate(dataDir, 'abc');
  t.equal(await loadDelegate(dataDir, 'abc'), null);
  await t.rejects(saveDelegate(join(dataDir, 'abc-missing', '\0'), 'x', '{}'), { code: 5, message: /failed to save the delegate netconf to / });
  await t.rejects(loadDelegate(base, 'var'), { code: 5, message: /failed to read the saved delegate netconf .*var: EISDIR/ });
});
