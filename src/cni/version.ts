// SPDX-License-Identifier: Apache-2.0
/**
 * CNI spec versions: what vxtun-cni accepts and how it checks a netconf's cniVersion,
 * following containernetworking/cni's skel and pkg/version.
 *
 * The supported list mirrors the delegate plugins it runs (Debian's
 * containernetworking-plugins 1.1.x, like upstream 1.1.x, answer VERSION with
 * 0.1.0 … 1.0.0): vxtun-cni passes the netconf's cniVersion on to the delegate, so
 * claiming a version the delegates refuse would only move the error. Upstream flannel's
 * plugin claims version.All, which also lists 1.1.0 (GC/STATUS); vxtun does not.
 */
import { CniCode, CniError } from './errors.js';
import { goJson, goStruct } from './gojson.js';

/** The spec versions vxtun-cni implements, oldest first. */
export const SUPPORTED_VERSIONS: readonly string[] = ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0'];

/** The newest supported version: VERSION's "cniVersion", and the default for error objects. */
export const CURRENT_VERSION = '1.0.0';

/** versionJson is what VERSION prints (skel: json.Encoder, so a trailing newline). */
export function versionJson(): string {
  return goJson(goStruct([['cniVersion', CURRENT_VERSION], ['supportedVersions', SUPPORTED_VERSIONS]])) + '\n';
}

/** configVersion maps an absent or empty netconf cniVersion to "0.1.0" (as the spec says). */
export function configVersion(cniVersion: string | undefined): string {
  return cniVersion === undefined || cniVersion === '' ? '0.1.0' : cniVersion;
}

/** parseVersion splits "major.minor.micro" (missing parts are 0); throws CniError 6 when malformed. */
export function parseVersion(v: string): [number, number, number] {
  const parts = v.split('.');
  if (parts.length > 3 || !parts.every((p) => /^\d+$/.test(p))) {
    throw new CniError(CniCode.DecodingFailure, `invalid version ${JSON.stringify(v)}: cniVersion must be MAJOR.MINOR.PATCH`);
  }
  const [a = 0, b = 0, c = 0] = parts.map(Number);
  return [a, b, c];
}

/** versionAtLeast is true when v >= min (both parsed with parseVersion). */
export function versionAtLeast(v: string, min: string): boolean {
  const x = parseVersion(v);
  const y = parseVersion(min);
  for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i]! > y[i]!;
  return true;
}

/**
 * checkVersion throws CniError 1 (incompatible CNI versions) unless `version` is exactly
 * one of SUPPORTED_VERSIONS; the details list both sides as Go's %q does.
 */
export function checkVersion(version: string): void {
  if (SUPPORTED_VERSIONS.includes(version)) return;
  const q = (s: string): string => JSON.stringify(s);
  throw new CniError(CniCode.IncompatibleCniVersion, 'incompatible CNI versions',
    `config is ${q(version)}, plugin supports [${SUPPORTED_VERSIONS.map(q).join(' ')}]`);
}

/** checkVersionAllowsCheck: CHECK exists from spec 0.4.0 on (skel's texts and codes). */
export function checkVersionAllowsCheck(version: string): void {
  if (!versionAtLeast(version, '0.4.0')) {
    throw new CniError(CniCode.IncompatibleCniVersion, 'config version does not allow CHECK',
      `netconf cniVersion is ${JSON.stringify(version)}; CHECK needs 0.4.0 or later`);
  }
}
