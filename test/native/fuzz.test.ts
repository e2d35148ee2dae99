// SPDX-License-Identifier: Apache-2.0
/**
 * The offload fuzz harness (native/fuzz) in its short mode: built with AddressSanitizer and
 * UBSan, run over fixed seeds of random inputs through the TUN read side (PlanGso,
 * WriteSegment, FinishChecksum), what the write side does to packets from the wire
 * (PlanOversizeTcp, FinishLeakedChecksum) and the GroPlanner (runs merged and cut again). It must find nothing, and its counters must show the inputs got past
 * validation (a harness that only ever hits the first `return false` proves nothing).
 * Then the harness is shown to catch bugs: copies of the sources with one planted bug
 * each must make it fail, naming the property (or the sanitizer) that caught it.
 * The long, coverage-guided mode is `npm run fuzz`.
 */
import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', ...(import.meta.url.includes('/dist/') ? ['..'] : []));
const NATIVE = path.join(ROOT, 'native');
const BUILD = path.join(NATIVE, 'fuzz', 'build.sh');

interface Counters {
  inputs: number; readPlanned: number; readRejected: number; readSegments: number; csumFinished: number;
  oversizePlanned: number; oversizeSegments: number; leakedFinished: number; batches: number; runsMerged: number; segmentsMerged: number;
}

const work = mkdtempSync(path.join(tmpdir(), 'vxtun-fuzz-'));
t.teardown(() => rmSync(work, { recursive: true, force: true }));

function build(out: string, native = NATIVE): void {
  execFileSync('bash', [BUILD, out, 'driver', native], { stdio: ['ignore', 'ignore', 'pipe'] });
}

function run(bin: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(bin, args, { encoding: 'utf8', env: { ...process.env, ASAN_OPTIONS: 'detect_leaks=1' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

t.test('fixed seeds: no sanitizer report, no broken property, and the inputs reach deep', async (t) => {
  const bin = path.join(work, 'offload-fuzz');
  build(bin);
  for (const seed of [1, 2, 3]) {
    const r = run(bin, ['--runs', '15000', '--seed', String(seed), '--max-len', '1024', '--save', work]);
    t.equal(r.status, 0, `seed ${seed}: exit 0${r.status === 0 ? '' : `\n${r.stderr.slice(0, 3000)}`}`);
    if (r.status !== 0) continue;
    const c = JSON.parse(r.stdout) as Counters;
    t.equal(c.inputs, 15000, `seed ${seed}: every input ran`);
    t.ok(c.readPlanned > 500 && c.readRejected > 500, `seed ${seed}: super-packets both accepted (${c.readPlanned}) and refused (${c.readRejected})`);
    t.ok(c.readSegments > 5000, `seed ${seed}: ${c.readSegments} read-side segments checked`);
    t.ok(c.csumFinished > 50, `seed ${seed}: ${c.csumFinished} partial checksums finished`);
    t.ok(c.oversizePlanned > 300 && c.oversizeSegments > 3000, `seed ${seed}: ${c.oversizePlanned} oversize TCP packets cut`);
    t.ok(c.leakedFinished > 300, `seed ${seed}: ${c.leakedFinished} leaked partial checksums finished`);
    t.ok(c.runsMerged > 3000 && c.segmentsMerged > 3 * c.runsMerged,
      `seed ${seed}: ${c.runsMerged} merged runs (${c.segmentsMerged} segments) cut again byte for byte`);
  }
});

// Each planted bug: the file, the exact text replaced, its replacement, and what must catch it.
const MUTANTS: Array<{ name: string; file: string; from: string; to: string; caughtBy: RegExp }> = [
  {
    name: 'PSH/FIN dropped from the last segment too',
    file: 'gso.cc', from: 'if (i + 1 < p.count) flags &=', to: 'if (i < p.count) flags &=',
    caughtBy: /property broken: (TCP flags|round trip)/,
  },
  {
    name: 'the last segment copied at full gso_size',
    file: 'gso.cc', from: 'std::min<size_t>(p.gsoSize, p.len - start)', to: 'static_cast<size_t>(p.gsoSize)',
    caughtBy: /AddressSanitizer: heap-buffer-overflow|property broken: segment length/,
  },
  {
    name: 'a leaked checksum finished without checking that the field holds the pseudo-header sum',
    file: 'partial_csum.cc', from: 'if (!OnesEqual(Get16(field), pseudo)) return false;', to: '',
    caughtBy: /property broken: FinishLeakedChecksum/,
  },
  {
    name: 'the planner no longer checks the sequence number',
    file: 'gro.cc', from: 'Get32(p + 24) != item.nextSeq', to: 'false',
    caughtBy: /property broken: round trip/,
  },
  {
    name: 'the planner no longer checks the IPv4 total length',
    file: 'gro.cc', from: 'Get16(p + 2) != len ||', to: '',
    caughtBy: /property broken: (round trip|merged)|AddressSanitizer/,
  },
];

for (const m of MUTANTS) {
  t.test(`a planted bug is caught: ${m.name}`, async (t) => {
    const dir = mkdtempSync(path.join(work, 'mutant-'));
    const native = path.join(dir, 'native');
    cpSync(NATIVE, native, { recursive: true });
    const file = path.join(native, m.file);
    const text = readFileSync(file, 'utf8');
    t.ok(text.includes(m.from), `${m.file} still contains the text the mutant replaces`);
    writeFileSync(file, text.replace(m.from, m.to));
    const bin = path.join(dir, 'offload-fuzz');
    build(bin, native);
    const r = run(bin, ['--runs', '15000', '--seed', '1', '--max-len', '1024', '--save', dir]);
    t.not(r.status, 0, 'the harness fails');
    t.match(r.stderr, m.caughtBy, 'and names what broke');
  });
}
