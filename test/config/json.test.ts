// SPDX-License-Identifier: Apache-2.0
import t from 'tap';
import { ConfigError } from '../../src/config/errors.js';
import { isJsonObject, jsonErrorOffset, JsonFields, lineColumn, parseJsonText } from '../../src/config/json.js';

t.test('jsonErrorOffset agrees with JSON.parse on validity and finds the spot', async (t) => {
  const cases: [string, number][] = [
    ['{"a":1}', -1],
    [' [1, 2.5e-3, "x\\u00e9", true, false, null, {}] ', -1],
    ['"\\"\\\\\\/\\b\\f\\n\\r\\t"', -1],
    ['{"a":}', 5],
    ['{"a":1,}', 7],
    ['{"a":1', 6],
    ['xyz', 0],
    ['', 0],
    ['{"a":tru}', 5],
    ['{"a":"b\\q"}', 8],
    ['{"a" 1}', 5],
    ['[1,2]x', 5],
    ['{"a":01}', 6],
    ['{"a":-}', 6],
    ['{"a":1.}', 7],
    ['{"a":1e}', 7],
    ['"tab\there"', 4],
    ['"\\u12g4"', 5],
    ['{a:1}', 1],
  ];
  for (const [text, at] of cases) {
    t.equal(jsonErrorOffset(text), at, JSON.stringify(text));
    let valid = true;
    try { JSON.parse(text); } catch { valid = false; }
    t.equal(valid, at === -1, `JSON.parse agrees on ${JSON.stringify(text)}`);
  }
  t.ok(jsonErrorOffset('['.repeat(100000)) >= 0, 'deep unterminated nesting is reported, not thrown');
});

t.test('lineColumn is 1-based', async (t) => {
  t.same(lineColumn('abc', 0), { line: 1, column: 1 });
  t.same(lineColumn('ab\ncd', 3), { line: 2, column: 1 });
  t.same(lineColumn('ab\ncd', 4), { line: 2, column: 2 });
});

t.test('parseJsonText names file, line/column, offending character and offset', async (t) => {
  t.same(parseJsonText('f.json', '{"a":[1]}'), { a: [1] });
  const err = t.throws(() => parseJsonText('net-conf.json', '{\n  "Network": "10.244.0.0/16",\n  "Backend": }\n')) as ConfigError;
  t.type(err, ConfigError);
  t.equal(err.file, 'net-conf.json');
  t.equal(err.key, 'line 3 column 14');
  t.equal(err.value, '"}"');
  t.match(err.message, /^net-conf\.json: line 3 column 14: "}" is not valid JSON \(offset 45: .+\)$/);
  const empty = t.throws(() => parseJsonText('x.json', '')) as ConfigError;
  t.equal(empty.value, '(end of input)');
  t.equal(empty.key, 'line 1 column 1');
});

t.test('JsonFields matches keys like Go encoding/json', async (t) => {
  const known = ['Network', 'EnableIPv4', 'SubnetLen', 'Backend'];
  const f = new JsonFields('f', 'X.', { network: '10.0.0.0/8', ENABLEIPV4: false, Extra: 1, subnetlen: null, Backend: {} }, known);
  t.equal(f.string('Network'), '10.0.0.0/8', 'lower-case key matches');
  t.equal(f.bool('EnableIPv4'), false, 'upper-case key matches');
  t.equal(f.int('SubnetLen', 0, 32), undefined, 'null is absent');
  t.notOk(f.has('SubnetLen'));
  t.same(f.object('Backend'), {});
  t.same(f.unknown, ['X.Extra']);

  const later = new JsonFields('f', '', { Network: 'a', network: 'b' }, known);
  t.equal(later.string('Network'), 'b', 'later duplicate wins');
  const nulled = new JsonFields('f', '', { Network: 'a', network: null }, known);
  t.equal(nulled.string('Network'), 'a', 'a later null leaves the earlier value (Go)');
});

t.test('JsonFields type errors name file, key path and value', async (t) => {
  const f = new JsonFields('net-conf.json', 'Backend.', { VNI: 16777216, Port: '8472', GBP: 'yes', Type: 3, Sub: [] }, ['VNI', 'Port', 'GBP', 'Type', 'Sub']);
  const vni = t.throws(() => f.int('VNI', 0, 16777215)) as ConfigError;
  t.equal(vni.message, 'net-conf.json: Backend.VNI: 16777216 is not an integer in 0..16777215');
  t.same([vni.file, vni.key, vni.value], ['net-conf.json', 'Backend.VNI', '16777216']);
  t.throws(() => f.int('Port', 0, 65535), { message: 'net-conf.json: Backend.Port: "8472" is not an integer in 0..65535' });
  t.throws(() => f.bool('GBP'), { message: 'net-conf.json: Backend.GBP: "yes" is not a boolean (true or false)' });
  t.throws(() => f.string('Type'), { message: 'net-conf.json: Backend.Type: 3 is not a string' });
  t.throws(() => f.object('Sub'), { message: 'net-conf.json: Backend.Sub: [] is not a JSON object' });
  const frac = new JsonFields('f', '', { N: 1.5 }, ['N']);
  t.throws(() => frac.int('N', 0, 10), /1\.5 is not an integer/);
});

t.test('isJsonObject', async (t) => {
  t.ok(isJsonObject({}));
  t.notOk(isJsonObject([]));
  t.notOk(isJsonObject(null));
  t.notOk(isJsonObject('x'));
});
