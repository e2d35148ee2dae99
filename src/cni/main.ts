// SPDX-License-Identifier: Apache-2.0
/**
 * vxtun-cni: a flannel-compatible CNI meta plugin (install it as /opt/cni/bin/flannel).
 * It speaks the CNI protocol as containernetworking/cni's skel does: the command and
 * arguments come from CNI_COMMAND, CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME, CNI_ARGS and
 * CNI_PATH, the netconf from stdin; the result goes to stdout; a failure prints a CNI
 * error object on stdout and exits 1.
 *
 * - ADD: netconf + subnet.env → delegate netconf (src/cni/delegate.ts), saved to
 *   <dataDir>/<containerID>, then the delegate (bridge by default) runs ADD; its result
 *   is printed unchanged.
 * - DEL: runs the delegate's DEL with the saved netconf, then removes the file; with
 *   nothing saved it succeeds and does nothing (DEL must be idempotent).
 * - CHECK: runs the delegate's CHECK with the saved netconf plus this netconf's
 *   prevResult (flannel's own plugin does nothing for CHECK).
 * - VERSION: prints the supported spec versions (src/cni/version.ts).
 * Without CNI_COMMAND it prints what it is on stderr and exits 0, as skel does.
 */
import { readFile, stat } from 'node:fs/promises';
import { JsonFields, isJsonObject, type JsonObject } from '../config/json.js';
import { buildDelegate, loadDelegate, removeDelegate, saveDelegate, scratchPath } from './delegate.js';
import { CniCode, CniError, formatCniError, toCniError } from './errors.js';
import { goJson } from './gojson.js';
import { runDelegate, type DelegateRunner } from './invoke.js';
import { netconfVersion, parseNetConf, parseNetConfText, type FlannelNetConf } from './netconf.js';
import { loadFlannelSubnetEnv } from './subnet-env.js';
import { SUPPORTED_VERSIONS, CURRENT_VERSION, checkVersion, checkVersionAllowsCheck, configVersion, versionJson } from './version.js';

/** Everything runCni touches, so tests can drive it without a process. */
export interface CniIo {
  readonly env: Readonly<Record<string, string | undefined>>;
  readStdin(): Promise<string>;
  stdout(s: string): void;
  stderr(s: string): void;
  /** Defaults to runDelegate (CNI_PATH lookup + spawn). */
  readonly runDelegate?: DelegateRunner;
}

type Command = 'ADD' | 'CHECK' | 'DEL';
const REQUIRED: Record<Command, readonly string[]> = {
  ADD: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_PATH'],
  CHECK: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_PATH'],
  DEL: ['CNI_CONTAINERID', 'CNI_IFNAME', 'CNI_PATH'],
};
const ORDER = ['CNI_COMMAND', 'CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_PATH'];
const ID_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** validateContainerId: skel's check (containernetworking/cni pkg/utils): `[a-zA-Z0-9][a-zA-Z0-9_.-]*`, else code 4. */
export function validateContainerId(id: string): void {
  if (!ID_RE.test(id)) throw new CniError(CniCode.InvalidEnvironmentVariables, 'invalid characters in containerID', id);
}

/** validateIfName: CNI_IFNAME at most 15 bytes, not `.`/`..`, no `/`, `:` or whitespace (code 4). */
export function validateIfName(name: string): void {
  const bad = (msg: string, details = ''): CniError => new CniError(CniCode.InvalidEnvironmentVariables, msg, details);
  if (Buffer.byteLength(name) > 15) throw bad('interface name is too long', 'interface name should be less than 16 characters');
  if (name === '.' || name === '..') throw bad('interface name is . or ..');
  if (/[/:\s]/u.test(name)) throw bad('interface name contains / or : or whitespace characters', `CNI_IFNAME=${JSON.stringify(name)}`);
}

async function about(): Promise<string> {
  let version = 'unknown';
  try {
    const pkg = JSON.parse(await readFile(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: string };
    version = pkg.version ?? version;
  } catch {
    // not installed from the package layout
  }
  return `CNI plugin vxtun-cni (flannel-compatible meta plugin) version ${version}\n` +
    `CNI protocol versions supported: ${SUPPORTED_VERSIONS.join(', ')}\n`;
}

/** Refuses CNI_NETNS naming our own network namespace (skel's check; done before any change here). */
async function checkNotOwnNetns(netns: string): Promise<void> {
  try {
    const [own, target] = await Promise.all([stat('/proc/self/ns/net'), stat(netns)]);
    if (own.dev === target.dev && own.ino === target.ino) {
      throw new CniError(CniCode.InvalidNetNs, "plugin's netns and netns from CNI_NETNS should not be the same", `CNI_NETNS=${netns}`);
    }
  } catch (err) {
    if (err instanceof CniError) throw err; // a missing path is the delegate's to report
  }
}

/** The saved delegate netconf as an object, and its type. Throws CniError 6 naming the file. */
function parseSaved(path: string, text: string): { obj: JsonObject; type: string } {
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch (err) {
    throw new CniError(CniCode.DecodingFailure, `failed to parse netconf: ${path}: ${(err as Error).message}`);
  }
  if (!isJsonObject(obj)) throw new CniError(CniCode.DecodingFailure, `failed to parse netconf: ${path} is not a JSON object`);
  const type = new JsonFields(path, '', obj, ['type']).raw('type');
  if (typeof type !== 'string' || type === '') throw new CniError(CniCode.DecodingFailure, `${path}: type: missing or not a string (the delegate plugin to run)`);
  return { obj, type };
}

async function cmdAdd(conf: FlannelNetConf, io: CniIo, run: DelegateRunner, id: string): Promise<void> {
  const env = await loadFlannelSubnetEnv(conf.subnetFile);
  const netns = io.env['CNI_NETNS'] ?? '';
  if (!/^(1|true)$/i.test(io.env['CNI_NETNS_OVERRIDE'] ?? '')) await checkNotOwnNetns(netns);
  const delegate = buildDelegate(conf, env);
  const bytes = goJson(delegate);
  io.stderr(`delegateAdd: netconf sent to delegate plugin:\n${bytes}\n`);
  await saveDelegate(conf.dataDir, id, bytes);
  const out = await run(delegate['type'] as string, 'ADD', bytes, io.env, io.stderr);
  try {
    if (!isJsonObject(JSON.parse(out.stdout))) throw new Error('not a JSON object');
  } catch (err) {
    throw new CniError(CniCode.Internal, `failed to delegate add: ${String(delegate['type'])} printed no valid result (${(err as Error).message}): ${JSON.stringify(out.stdout.slice(0, 200))}`);
  }
  io.stdout(out.stdout);
}

async function cmdCheck(conf: FlannelNetConf, io: CniIo, run: DelegateRunner, id: string): Promise<void> {
  const path = scratchPath(conf.dataDir, id);
  const text = await loadDelegate(conf.dataDir, id);
  if (text === null) {
    throw new CniError(CniCode.UnknownContainer, `no saved delegate netconf ${path} for container ${id}`, 'ADD saves it; was ADD run with the same dataDir?');
  }
  const { obj, type } = parseSaved(path, text);
  if (conf.prevResult !== undefined) obj['prevResult'] = conf.prevResult;
  await run(type, 'CHECK', goJson(obj), io.env, io.stderr);
}

async function cmdDel(conf: FlannelNetConf, io: CniIo, run: DelegateRunner, id: string): Promise<void> {
  const path = scratchPath(conf.dataDir, id);
  const text = await loadDelegate(conf.dataDir, id);
  if (text === null) return; // already deleted, or ADD never got this far
  let type: string;
  try {
    type = parseSaved(path, text).type;
  } catch (err) {
    // flannel: the interface stays on the bridge until reboot; DEL must not fail forever.
    io.stderr(`${(err as Error).message}; the delegate DEL was skipped\n`);
    return;
  }
  await run(type, 'DEL', text, io.env, io.stderr);
  await removeDelegate(conf.dataDir, id); // only after the delegate succeeded, so a retry can finish
}

/**
 * runCni executes one CNI invocation and returns the exit status (0, or 1 after printing
 * a CNI error object on stdout).
 */
export async function runCni(io: CniIo): Promise<number> {
  let errVersion = CURRENT_VERSION;
  try {
    const cmd = io.env['CNI_COMMAND'] ?? '';
    if (cmd === '') {
      io.stderr(await about());
      return 0;
    }
    if (cmd === 'VERSION') {
      io.stdout(versionJson());
      return 0;
    }
    if (cmd !== 'ADD' && cmd !== 'CHECK' && cmd !== 'DEL') {
      throw new CniError(CniCode.InvalidEnvironmentVariables, `unknown CNI_COMMAND: ${cmd}`, 'vxtun-cni implements ADD, CHECK, DEL and VERSION');
    }
    const missing = ORDER.filter((k) => (k === 'CNI_COMMAND' ? false : REQUIRED[cmd].includes(k)) && (io.env[k] ?? '') === '');
    if (missing.length > 0) throw new CniError(CniCode.InvalidEnvironmentVariables, `required env variables [${missing.join(',')}] missing`);
    const obj = parseNetConfText(await io.readStdin());
    const given = netconfVersion(obj);
    if (SUPPORTED_VERSIONS.includes(given)) errVersion = given;
    const conf = parseNetConf(obj);
    const id = io.env['CNI_CONTAINERID'] ?? '';
    validateContainerId(id);
    validateIfName(io.env['CNI_IFNAME'] ?? '');
    const version = configVersion(conf.cniVersion);
    if (cmd === 'CHECK') checkVersionAllowsCheck(version);
    checkVersion(version);
    const run = io.runDelegate ?? runDelegate;
    if (cmd === 'ADD') await cmdAdd(conf, io, run, id);
    else if (cmd === 'CHECK') await cmdCheck(conf, io, run, id);
    else await cmdDel(conf, io, run, id);
    return 0;
  } catch (err) {
    io.stdout(formatCniError(errVersion, toCniError(err)));
    return 1;
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** The process entry point (bin/vxtun-cni.js): real env, stdin, stdout; sets the exit code. */
export async function main(): Promise<void> {
  process.exitCode = await runCni({
    env: process.env,
    readStdin,
    stdout: (s) => process.stdout.write(s),
    stderr: (s) => process.stderr.write(s),
  });
}
