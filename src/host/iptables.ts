// SPDX-License-Identifier: Apache-2.0
/**
 * flanneld's iptables rules (flannel.md §5; pkg/trafficmngr/iptables), as data, and the
 * operations flanneld performs on them, run through the Exec seam.
 *
 * Rules for cluster Network C and this node's subnet P, in order, comments as flanneld's:
 *   nat    -A POSTROUTING -m comment --comment "flanneld masq" -j FLANNEL-POSTRTG
 *          -A FLANNEL-POSTRTG -m mark --mark 0x4000/0x4000 -m comment --comment "flanneld masq" -j RETURN
 *          -A FLANNEL-POSTRTG -s P -d C ... -j RETURN
 *          -A FLANNEL-POSTRTG -s C -d P ... -j RETURN
 *          -A FLANNEL-POSTRTG ! -s C -d P ... -j RETURN
 *          -A FLANNEL-POSTRTG -s C ! -d 224.0.0.0/4 ... -j MASQUERADE [--random-fully]
 *          -A FLANNEL-POSTRTG ! -s C -d C ... -j MASQUERADE [--random-fully]
 *   filter -A FORWARD -m comment --comment "flanneld forward" -j FLANNEL-FWD
 *          -A FLANNEL-FWD -s C ... -j ACCEPT
 *          -A FLANNEL-FWD -d C ... -j ACCEPT
 *
 * Operations (flanneld's semantics):
 * - bootstrap: create a missing chain, then ONE `iptables-restore --noflush [--wait]`
 *   that, rule by rule, deletes the rule if present (`iptables -C`) and appends it, so the
 *   set ends up complete and in order with nothing of ours in between.
 * - ensure (every --iptables-resync s): if any rule or chain is missing, bootstrap again.
 * - teardown: delete those rules of a set that exist (previous Network/subnet).
 * - removeChains (vxtun's stop and `vxtun down`): delete every rule jumping to our chains,
 *   flush and delete the chains, whatever C and P they were built for.
 * iptables-restore reads its input from a private temp file (the Exec seam has no stdin);
 * the file is passed after `--`, because `--wait` would take a bare file name as its timeout.
 * --random-fully and --wait are used when `iptables --version` is 1.6.2 or newer
 * (go-iptables HasRandomFully, flannel's restore --wait check); plain iptables gets
 * `--wait` from 1.4.20 on.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canonicalCidr, formatCidr, type Cidr } from '../config/cidr.js';
import { ExecError, runChecked, type Exec } from './exec.js';

export type Table = 'nat' | 'filter';

/** One rule: table, chain, and the rule spec after `-A <chain>`. */
export interface IptablesRule {
  readonly table: Table;
  readonly chain: string;
  readonly spec: readonly string[];
}

export const MASQ_CHAIN = 'FLANNEL-POSTRTG';
export const FWD_CHAIN = 'FLANNEL-FWD';
/** kube-proxy's masquerade mark: marked packets are left to kube-proxy (no double NAT). */
export const KUBE_PROXY_MARK = '0x4000/0x4000';
const OUR_CHAINS = new Set([MASQ_CHAIN, FWD_CHAIN]);

const cidrText = (c: Cidr): string => formatCidr(canonicalCidr(c));

/** flanneld's masquerade rules for Network `network` and node subnet `subnet`. */
export function masqRules(network: Cidr, subnet: Cidr, randomFully: boolean): IptablesRule[] {
  const C = cidrText(network);
  const P = cidrText(subnet);
  const c = ['-m', 'comment', '--comment', 'flanneld masq'];
  const masq = randomFully ? ['-j', 'MASQUERADE', '--random-fully'] : ['-j', 'MASQUERADE'];
  const r = (chain: string, spec: string[]): IptablesRule => ({ table: 'nat', chain, spec });
  return [
    r('POSTROUTING', [...c, '-j', MASQ_CHAIN]),
    r(MASQ_CHAIN, ['-m', 'mark', '--mark', KUBE_PROXY_MARK, ...c, '-j', 'RETURN']),
    r(MASQ_CHAIN, ['-s', P, '-d', C, ...c, '-j', 'RETURN']),
    r(MASQ_CHAIN, ['-s', C, '-d', P, ...c, '-j', 'RETURN']),
    r(MASQ_CHAIN, ['!', '-s', C, '-d', P, ...c, '-j', 'RETURN']),
    r(MASQ_CHAIN, ['-s', C, '!', '-d', '224.0.0.0/4', ...c, ...masq]),
    r(MASQ_CHAIN, ['!', '-s', C, '-d', C, ...c, ...masq]),
  ];
}

/** flanneld's FORWARD accept rules for Network `network`. */
export function forwardRules(network: Cidr): IptablesRule[] {
  const C = cidrText(network);
  const c = ['-m', 'comment', '--comment', 'flanneld forward'];
  return [
    { table: 'filter', chain: 'FORWARD', spec: [...c, '-j', FWD_CHAIN] },
    { table: 'filter', chain: FWD_CHAIN, spec: ['-s', C, ...c, '-j', 'ACCEPT'] },
    { table: 'filter', chain: FWD_CHAIN, spec: ['-d', C, ...c, '-j', 'ACCEPT'] },
  ];
}

/** One iptables-restore line, the comment quoted as flanneld writes it: `-A FLANNEL-FWD -s C -m comment --comment "flanneld forward" -j ACCEPT`. */
export function ruleLine(action: '-A' | '-D', rule: IptablesRule): string {
  const words = rule.spec.map((w, i) => (rule.spec[i - 1] === '--comment' ? `"${w}"` : w));
  return [action, rule.chain, ...words].join(' ');
}

/** An iptables-restore payload: `*table`, its lines, `COMMIT`, per table in first-seen order. */
export function restorePayload(lines: ReadonlyArray<{ table: Table; line: string }>): string {
  const byTable = new Map<Table, string[]>();
  for (const { table, line } of lines) byTable.set(table, [...(byTable.get(table) ?? []), line]);
  return [...byTable].map(([table, ls]) => `*${table}\n${ls.join('\n')}\nCOMMIT\n`).join('');
}

/** What the installed iptables supports. */
export interface IptablesCaps {
  readonly version: string;
  /** `iptables --wait` (≥ 1.4.20). */
  readonly wait: boolean;
  /** `iptables-restore --wait` (≥ 1.6.2). */
  readonly restoreWait: boolean;
  /** MASQUERADE --random-fully (≥ 1.6.2). */
  readonly randomFully: boolean;
}

/** Caps from `iptables --version` output (`iptables v1.8.9 (nf_tables)`), or null when no version is in it. */
export function capsFromVersion(text: string): IptablesCaps | null {
  const m = /v(\d+)\.(\d+)\.(\d+)/.exec(text);
  if (m === null) return null;
  const [a, b, c] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const atLeast = (x: number, y: number, z: number): boolean => a !== x ? a > x : b !== y ? b > y : c >= z;
  return { version: `${a}.${b}.${c}`, wait: atLeast(1, 4, 20), restoreWait: atLeast(1, 6, 2), randomFully: atLeast(1, 6, 2) };
}

/** Runs `iptables --version`; throws an Error saying what is wrong when iptables is missing or unrecognisable. */
export async function detectIptables(exec: Exec): Promise<IptablesCaps> {
  const out = await runChecked(exec, ['iptables', '--version']);
  const caps = capsFromVersion(out ?? '');
  if (caps === null) throw new Error(`cannot tell the iptables version from \`iptables --version\` (${JSON.stringify((out ?? '').trim())})`);
  return caps;
}

/** flanneld's iptables operations (see the header) on one host or namespace. */
export class Iptables {
  constructor(readonly exec: Exec, readonly caps: IptablesCaps, readonly tmpDir: string = tmpdir()) {}

  #argv(table: Table, ...args: string[]): string[] {
    return ['iptables', ...(this.caps.wait ? ['--wait'] : []), '-t', table, ...args];
  }

  /** `iptables -t <table> -S`: every chain and rule, as lines. */
  async list(table: Table): Promise<string[]> {
    return ((await runChecked(this.exec, this.#argv(table, '-S'))) ?? '').split('\n').filter((l) => l !== '');
  }

  /** The chains of `table` (built-in and user-defined). */
  async chains(table: Table): Promise<Set<string>> {
    return new Set((await this.list(table)).map((l) => /^-[NP] (\S+)/.exec(l)?.[1]).filter((c): c is string => c !== undefined));
  }

  /** `iptables -C`: true when the rule exists (exit 0), false on exit 1; other failures throw. */
  async exists(rule: IptablesRule): Promise<boolean> {
    const argv = this.#argv(rule.table, '-C', rule.chain, ...rule.spec);
    const r = await this.exec.run(argv);
    if (r.code === 0) return true;
    if (r.code === 1) return false;
    throw new ExecError(argv, r.code, r.stderr);
  }

  /** go-iptables ClearChain: `-N chain`, or `-F chain` when it exists already (exit 1). */
  async clearChain(table: Table, chain: string): Promise<void> {
    const r = await this.exec.run(this.#argv(table, '-N', chain));
    if (r.code === 0) return;
    if (r.code !== 1) throw new ExecError(this.#argv(table, '-N', chain), r.code, r.stderr);
    await runChecked(this.exec, this.#argv(table, '-F', chain));
  }

  /** Our chains a rule lives in or jumps to. */
  #ourChains(rule: IptablesRule): string[] {
    return [rule.chain, rule.spec[rule.spec.length - 1] ?? ''].filter((c) => OUR_CHAINS.has(c));
  }

  /** flanneld's ipTablesRulesExist: every chain involved exists and every rule passes `-C`. */
  async rulesExist(rules: readonly IptablesRule[]): Promise<boolean> {
    const chains = new Map<Table, Set<string>>();
    for (const rule of rules) {
      for (const ch of this.#ourChains(rule)) {
        if (!chains.has(rule.table)) chains.set(rule.table, await this.chains(rule.table));
        if (!chains.get(rule.table)!.has(ch)) return false;
      }
      if (!(await this.exists(rule))) return false;
    }
    return true;
  }

  /** flanneld's ipTablesBootstrap: missing chains created, then one restore of `-D` (when present) + `-A` per rule. */
  async bootstrap(rules: readonly IptablesRule[]): Promise<void> {
    const chains = new Map<Table, Set<string>>();
    const lines: Array<{ table: Table; line: string }> = [];
    for (const rule of rules) {
      for (const ch of this.#ourChains(rule)) {
        if (!chains.has(rule.table)) chains.set(rule.table, await this.chains(rule.table));
        const set = chains.get(rule.table)!;
        if (!set.has(ch)) { await this.clearChain(rule.table, ch); set.add(ch); }
      }
      if (await this.exists(rule)) lines.push({ table: rule.table, line: ruleLine('-D', rule) });
      lines.push({ table: rule.table, line: ruleLine('-A', rule) });
    }
    await this.restore(restorePayload(lines));
  }

  /** flanneld's ensureIPTables: bootstrap when anything is missing. Returns true when it had to. */
  async ensure(rules: readonly IptablesRule[]): Promise<boolean> {
    if (await this.rulesExist(rules)) return false;
    await this.bootstrap(rules);
    return true;
  }

  /** flanneld's teardownIPTables: one restore deleting the rules of the set that exist. */
  async teardown(rules: readonly IptablesRule[]): Promise<void> {
    const chains = new Map<Table, Set<string>>();
    const lines: Array<{ table: Table; line: string }> = [];
    for (const rule of rules) {
      if (!chains.has(rule.table)) chains.set(rule.table, await this.chains(rule.table));
      if (this.#ourChains(rule).some((ch) => !chains.get(rule.table)!.has(ch))) continue;
      if (await this.exists(rule)) lines.push({ table: rule.table, line: ruleLine('-D', rule) });
    }
    if (lines.length > 0) await this.restore(restorePayload(lines));
  }

  /**
   * Removes `chains` entirely: deletes every rule (any table chain) jumping to one of them,
   * then flushes and deletes them, in one restore. Returns the lines applied (none when
   * there was nothing to remove).
   */
  async removeChains(chains: ReadonlyArray<{ table: Table; chain: string }>): Promise<string[]> {
    const lines: Array<{ table: Table; line: string }> = [];
    for (const table of new Set(chains.map((c) => c.table))) {
      const mine = new Set(chains.filter((c) => c.table === table).map((c) => c.chain));
      const listing = await this.list(table);
      for (const l of listing) {
        const m = /^-A (\S+) .*-[jg] (\S+)(?: |$)/.exec(l);
        if (m !== null && mine.has(m[2]!) && !mine.has(m[1]!)) lines.push({ table, line: `-D${l.slice(2)}` });
      }
      for (const chain of mine) {
        if (listing.includes(`-N ${chain}`)) lines.push({ table, line: `-F ${chain}` }, { table, line: `-X ${chain}` });
      }
    }
    if (lines.length > 0) await this.restore(restorePayload(lines));
    return lines.map((l) => `${l.table}: ${l.line}`);
  }

  /** `iptables-restore --noflush [--wait] -- <file>` with `payload` in a private temp file. */
  async restore(payload: string): Promise<void> {
    const dir = await mkdtemp(join(this.tmpDir, 'vxtun-iptables-'));
    try {
      const file = join(dir, 'rules');
      await writeFile(file, payload, { mode: 0o600 });
      await runChecked(this.exec, ['iptables-restore', '--noflush', ...(this.caps.restoreWait ? ['--wait'] : []), '--', file]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
}
