// SPDX-License-Identifier: Apache-2.0
// flannel's annotation keys and values, the Node → Lease conversion and the status patch,
// without any server: prefix normalisation as flanneld's newAnnotations, backend-data
// byte-exact and readable by flanneld's naive stored-MAC parser, node problems named.
import t from 'tap';
import { formatCidr } from '../../../src/config/cidr.js';
import { annotationKeys, backendDataValue, flanneldStoredMac, parseBackendData, storedVtepMac } from '../../../src/subnet/kube/annotations.js';
import { ipv4PodCidr, nodeToLease, type KubeNode } from '../../../src/subnet/kube/node-lease.js';
import { annotationPatch, kubeTime, networkUnavailablePatch } from '../../../src/subnet/kube/patches.js';
import { kubeNodeOf } from '../../../src/subnet/kube/client.js';
import { kubeNetConfig } from '../../../src/subnet/kube/manager.js';
import { parseNetConfRaw } from '../../../src/config/netconf.js';
import { flannelAnnotations, P } from './helpers.js';

t.test('annotation keys follow flanneld\'s prefix rules', async (t) => {
  t.equal(annotationKeys(P).backendData, `${P}/backend-data`);
  t.same(annotationKeys(P), {
    kubeSubnetManager: `${P}/kube-subnet-manager`, backendType: `${P}/backend-type`, backendData: `${P}/backend-data`,
    publicIp: `${P}/public-ip`, publicIpOverwrite: `${P}/public-ip-overwrite`, nodePublicIp: `${P}/node-public-ip`,
  });
  t.equal(annotationKeys('example.com/').publicIp, 'example.com/public-ip', 'a trailing slash is kept');
  t.equal(annotationKeys('example.com/net').publicIp, 'example.com/net-public-ip', 'a name after the slash gets "-"');
  t.equal(annotationKeys('example.com/net-').publicIp, 'example.com/net-public-ip');
  t.throws(() => annotationKeys('a.b/c/d'), { name: 'ConfigError', key: '--kube-annotation-prefix', message: /at most one slash/ });
  t.throws(() => annotationKeys('NoDots'), { name: 'ConfigError', message: /<fqdn>/ });
  t.throws(() => annotationKeys('Upper.Case'), { name: 'ConfigError' });
});

t.test('backend-data is exactly flanneld\'s and survives its naive parser', async (t) => {
  t.equal(backendDataValue(1, '0E:AA:BB:CC:DD:EE'), '{"VNI":1,"VtepMAC":"0e:aa:bb:cc:dd:ee"}');
  t.equal(backendDataValue(70000, '02:00:00:00:00:01'), '{"VNI":4464,"VtepMAC":"02:00:00:00:00:01"}', 'VNI cut to uint16 as flanneld publishes it');
  t.equal(flanneldStoredMac(backendDataValue(4096, '12:c6:65:89:b4:e3')), '12:c6:65:89:b4:e3');
  // What flanneld's parser makes of values written differently (why our spelling is exact).
  t.equal(flanneldStoredMac('{"VNI": 1, "VtepMAC": "12:c6:65:89:b4:e3"}'), '', 'spaces defeat it');
  t.equal(flanneldStoredMac('{"VtepMAC":"12:c6:65:89:b4:e3","VNI":1}'), '12:c6:65:89:b4:e3","VNI":1', 'another key order yields garbage');
});

t.test('parseBackendData and storedVtepMac', async (t) => {
  const key = `${P}/backend-data`;
  t.same(parseBackendData('n', key, '{"VNI":4096,"VtepMAC":"0E:00:00:00:00:01"}'), { vni: 4096, vtepMac: '0e:00:00:00:00:01' });
  t.throws(() => parseBackendData('n', key, 'nope'), { name: 'ConfigError', file: 'node n', key, message: /is not JSON/ });
  t.throws(() => parseBackendData('n', key, '[1]'), { message: /is not a JSON object/ });
  t.throws(() => parseBackendData('n', key, '{"VNI":-1,"VtepMAC":"02:00:00:00:00:01"}'), { message: /has VNI -1/ });
  t.throws(() => parseBackendData('n', key, '{"VNI":1}'), { message: /has no VtepMAC/ });
  t.throws(() => parseBackendData('n', key, '{"VNI":1,"VtepMAC":"01:00:5e:00:00:01"}'), { message: /multicast/ });
  t.equal(storedVtepMac('n', key, undefined), null);
  t.equal(storedVtepMac('n', key, ''), null);
  t.equal(storedVtepMac('n', key, '{"VNI":1,"VtepMAC":"zz"}'), null);
  t.equal(storedVtepMac('n', key, '{"VNI": 1, "VtepMAC": "0e:00:00:00:00:09"}'), '0e:00:00:00:00:09', 'any valid JSON spelling is reused');
});

const node = (o: Partial<KubeNode> & { annotations?: Record<string, string> }): KubeNode => ({
  name: 'w1', resourceVersion: '1', podCIDRs: ['10.244.2.0/24'], annotations: flannelAnnotations('02:00:00:00:00:02', '192.168.5.2'), ...o,
});
const keys = annotationKeys(P);
const net = parseNetConfRaw('nc', '{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan"}}').network;

t.test('nodeToLease', async (t) => {
  const r = nodeToLease(node({}), keys, net, 'nc');
  t.equal(r.kind, 'lease');
  if (r.kind === 'lease') t.same({ ...r.lease, subnet: formatCidr(r.lease.subnet) }, { subnet: '10.244.2.0/24', key: '10.244.2.0-24', publicIp: 0xc0a80502, vni: 1, vtepMac: '02:00:00:00:00:02', backendType: 'vxlan' });
  t.equal(nodeToLease(node({ annotations: {} }), keys, net, 'nc').kind, 'not-flannel');
  t.equal(nodeToLease(node({ annotations: { ...flannelAnnotations('02:00:00:00:00:02', '1.2.3.4'), [keys.kubeSubnetManager]: 'false' } }), keys, net, 'nc').kind, 'not-flannel');
  const problem = (n: KubeNode): string => {
    const x = nodeToLease(n, keys, net, 'nc');
    return x.kind === 'problem' ? x.problem.message : x.kind;
  };
  const ann = flannelAnnotations('02:00:00:00:00:02', '192.168.5.2');
  t.equal(problem(node({ annotations: { ...ann, [keys.publicIp]: 'x' } })), `node w1: ${P}/public-ip: "x" is not an IPv4 address`);
  t.equal(problem(node({ annotations: { ...ann, [keys.publicIp]: '0.0.0.0' } })), `node w1: ${P}/public-ip: "0.0.0.0" is the unspecified address`);
  const noIp: Record<string, string> = { ...ann };
  delete noIp[keys.publicIp];
  t.equal(problem(node({ annotations: noIp })), `node w1: ${P}/public-ip: (missing) is required`);
  t.match(problem(node({ annotations: { ...ann, [keys.backendType]: 'wireguard' } })), `node w1: ${P}/backend-type: "wireguard" is not "vxlan"`);
  t.equal(problem(node({ podCIDRs: ['10.244.2.0/33'] })), 'node w1: spec.podCIDR: "10.244.2.0/33" is not an IPv4 CIDR');
  t.equal(problem(node({ podCIDRs: ['fd00::/64'] })), 'node w1: spec.podCIDR: ["fd00::/64"] has no IPv4 pod CIDR (vxtun implements IPv4 only)');
  t.match(problem(node({ podCIDRs: ['10.244.2.0/24', 'fd00::/64', '10.244.3.0/24'] })), 'has more than two entries');
});

t.test('pod CIDRs: dual-stack picks IPv4, host bits are cleared, podCIDR alone is used', async (t) => {
  t.equal(formatCidr(ipv4PodCidr(node({ podCIDRs: ['fd00:1::/64', '10.244.4.0/24'] }))!), '10.244.4.0/24');
  t.equal(formatCidr(ipv4PodCidr(node({ podCIDRs: ['10.244.4.9/24'] }))!), '10.244.4.0/24');
  t.equal(ipv4PodCidr(node({ podCIDRs: [] })), null);
  t.same(kubeNodeOf({ metadata: { name: 'a', resourceVersion: '5' }, spec: { podCIDR: '10.244.1.0/24' } }),
    { name: 'a', resourceVersion: '5', annotations: {}, podCIDRs: ['10.244.1.0/24'] });
  t.same(kubeNodeOf({ metadata: { name: 'b' }, spec: { podCIDR: '10.244.1.0/24', podCIDRs: ['10.244.1.0/24', 'fd00::/64'] } }).podCIDRs, ['10.244.1.0/24', 'fd00::/64']);
  t.same(kubeNodeOf({ metadata: { name: 'c' } }).podCIDRs, []);
});

t.test('the annotation patch holds only what differs, keys sorted', async (t) => {
  t.equal(annotationPatch({ a: '1', b: '2' }, { b: '2', a: '1' }), null);
  t.equal(JSON.stringify(annotationPatch({ a: '1', z: 'keep' }, { c: '3', a: '9', b: '2' })), '{"metadata":{"annotations":{"a":"9","b":"2","c":"3"}}}');
});

t.test('the NetworkUnavailable patch is flanneld\'s', async (t) => {
  const at = new Date(Date.UTC(2024, 4, 1, 12, 30, 5, 789));
  t.equal(kubeTime(at), '2024-05-01T12:30:05Z');
  t.equal(JSON.stringify(networkUnavailablePatch(at)),
    '{"status":{"conditions":[{"type":"NetworkUnavailable","status":"False","lastHeartbeatTime":"2024-05-01T12:30:05Z","lastTransitionTime":"2024-05-01T12:30:05Z","reason":"FlannelIsUp","message":"Flannel is running on this node"}]}}');
});

t.test('kube mode fills SubnetLen/Min/Max informationally, without flannel\'s checks', async (t) => {
  const c = kubeNetConfig(parseNetConfRaw('nc', '{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan"}}'));
  t.equal(c.subnetLen, 24);
  t.equal(c.subnetMin, 0x0af40100);
  t.equal(c.subnetMax, 0x0af4ff00);
  const tiny = kubeNetConfig(parseNetConfRaw('nc', '{"Network":"10.1.2.0/31","Backend":{"Type":"vxlan"}}'));
  t.equal(tiny.subnetLen, 32, 'a /31 Network is not refused in kube mode (flanneld does not check it)');
});
