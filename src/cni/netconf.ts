// SPDX-License-Identifier: Apache-2.0
/**
 * The plugin's own netconf (stdin), as flannel's CNI plugin declares it:
 *
 *   type NetConf struct {
 *     types.NetConf                       // cniVersion, name, type, capabilities, dns, prevResult
 *     IPAM          map[string]interface{} `json:"ipam,omitempty"`
 *     SubnetFile    string                 `json:"subnetFile"`     // default /run/flannel/subnet.env
 *     DataDir       string                 `json:"dataDir"`        // default /var/lib/cni/flannel
 *     Delegate      map[string]interface{} `json:"delegate"`
 *     RuntimeConfig map[string]interface{} `json:"runtimeConfig,omitempty"`
 *   }
 *
 * Decoding follows Go's encoding/json (src/config/json.ts JsonFields): keys match
 * case-insensitively, `null` leaves a field at its default, unknown keys are ignored.
 * Contract: parse errors are CniErrors naming the field: code 6 for text that is not
 * JSON, code 7 for a field of the wrong type, a missing/invalid network name.
 */
import { isConfigError } from '../config/errors.js';
import { JsonFields, isJsonObject, parseJsonText, type JsonObject } from '../config/json.js';
import { CniCode, CniError } from './errors.js';

/** flannel's defaults. */
export const DEFAULT_SUBNET_FILE = '/run/flannel/subnet.env';
export const DEFAULT_DATA_DIR = '/var/lib/cni/flannel';

/** How the netconf is named in error messages. */
export const NETCONF_SOURCE = 'netconf (stdin)';

/** The decoded plugin netconf. Object fields are the caller's to mutate (they are fresh copies). */
export interface FlannelNetConf {
  /** cniVersion as given; '' when absent (the spec then means 0.1.0). */
  readonly cniVersion: string;
  /** The network name (validated: letters, digits, `_`, `.`, `-`; not empty). */
  readonly name: string;
  readonly subnetFile: string;
  readonly dataDir: string;
  /** `delegate`; undefined when absent or null. */
  readonly delegate: JsonObject | undefined;
  /** `ipam`; undefined when absent or null. */
  readonly ipam: JsonObject | undefined;
  /** `runtimeConfig`; undefined when absent or null. */
  readonly runtimeConfig: JsonObject | undefined;
  /** `prevResult` (CHECK, and chained ADD); undefined when absent or null. */
  readonly prevResult: JsonObject | undefined;
}

const KNOWN = ['cniVersion', 'name', 'type', 'capabilities', 'dns', 'prevResult', 'ipam', 'subnetFile', 'dataDir', 'delegate', 'runtimeConfig'];
const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/**
 * parseNetConfText parses stdin as one JSON object. Not JSON → code 6 ("error unmarshall
 * network config: …" with line/column), JSON but not an object → code 6 too.
 */
export function parseNetConfText(text: string): JsonObject {
  let v: unknown;
  try {
    v = parseJsonText(NETCONF_SOURCE, text);
  } catch (err) {
    throw new CniError(CniCode.DecodingFailure, `error unmarshall network config: ${(err as Error).message}`);
  }
  if (!isJsonObject(v)) {
    throw new CniError(CniCode.DecodingFailure, `error unmarshall network config: ${NETCONF_SOURCE} is ${Array.isArray(v) ? 'an array' : JSON.stringify(v)}, not a JSON object`);
  }
  return v;
}

/** validateNetworkName: skel's checks on `name` (code 7, texts as in containernetworking/cni). */
export function validateNetworkName(name: string | undefined): string {
  if (name === undefined || name === '') throw new CniError(CniCode.InvalidNetworkConfig, 'missing network name', `${NETCONF_SOURCE} has no "name"`);
  if (!NAME_RE.test(name)) throw new CniError(CniCode.InvalidNetworkConfig, 'invalid characters found in network name', name);
  return name;
}

/** copyJson deep-copies a JSON value so callers may mutate what they get. */
function copyJson<T>(v: T): T {
  return v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T);
}

/**
 * parseNetConf decodes the netconf object. Throws CniError 7 naming the field (e.g.
 * `netconf (stdin): delegate: "x" is not a JSON object`) for a wrong type, and the
 * skel errors of validateNetworkName.
 */
export function parseNetConf(obj: JsonObject): FlannelNetConf {
  try {
    const f = new JsonFields(NETCONF_SOURCE, '', obj, KNOWN);
    const cniVersion = f.string('cniVersion') ?? '';
    const name = validateNetworkName(f.string('name'));
    return {
      cniVersion,
      name,
      subnetFile: f.string('subnetFile') ?? DEFAULT_SUBNET_FILE,
      dataDir: f.string('dataDir') ?? DEFAULT_DATA_DIR,
      delegate: copyJson(f.object('delegate')),
      ipam: copyJson(f.object('ipam')),
      runtimeConfig: copyJson(f.object('runtimeConfig')),
      prevResult: copyJson(f.object('prevResult')),
    };
  } catch (err) {
    if (isConfigError(err)) throw new CniError(CniCode.InvalidNetworkConfig, err.message);
    throw err;
  }
}

/**
 * netconfVersion reads only cniVersion (skel decodes it before anything else); '' when
 * absent, null or not a string (the full parse reports the latter).
 */
export function netconfVersion(obj: JsonObject): string {
  const f = new JsonFields(NETCONF_SOURCE, '', obj, ['cniVersion']);
  const v = f.raw('cniVersion');
  return typeof v === 'string' ? v : '';
}
