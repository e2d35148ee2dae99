// SPDX-License-Identifier: Apache-2.0
/**
 * Micro-benchmark runner. Every module in dist/bench/cases/*.js exports
 * `cases: MicroCase[]`; the runner loads them all, keeps the cases whose name matches
 * the optional filter (a case-insensitive regular expression), measures each with
 * benchmark.js (maxTime ~1 s) and prints a table. With `--json <path>` it also writes
 * the results as JSON.
 *
 *   npx tsc -p . && node dist/bench/micro.js [filter] [--json results.json] [--max-time seconds]
 *
 * A case with `perOp` (e.g. a batch of 64 packets) is reported per unit: ns/op and ops/s
 * then mean ns per packet and packets per second.
 *
 * A case's `setup` runs once, before its measurement, in the runner's process; it is
 * not handed to benchmark.js, which would decompile it together with `fn` into a new
 * function and lose their closures.
 */
import Benchmark from 'benchmark';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** One measured operation. `fn` performs it once; keep allocation out of it unless that is what is measured. */
export interface MicroCase {
  name: string;
  fn: () => void;
  setup?: () => void;
  /** Units (e.g. packets) one call of fn handles; ns/op is reported per unit. Default 1. */
  perOp?: number;
}

export interface MicroResult {
  name: string;
  nsPerOp: number;
  opsPerSec: number;
  /** Relative margin of error, in percent. */
  rmePercent: number;
  samples: number;
  error?: string;
}

/** loadCases imports every *.js module in `dir` and returns their `cases`, in file order; a module without an array of cases is an error. */
export async function loadCases(dir: string): Promise<MicroCase[]> {
  const files = readdirSync(dir).filter((f) => f.endsWith('.js')).sort();
  const all: MicroCase[] = [];
  for (const f of files) {
    const mod = (await import(pathToFileURL(path.join(dir, f)).href)) as { cases?: unknown };
    if (!Array.isArray(mod.cases)) throw new Error(`bench case module ${f} does not export \`cases: MicroCase[]\``);
    all.push(...(mod.cases as MicroCase[]));
  }
  return all;
}

/** runCase measures one case synchronously and returns its figures (or the error it threw). */
export function runCase(c: MicroCase, maxTimeSeconds = 1): MicroResult {
  c.setup?.();
  const bench = new Benchmark(c.name, c.fn, { maxTime: maxTimeSeconds });
  bench.run({ async: false });
  const error = (bench as unknown as { error?: unknown }).error;
  if (error) return { name: c.name, nsPerOp: NaN, opsPerSec: NaN, rmePercent: NaN, samples: 0, error: String(error) };
  return {
    name: c.name,
    nsPerOp: 1e9 / bench.hz / (c.perOp ?? 1),
    opsPerSec: bench.hz * (c.perOp ?? 1),
    rmePercent: bench.stats.rme,
    samples: bench.stats.sample.length,
  };
}

function fmt(n: number, digits: number): string {
  return Number.isFinite(n) ? n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : '-';
}

/** formatTable renders results as an aligned text table: case, ns/op, ops/s, ±rme %, samples. */
export function formatTable(results: MicroResult[]): string {
  const head = ['case', 'ns/op', 'ops/s', '±rme %', 'samples'];
  const rows = results.map((r) => r.error
    ? [r.name, 'error', r.error, '', '']
    : [r.name, fmt(r.nsPerOp, 1), fmt(r.opsPerSec, 0), fmt(r.rmePercent, 2), String(r.samples)]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

interface Args {
  filter?: RegExp;
  json?: string;
  maxTime: number;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { maxTime: 1 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--json' || a === '--max-time') {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      if (a === '--json') args.json = v;
      else {
        args.maxTime = Number(v);
        if (!(args.maxTime > 0)) throw new Error(`--max-time ${v}: want a positive number of seconds`);
      }
    } else if (a.startsWith('--')) {
      throw new Error(`unknown option ${a} (usage: micro.js [filter] [--json path] [--max-time seconds])`);
    } else {
      args.filter = new RegExp(a, 'i');
    }
  }
  return args;
}

async function main(argv: string[]): Promise<void> {
  const args = parseArgs(argv);
  const here = path.dirname(fileURLToPath(import.meta.url));
  const cases = (await loadCases(path.join(here, 'cases'))).filter((c) => !args.filter || args.filter.test(c.name));
  if (cases.length === 0) {
    console.error(`no bench case matches ${args.filter ?? '(all)'}`);
    process.exitCode = 1;
    return;
  }
  const results: MicroResult[] = [];
  for (const c of cases) {
    const r = runCase(c, args.maxTime);
    results.push(r);
    console.error(`  ${r.name}: ${r.error ?? `${fmt(r.nsPerOp, 1)} ns/op`}`);
  }
  console.log(formatTable(results));
  if (args.json) {
    mkdirSync(path.dirname(path.resolve(args.json)), { recursive: true });
    const doc = { node: process.version, arch: process.arch, date: new Date().toISOString(), maxTimeSeconds: args.maxTime, results };
    writeFileSync(args.json, JSON.stringify(doc, null, 2) + '\n');
    console.error(`wrote ${args.json}`);
  }
  if (results.some((r) => r.error)) process.exitCode = 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  });
}
