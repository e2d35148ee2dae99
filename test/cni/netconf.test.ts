// SPDX-License-Identifier: Apache-2.0
import t from 'tap';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEnv } from '../../src/config/subnet-env.js';
import { formatIpNet } from '../../src/cni/ipnet.js';
import { DEFAULT_DATA_DIR, DEFAULT_SUBNET_FILE, parseNetConf, parseNetConfText } from '../../src/cni/netconf.js';
import { decodeSubnetEnv, loadFlannelSubnetEnv } from '../../src/cni/subnet-env.js';
import { SUPPORTED_VERSIONS, checkVersion, checkVersionAllowsCheck, versionJson } from '../../src/cni/version.js';

const ENV = 'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n';

t.test('netconf: the kube-flannel.yml entry gets flannel defaults', async (t) => {
  const c = parseNetConf(parseNetConfText('{"cniVersion":"0.3.1","name":"cbr0","type":"flannel","delegate":{"hairpinMode":true,"isDefaultGateway":true}}'));
  t.same(c, {
    cniVersion: '0.3.1', name: 'cbr0', subnetFile: DEFAULT_SUBNET_FILE, dataDir: DEFAULT_DATA_DIR,
    delegate: { hairpinMode: true, isDefaultGateway: true }, ipam: undefined, runtimeConfig: undefined, prevResult: undefined,
  });
  t.equal(DEFAULT_SUBNET_FILE, '/run/flannel/subnet.env');
  t.equal(DEFAULT_DATA_DIR, '/var/lib/cni/flannel');
});

t.test('netconf: Go decoding rules (case-insensitive keys, null = default)', async (t) => {
  const c = parseNetConf(parseNetConfText(
    '{"name":"n","SubnetFile":"/tmp/s.env","DATADIR":"/tmp/d","delegate":null,"ipam":{"dataDir":"/x"},"runtimeConfig":{"portMappings":[]},"prevResult":{"cniVersion":"1.0.0"},"unknownKey":1}'));
  t.equal(c.cniVersion, '');
  t.equal(c.subnetFile, '/tmp/s.env');
  t.equal(c.dataDir, '/tmp/d');
  t.equal(c.delegate, undefined);
  t.same(c.ipam, { dataDir: '/x' });
  t.same(c.runtimeConfig, { portMappings: [] });
  t.same(c.prevResult, { cniVersion: '1.0.0' });
  t.equal(parseNetConf(parseNetConfText('{"name":"n","subnetFile":null}')).subnetFile, DEFAULT_SUBNET_FILE);
});

t.test('netconf errors name the field and use the spec codes', async (t) => {
  t.throws(() => parseNetConfText('{"name": "cbr0",'), { code: 6, message: /^error unmarshall network config: netconf \(stdin\): line 1 column 17/ });
  t.throws(() => parseNetConfText('[1]'), { code: 6, message: /is an array, not a JSON object/ });
  t.throws(() => parseNetConfText(''), { code: 6 });
  const p = (s: string): unknown => parseNetConf(parseNetConfText(s));
  t.throws(() => p('{"cniVersion":"1.0.0"}'), { code: 7, message: 'missing network name' });
  t.throws(() => p('{"name":""}'), { code: 7, message: 'missing network name' });
  t.throws(() => p('{"name":"-bad name"}'), { code: 7, message: 'invalid characters found in network name', details: '-bad name' });
  t.throws(() => p('{"name":"n","delegate":"bridge"}'), { code: 7, message: 'netconf (stdin): delegate: "bridge" is not a JSON object' });
  t.throws(() => p('{"name":"n","ipam":[]}'), { code: 7, message: 'netconf (stdin): ipam: [] is not a JSON object' });
  t.throws(() => p('{"name":"n","subnetFile":5}'), { code: 7, message: 'netconf (stdin): subnetFile: 5 is not a string' });
  t.throws(() => p('{"name":"n","cniVersion":1}'), { code: 7, message: 'netconf (stdin): cniVersion: 1 is not a string' });
});

t.test('subnet.env: the keys as flannel\'s plugin reads them (parsed by src/config/subnet-env.ts)', async (t) => {
  const e = decodeSubnetEnv('/f', parseEnv(ENV));
  t.same(e.networks.map(formatIpNet), ['10.244.0.0/16']);
  t.equal(formatIpNet(e.subnet!), '10.244.1.0/24', 'FLANNEL_SUBNET is reduced to its network');
  t.equal(e.mtu, 1450);
  t.equal(e.ipMasq, true);
  t.same(e.ip6Networks, []);
  t.equal(e.ip6Subnet, undefined);
  t.equal(decodeSubnetEnv('/f', parseEnv(ENV.replace('=true', '=True'))).ipMasq, false, 'only exactly "true" is true');
  const multi = decodeSubnetEnv('/f', parseEnv(ENV.replace('10.244.0.0/16', '10.244.0.0/16,10.245.3.0/16,10.244.0.0/16')));
  t.same(multi.networks.map(formatIpNet), ['10.244.0.0/16', '10.245.0.0/16'], 'comma list, networks, duplicates dropped');
  const v6 = decodeSubnetEnv('/f', parseEnv('FLANNEL_IPV6_NETWORK=2001:cafe:42::/56\nFLANNEL_IPV6_SUBNET=2001:cafe:42::1/64\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n'));
  t.same(v6.ip6Networks.map(formatIpNet), ['2001:cafe:42::/56']);
  t.equal(formatIpNet(v6.ip6Subnet!), '2001:cafe:42::/64');
  t.same(v6.networks, []);
});

t.test('subnet.env errors: each missing key, bad values, missing file', async (t) => {
  const without = (key: string): string => ENV.split('\n').filter((l) => !l.startsWith(`${key}=`)).join('\n');
  const miss = (text: string): unknown => decodeSubnetEnv('/run/flannel/subnet.env', parseEnv(text));
  const prefix = 'loadFlannelSubnetEnv failed: /run/flannel/subnet.env is missing ';
  t.throws(() => miss(without('FLANNEL_NETWORK')), { code: 6, message: `${prefix}FLANNEL_NETWORK, FLANNEL_IPV6_NETWORK` });
  t.throws(() => miss(without('FLANNEL_SUBNET')), { code: 6, message: `${prefix}FLANNEL_SUBNET, FLANNEL_IPV6_SUBNET` });
  t.throws(() => miss(without('FLANNEL_MTU')), { code: 6, message: `${prefix}FLANNEL_MTU` });
  t.throws(() => miss(without('FLANNEL_IPMASQ')), { code: 6, message: `${prefix}FLANNEL_IPMASQ` });
  t.throws(() => miss(''), { message: `${prefix}FLANNEL_NETWORK, FLANNEL_IPV6_NETWORK, FLANNEL_SUBNET, FLANNEL_IPV6_SUBNET, FLANNEL_MTU, FLANNEL_IPMASQ` });
  t.throws(() => miss(ENV.replace('10.244.1.1/24', '10.244.1.1')),
    { code: 6, message: 'loadFlannelSubnetEnv failed: /run/flannel/subnet.env: FLANNEL_SUBNET: invalid CIDR address: 10.244.1.1' });
  t.throws(() => miss(ENV.replace('10.244.0.0/16', '10.244.0.0/16,')), { message: /FLANNEL_NETWORK: invalid CIDR address: $/ });
  t.throws(() => miss(ENV.replace('1450', '-1')), { message: /FLANNEL_MTU: "-1" is not an unsigned 32-bit decimal integer/ });
  t.throws(() => miss(ENV.replace('1450', '4294967296')), { message: /FLANNEL_MTU/ });

  const dir = await mkdtemp(join(tmpdir(), 'vxtun-cni-env-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'subnet.env');
  await t.rejects(loadFlannelSubnetEnv(file), {
    code: 11, message: `loadFlannelSubnetEnv failed: open ${file}: no such file or directory`,
  });
  await t.rejects(loadFlannelSubnetEnv(dir), { code: 5, message: new RegExp(`^loadFlannelSubnetEnv failed: read ${dir}: EISDIR`) });
  await writeFile(file, ENV);
  t.equal((await loadFlannelSubnetEnv(file)).mtu, 1450);
});

t.test('versions: VERSION output and the skel checks', async (t) => {
  t.equal(versionJson(), '{"cniVersion":"1.0.0","supportedVersions":["0.1.0","0.2.0","0.3.0","0.3.1","0.4.0","1.0.0"]}\n');
  for (const v of SUPPORTED_VERSIONS) t.doesNotThrow(() => checkVersion(v));
  t.throws(() => checkVersion('1.1.0'), {
    code: 1, message: 'incompatible CNI versions',
    details: 'config is "1.1.0", plugin supports ["0.1.0" "0.2.0" "0.3.0" "0.3.1" "0.4.0" "1.0.0"]',
  });
  t.throws(() => checkVersionAllowsCheck('0.3.1'), { code: 1, message: 'config version does not allow CHECK' });
  t.doesNotThrow(() => checkVersionAllowsCheck('0.4.0'));
  t.throws(() => checkVersionAllowsCheck('x.y'), { code: 6, message: /invalid version "x.y"/ });
});
