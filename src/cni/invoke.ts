// SPDX-License-Identifier: Apache-2.0
/**
 * Running a delegate plugin, as containernetworking/cni's pkg/invoke does for
 * DelegateAdd / DelegateCheck / DelegateDel:
 * - the binary is <dir>/<type> for the first directory of CNI_PATH (`:`-separated) where
 *   that is a regular file;
 * - it runs with our environment (CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME, CNI_ARGS,
 *   CNI_PATH … unchanged) and CNI_COMMAND set to the command, the delegate netconf on stdin;
 * - exit 0: its stdout is the result (ADD) or empty (CHECK/DEL); its stderr is copied to ours;
 * - non-zero exit: its stdout should be a CNI error object, which is passed through with
 *   the delegate's own code; without one, its stderr (or the exit status) becomes the
 *   message (code 999), as invoke's pluginErr does.
 */
import { spawn } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isJsonObject } from '../config/json.js';
import { CniCode, CniError } from './errors.js';

/** The outcome of a delegate run that succeeded. */
export interface DelegateOutput {
  /** The delegate's stdout, unchanged (its result JSON for ADD). */
  readonly stdout: string;
}

/** Runs `type` for `command` with `netconf` on stdin. Injected in tests. */
export type DelegateRunner = (type: string, command: 'ADD' | 'CHECK' | 'DEL', netconf: string,
  env: Readonly<Record<string, string | undefined>>, stderr: (s: string) => void) => Promise<DelegateOutput>;

/**
 * findInPath returns the path of plugin `type` in CNI_PATH. Throws CniError 7 when the
 * name is empty or contains `/`, or when no directory holds it (invoke's text:
 * `failed to find plugin "bridge" in path [/opt/cni/bin]`).
 */
export async function findInPath(type: string, cniPath: string): Promise<string> {
  if (type === '') throw new CniError(CniCode.InvalidNetworkConfig, 'no plugin name provided', 'the delegate netconf has an empty "type"');
  if (type.includes('/') || type === '.' || type === '..') {
    throw new CniError(CniCode.InvalidNetworkConfig, `invalid plugin name: ${type}`, 'a delegate type is a file name in CNI_PATH, not a path');
  }
  const dirs = cniPath.split(':').filter((d) => d !== '');
  for (const dir of dirs) {
    const full = join(dir, type);
    try {
      if ((await stat(full)).isFile()) return full;
    } catch {
      // not in this directory
    }
  }
  throw new CniError(CniCode.InvalidNetworkConfig, `failed to find plugin ${JSON.stringify(type)} in path [${dirs.join(' ')}]`,
    'install the CNI reference plugins there (bridge, host-local, portmap …) or fix CNI_PATH / delegate.type');
}

/** pluginError converts a failed delegate's output into the CniError to report. */
export function pluginError(type: string, status: string, stdout: string, stderr: string): CniError {
  if (stdout.trim() === '') {
    const msg = stderr.trim() === '' ? `delegate ${type} ${status}` : `netplugin failed: ${JSON.stringify(stderr)}`;
    return new CniError(CniCode.Internal, msg);
  }
  let v: unknown;
  try {
    v = JSON.parse(stdout);
  } catch (err) {
    return new CniError(CniCode.Internal, `netplugin failed but error parsing its diagnostic message ${JSON.stringify(stdout)}: ${(err as Error).message}`);
  }
  if (!isJsonObject(v)) return new CniError(CniCode.Internal, `netplugin failed: ${JSON.stringify(stdout)}`);
  const code = typeof v['code'] === 'number' && Number.isInteger(v['code']) && v['code'] > 0 ? v['code'] : CniCode.Internal;
  const msg = typeof v['msg'] === 'string' ? v['msg'] : `delegate ${type} ${status}`;
  return new CniError(code, msg, typeof v['details'] === 'string' ? v['details'] : '');
}

/** runDelegate is the real DelegateRunner: findInPath + spawn, no shell. */
export const runDelegate: DelegateRunner = async (type, command, netconf, env, stderr) => {
  const path = await findInPath(type, env['CNI_PATH'] ?? '');
  const childEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) childEnv[k] = v;
  childEnv['CNI_COMMAND'] = command;
  return await new Promise<DelegateOutput>((resolve, reject) => {
    const child = spawn(path, [], { env: childEnv, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.stdin.on('error', () => undefined); // a plugin that exits without reading stdin
    child.on('error', (e) => reject(new CniError(CniCode.Internal, `failed to run delegate ${path}: ${e.message}`)));
    child.on('close', (code, signal) => {
      const stdout = Buffer.concat(out).toString('utf8');
      const errText = Buffer.concat(err).toString('utf8');
      if (errText !== '') stderr(errText);
      if (code === 0) resolve({ stdout });
      else reject(pluginError(type, signal !== null ? `was killed by ${signal}` : `exited with status ${code}`, stdout, errText));
    });
    child.stdin.end(netconf);
  });
};
