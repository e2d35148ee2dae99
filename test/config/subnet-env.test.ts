// SPDX-License-Identifier: Apache-2.0
import t from 'tap';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cidr, formatCidr } from '../../src/config/cidr.js';
import {
  formatSubnetEnv, parseEnv, previousSubnet, readSubnetEnv, writeFileAtomic, writeSubnetEnv, type SubnetEnv,
} from '../../src/config/subnet-env.js';

const ENV: SubnetEnv = { network: cidr('10.244.0.0/16'), subnet: cidr('10.244.1.0/24'), mtu: 1450, ipMasq: true };
const EXPECTED = 'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n';

async function tempDir(t: { teardown(fn: () => unknown): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'vxtun-env-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

t.test('formatSubnetEnv is byte-exact with flanneld', async (t) => {
  t.equal(formatSubnetEnv(ENV), EXPECTED);
  t.equal(formatSubnetEnv({ network: cidr('10.5.0.0/16'), subnet: cidr('10.5.52.0/24'), mtu: 8951, ipMasq: false }),
    'FLANNEL_NETWORK=10.5.0.0/16\nFLANNEL_SUBNET=10.5.52.1/24\nFLANNEL_MTU=8951\nFLANNEL_IPMASQ=false\n');
  t.equal(formatSubnetEnv({ network: cidr('10.244.3.3/16'), subnet: cidr('10.244.1.77/25'), mtu: 1400, ipMasq: false }),
    'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/25\nFLANNEL_MTU=1400\nFLANNEL_IPMASQ=false\n', 'host bits are cleared first');
  t.equal(formatSubnetEnv({ ...ENV, subnet: cidr('10.244.0.128/25') }).split('\n')[1], 'FLANNEL_SUBNET=10.244.0.129/25');
});

t.test('writeSubnetEnv creates the directory and writes atomically with mode 0644', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'run', 'flannel', 'subnet.env');
  await writeSubnetEnv(path, ENV);
  t.equal(await readFile(path, 'utf8'), EXPECTED);
  t.equal((await stat(path)).mode & 0o777, 0o644, 'file mode 0644 regardless of umask');
  const umask = process.umask();
  t.equal((await stat(join(dir, 'run', 'flannel'))).mode & 0o777, 0o755 & ~umask, 'directory 0755 (minus umask)');
  t.same(await readdir(join(dir, 'run', 'flannel')), ['subnet.env'], 'no temp file remains');

  const before = (await stat(path)).ino;
  await writeSubnetEnv(path, { ...ENV, mtu: 8950, ipMasq: false });
  t.equal(await readFile(path, 'utf8'), EXPECTED.replace('1450', '8950').replace('true', 'false'));
  t.not((await stat(path)).ino, before, 'replaced by rename (new inode), never rewritten in place');
  t.same(await readdir(join(dir, 'run', 'flannel')), ['subnet.env']);
});

t.test('a failed write leaves no temp file and the old content', async (t) => {
  const dir = await tempDir(t);
  const target = join(dir, 'subnet.env');
  await mkdir(target); // renaming a file over a directory fails
  await t.rejects(writeFileAtomic(target, 'x', 0o644), { code: 'EISDIR' });
  t.same(await readdir(dir), ['subnet.env'], 'the temp file was removed');
  await writeFile(join(dir, 'plain'), '');
  await t.rejects(writeSubnetEnv(join(dir, 'plain', 'subnet.env'), ENV), 'a path under a regular file rejects');
});

t.test('readSubnetEnv reads back what was written; null when missing', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'subnet.env');
  t.equal(await readSubnetEnv(path), null);
  await writeSubnetEnv(path, ENV);
  const env = await readSubnetEnv(path);
  t.same(env && Object.fromEntries(env), {
    FLANNEL_NETWORK: '10.244.0.0/16', FLANNEL_SUBNET: '10.244.1.1/24', FLANNEL_MTU: '1450', FLANNEL_IPMASQ: 'true',
  });
  t.equal(formatCidr(previousSubnet(env!)!), '10.244.1.0/24', 'previous subnet for etcd re-acquire');
  await t.rejects(readSubnetEnv(dir), { code: 'EISDIR' }, 'other read errors are thrown');
});

t.test('parseEnv is godotenv-like', async (t) => {
  const text = '# written by hand\n\nexport FLANNEL_NETWORK=10.244.0.0/16\r\nFLANNEL_SUBNET="10.244.1.1/24"\n' +
    "FLANNEL_MTU='1450'\nFLANNEL_IPMASQ=true # comment\n  SPACED = value  \nnot a line\n=novalue\nDUP=1\nDUP=2\n";
  t.same(Object.fromEntries(parseEnv(text)), {
    FLANNEL_NETWORK: '10.244.0.0/16', FLANNEL_SUBNET: '10.244.1.1/24', FLANNEL_MTU: '1450', FLANNEL_IPMASQ: 'true', SPACED: 'value', DUP: '2',
  });
});

t.test('previousSubnet handles lists and junk', async (t) => {
  t.equal(formatCidr(previousSubnet(new Map([['FLANNEL_SUBNET', '10.5.52.1/24,10.6.0.1/24']]))!), '10.5.52.0/24');
  t.equal(previousSubnet(new Map()), null);
  t.equal(previousSubnet(new Map([['FLANNEL_SUBNET', 'garbage']])), null);
});

t.test('an existing file is replaced even when read-only', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'subnet.env');
  await writeFile(path, 'old', { mode: 0o400 });
  await writeSubnetEnv(path, ENV);
  t.equal(await readFile(path, 'utf8'), EXPECTED);
});
