// SPDX-License-Identifier: Apache-2.0
/**
 * ConfigError: the one error type for bad user input (net-conf.json, the static leases
 * file, lease values, command-line values). The CLI maps it to exit code 2; anything
 * else is a runtime failure (exit 1).
 *
 * Every ConfigError names where the bad value came from (`file`), which key holds it
 * (`key`, a path such as `Backend.VNI`, `10.244.1.0-24/BackendData.VtepMAC` or
 * `line 3 column 7` for JSON syntax errors) and the value itself, so the operator can
 * find and fix it without reading vxtun's source.
 */

/** ConfigError.value for a key that is absent from the input. */
export const MISSING = '(missing)';

/**
 * ConfigError: bad input. `message` is `<file>: <key>: <value> <reason>` unless a
 * complete `message` is given (it must still name file, key and value).
 * Example: `net-conf.json: Backend.VNI: 16777216 is not an integer in 0..16777215`.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  /** Where the input came from: a file path, `command line`, or an etcd/kube source name. */
  readonly file: string;
  /** The key path inside the input. */
  readonly key: string;
  /** The offending value as displayed (see describeValue), or MISSING. */
  readonly value: string;
  /** What is wrong, without file/key/value. */
  readonly reason: string;

  constructor(file: string, key: string, value: string, reason: string, message?: string) {
    super(message ?? `${file}: ${key}: ${value} ${reason}`);
    this.file = file;
    this.key = key;
    this.value = value;
    this.reason = reason;
  }
}

/** True when err is a ConfigError (also across realms/duplicate module copies). */
export function isConfigError(err: unknown): err is ConfigError {
  return err instanceof ConfigError || (err instanceof Error && err.name === 'ConfigError' && 'key' in err && 'file' in err);
}

/**
 * describeValue renders a JSON value for an error message: numbers, booleans and null
 * as JSON, strings JSON-quoted, undefined as MISSING, objects/arrays as compact JSON cut
 * to 60 characters.
 */
export function describeValue(v: unknown): string {
  if (v === undefined) return MISSING;
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = String(v);
  }
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}
