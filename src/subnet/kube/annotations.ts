// SPDX-License-Identifier: Apache-2.0
/**
 * flannel's node annotations (pkg/subnet/kube/annotations.go) and the exact values a
 * vxlan flanneld writes in them, so that stock flanneld nodes read what we publish and we
 * read what they publish.
 *
 * Design notes:
 * - The prefix is normalised as flanneld's newAnnotations does: no slash → append "/";
 *   one slash not at the end → append "-" (`example.com/foo` gives
 *   `example.com/foo-backend-data`); more than one slash, or a prefix not matching
 *   flanneld's regex, is refused naming the flag.
 * - backend-data is written exactly as `{"VNI":1,"VtepMAC":"aa:bb:cc:dd:ee:ff"}`:
 *   flanneld's GetStoredMacAddresses does not parse JSON, it trims `"}` and splits on
 *   `:"`, so key order, spacing and case matter. flanneldStoredMac() reproduces that
 *   parser so tests can prove our value survives it.
 * - Reading our own stored MAC we parse the JSON properly (storedVtepMac): any value
 *   holding a valid unicast VtepMAC is reused, whoever wrote it.
 */
import { ConfigError } from '../../config/errors.js';
import { macProblem, canonicalMac } from '../../config/lease.js';
import { isJsonObject } from '../../config/json.js';

/** flanneld's --kube-annotation-prefix default. */
export const DEFAULT_ANNOTATION_PREFIX = 'flannel.alpha.coreos.com';

/** The annotation keys for one prefix (IPv4 only: vxtun does not publish the v6 keys). */
export interface AnnotationKeys {
  /** `<p>kube-subnet-manager`: "true" on nodes whose flannel uses the kube manager. */
  readonly kubeSubnetManager: string;
  /** `<p>backend-type`: "vxlan". */
  readonly backendType: string;
  /** `<p>backend-data`: `{"VNI":1,"VtepMAC":"..."}`. */
  readonly backendData: string;
  /** `<p>public-ip`: the address peers tunnel to. */
  readonly publicIp: string;
  /** `<p>public-ip-overwrite` (set by the operator): advertised instead of our address. */
  readonly publicIpOverwrite: string;
  /** `<p>node-public-ip` (set by the operator): our public IP, as if given by --public-ip. */
  readonly nodePublicIp: string;
}

const PREFIX_RE = /(?:[a-z0-9_-]+\.)+[a-z0-9_-]+\/(?:[a-z0-9_-]+-)?$/;

/** annotationKeys builds the keys for `prefix` as flanneld does; ConfigError names the flag when it is unusable. */
export function annotationKeys(prefix: string): AnnotationKeys {
  const fail = (reason: string): never => {
    throw new ConfigError('command line', '--kube-annotation-prefix', JSON.stringify(prefix), reason);
  };
  const slashes = prefix.split('/').length - 1;
  if (slashes > 1) fail('may contain at most one slash');
  let p = slashes === 0 ? `${prefix}/` : prefix;
  if (!p.endsWith('/') && !p.endsWith('-')) p += '-';
  if (!PREFIX_RE.test(p)) fail('must look like <fqdn>[/<name>] in lowercase letters, digits, "-", "_" and "." (e.g. flannel.alpha.coreos.com)');
  return {
    kubeSubnetManager: `${p}kube-subnet-manager`,
    backendType: `${p}backend-type`,
    backendData: `${p}backend-data`,
    publicIp: `${p}public-ip`,
    publicIpOverwrite: `${p}public-ip-overwrite`,
    nodePublicIp: `${p}node-public-ip`,
  };
}

/**
 * backendDataValue is the backend-data annotation flanneld writes: the VNI cut to 16 bits
 * (its vxlanLeaseAttrs declares VNI uint16) and the MAC in lowercase.
 */
export function backendDataValue(vni: number, vtepMac: string): string {
  return `{"VNI":${vni & 0xffff},"VtepMAC":${JSON.stringify(canonicalMac(vtepMac))}}`;
}

/** flanneld's GetStoredMacAddresses parser, verbatim: trim `"` and `}` from both ends, split on `:"`, take part 2 of exactly 2. */
export function flanneldStoredMac(backendData: string): string {
  const trimmed = backendData.replace(/^["}]+/, '').replace(/["}]+$/, '');
  const parts = trimmed.split(':"');
  return parts.length === 2 ? parts[1]! : '';
}

/** The parsed content of a backend-data annotation. */
export interface BackendData {
  readonly vni: number;
  readonly vtepMac: string;
}

/**
 * parseBackendData decodes a backend-data annotation of node `node`. Throws ConfigError
 * (file `node <name>`, key = the annotation) saying what is wrong.
 */
export function parseBackendData(node: string, key: string, text: string): BackendData {
  const fail = (value: string, reason: string): never => {
    throw new ConfigError(`node ${node}`, key, value, reason);
  };
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return fail(JSON.stringify(text), 'is not JSON (want {"VNI":1,"VtepMAC":"aa:bb:cc:dd:ee:ff"})');
  }
  if (!isJsonObject(doc)) return fail(JSON.stringify(text), 'is not a JSON object (want {"VNI":1,"VtepMAC":"aa:bb:cc:dd:ee:ff"})');
  const vni = doc['VNI'];
  if (typeof vni !== 'number' || !Number.isInteger(vni) || vni < 0 || vni > 0xffffff) {
    return fail(JSON.stringify(text), `has VNI ${JSON.stringify(vni) ?? '(missing)'}, not an integer in 0..16777215`);
  }
  const mac = doc['VtepMAC'];
  if (typeof mac !== 'string') return fail(JSON.stringify(text), 'has no VtepMAC string');
  const problem = macProblem(mac);
  if (problem !== null) return fail(JSON.stringify(text), `has VtepMAC ${JSON.stringify(mac)}, which ${problem}`);
  return { vni, vtepMac: canonicalMac(mac) };
}

/** storedVtepMac returns the valid VtepMAC held in a backend-data annotation, or null when absent or unusable. */
export function storedVtepMac(node: string, key: string, text: string | undefined): string | null {
  if (text === undefined || text === '') return null;
  try {
    return parseBackendData(node, key, text).vtepMac;
  } catch {
    return null;
  }
}
