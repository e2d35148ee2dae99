// SPDX-License-Identifier: Apache-2.0
/**
 * FLANNELD_* environment variables, as flanneld reads them (coreos/pkg flagutil
 * SetFlagsFromEnv, called after the command line is parsed): every flanneld flag not
 * given on the command line is set from `FLANNELD_<NAME>`, where NAME is the flag name
 * upper-cased with `-` turned into `_` (FLANNELD_IFACE, FLANNELD_IP_MASQ,
 * FLANNELD_KUBE_SUBNET_MGR, FLANNELD_V). An empty variable counts as unset.
 *
 * Design notes (where vxtun differs, on purpose):
 * - A repeatable flag takes a comma-separated list (FLANNELD_IFACE=eth1,eth0 = two
 *   --iface values). flanneld would take the whole text as one value; a single value
 *   means the same in both.
 * - An invalid value (FLANNELD_IP_MASQ=yes) is refused, exit 2, naming the variable;
 *   flanneld logs an error and runs with the default.
 * - FLANNELD_VERSION is ignored, as in flanneld (it checks --version before the environment).
 * - Only flanneld's flags are read; vxtun's own (--subnet-mgr, --leases, ...) are not.
 */
import { UsageError } from './errors.js';
import { convertValue, dashed, FLAGS, isDefault, refusal, type FlagSpec, type FlagValue } from './flanneld-flags.js';

/** The prefix flanneld passes to SetFlagsFromEnv. */
export const ENV_PREFIX = 'FLANNELD';

/** `FLANNELD_<NAME>` for a flag name: `ip-masq` → `FLANNELD_IP_MASQ`. */
export function envVarName(flag: string): string {
  return `${ENV_PREFIX}_${flag.replace(/-/g, '_').toUpperCase()}`;
}

/** A flag value that came from the environment. */
export interface EnvFlag {
  readonly spec: FlagSpec;
  readonly envVar: string;
  readonly value: FlagValue;
}

/**
 * flagsFromEnv returns the values the environment gives to flanneld flags not in
 * `given` (names without dashes). Throws UsageError naming the variable and the flag when
 * a value is invalid, or when it sets a flag vxtun refuses to anything but flanneld's default.
 */
export function flagsFromEnv(env: NodeJS.ProcessEnv, given: ReadonlySet<string>): EnvFlag[] {
  const out: EnvFlag[] = [];
  for (const spec of FLAGS) {
    if (spec.origin !== 'flanneld' || spec.name === 'version' || given.has(spec.name)) continue;
    const envVar = envVarName(spec.name);
    const raw = env[envVar];
    if (raw === undefined || raw === '') continue;
    let value: FlagValue;
    if (spec.kind === 'list') {
      value = raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
    } else {
      const v = convertValue(spec, raw);
      if ('error' in v) throw new UsageError(`${envVar} (${dashed(spec.name)}): ${v.error}`);
      value = v.value;
    }
    if (spec.refused !== undefined && !isDefault(spec, value)) {
      throw new UsageError(`${envVar} sets ${refusal(spec)}`);
    }
    out.push({ spec, envVar, value });
  }
  return out;
}
