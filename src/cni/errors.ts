// SPDX-License-Identifier: Apache-2.0
/**
 * CNI errors. A plugin that fails prints one JSON object on stdout and exits non-zero
 * (CNI spec, "Error"): `{"cniVersion", "code", "msg", "details"}`. The well-known codes
 * below are the spec's (SPEC.md "Well-known Error Codes"; the same numbers as
 * containernetworking/cni pkg/types):
 *
 *   1 incompatible CNI version      5 I/O failure                  11 try again later
 *   2 unsupported netconf field     6 failed to decode content     999 internal error
 *   3 container unknown             7 invalid network config
 *   4 invalid env variables         8 invalid network namespace
 *
 * Contract: every CniError message names the file, key or field it is about, so the
 * operator can act on the line kubelet logs without reading vxtun's source.
 */
import { goJson, goStruct } from './gojson.js';

/** The spec's well-known error codes. */
export const CniCode = {
  IncompatibleCniVersion: 1,
  UnsupportedField: 2,
  UnknownContainer: 3,
  InvalidEnvironmentVariables: 4,
  IoFailure: 5,
  DecodingFailure: 6,
  InvalidNetworkConfig: 7,
  InvalidNetNs: 8,
  TryAgainLater: 11,
  Internal: 999,
} as const;

/** A failure to report as a CNI error object. */
export class CniError extends Error {
  override readonly name = 'CniError';

  constructor(readonly code: number, msg: string, readonly details = '') {
    super(msg);
  }
}

/** True when err is a CniError (also across duplicate module copies). */
export function isCniError(err: unknown): err is CniError {
  return err instanceof CniError || (err instanceof Error && err.name === 'CniError' && typeof (err as CniError).code === 'number');
}

/** Converts any thrown value to a CniError (non-CniErrors become code 999). */
export function toCniError(err: unknown): CniError {
  if (isCniError(err)) return err;
  return new CniError(CniCode.Internal, err instanceof Error ? err.message : String(err));
}

/**
 * formatCniError renders the error object the way skel prints types.Error (Go
 * MarshalIndent, 4 spaces, no trailing newline) with the spec's cniVersion first;
 * `details` is left out when empty (Go's omitempty).
 */
export function formatCniError(cniVersion: string, err: CniError): string {
  const obj: [string, unknown][] = [['cniVersion', cniVersion], ['code', err.code], ['msg', err.message]];
  if (err.details !== '') obj.push(['details', err.details]);
  return goJson(goStruct(obj), '    ');
}
