// SPDX-License-Identifier: Apache-2.0
import t from 'tap';
import { ConfigError, describeValue, isConfigError, MISSING } from '../../src/config/errors.js';

t.test('ConfigError composes file, key, value and reason', async (t) => {
  const e = new ConfigError('net-conf.json', 'Backend.VNI', '16777216', 'is not an integer in 0..16777215');
  t.equal(e.message, 'net-conf.json: Backend.VNI: 16777216 is not an integer in 0..16777215');
  t.equal(e.name, 'ConfigError');
  t.equal(e.file, 'net-conf.json');
  t.equal(e.key, 'Backend.VNI');
  t.equal(e.value, '16777216');
  t.equal(e.reason, 'is not an integer in 0..16777215');
  t.ok(e instanceof Error);
  t.ok(isConfigError(e));
});

t.test('ConfigError accepts a complete message', async (t) => {
  const e = new ConfigError('leases.json', 'PublicIP', '192.168.50.9', 'matches no lease', 'no lease in leases.json has PublicIP 192.168.50.9');
  t.equal(e.message, 'no lease in leases.json has PublicIP 192.168.50.9');
  t.equal(e.key, 'PublicIP');
});

t.test('isConfigError rejects other errors', async (t) => {
  t.notOk(isConfigError(new Error('x')));
  t.notOk(isConfigError('ConfigError'));
  t.notOk(isConfigError(null));
  const look = Object.assign(new Error('y'), { name: 'ConfigError', key: 'k', file: 'f' });
  t.ok(isConfigError(look), 'a ConfigError from another module copy is recognised by shape');
});

t.test('describeValue renders values for messages', async (t) => {
  t.equal(describeValue(undefined), MISSING);
  t.equal(describeValue(null), 'null');
  t.equal(describeValue(16777216), '16777216');
  t.equal(describeValue(true), 'true');
  t.equal(describeValue('udp'), '"udp"');
  t.equal(describeValue({ Type: 'udp' }), '{"Type":"udp"}');
  const long = describeValue({ a: 'x'.repeat(100) });
  t.equal(long.length, 60);
  t.ok(long.endsWith('...'));
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  t.equal(describeValue(cyclic), '[object Object]', 'unserialisable values still render');
});
