// SPDX-License-Identifier: Apache-2.0
// Flags → bench plan, prerequisites, the UDP rate search (against a model of a lossy
// dataplane) and the progress lines.
import t from 'tap';
import { UsageError } from '../../src/cli/errors.js';
import { estimateSeconds, parsePlan, stepCount } from '../../src/bench/plan.js';
import { Progress, stepLine } from '../../src/bench/progress.js';
import type { UdpTrial } from '../../src/bench/result.js';
import { missingRequirements } from '../../src/bench/tools.js';
import { searchMaxPass, udpTest, type TrialFn } from '../../src/bench/udp.js';

t.test('parsePlan: full and quick defaults, flags, errors', async (t) => {
  const full = parsePlan({}, '/out');
  t.match(full, { quick: false, reps: 3, configs: ['kernel', 'vxtun', 'mixed', 'naive'], modes: ['txoff', 'default'], outDir: '/out', pings: 2000, pingIntervalS: 0.002, idlePings: 50, idlePingIntervalS: 0.2, tcpSeconds: 10, udpSeconds: 10, udpPayload: 18, lossLimit: 0.01, udpSearch: true, steadySeconds: 60 });
  t.equal(stepCount(full), 3 * 2 * 4 * 6 + 1);
  const quick = parsePlan({ quick: true }, '/out');
  t.same(quick.configs, ['kernel', 'vxtun', 'mixed'], 'quick leaves the naive anchor out');
  t.match(quick, { quick: true, reps: 1, modes: ['txoff'], pings: 500, idlePings: 0, tcpSeconds: 3, udpSeconds: 2, udpSearch: false, steadySeconds: 0 });
  t.equal(stepCount(quick), 18, 'the idle-RTT step is counted, then skipped');
  t.ok(estimateSeconds(full) > estimateSeconds({ ...full, idlePings: 0 }) + 24 * 10, 'idle pings: 10 s per cell in the estimate');
  t.ok(estimateSeconds(quick) < 120, `quick estimate ${estimateSeconds(quick)} s is under two minutes`);
  const custom = parsePlan({ reps: '5', only: 'mixed, kernel', modes: 'default', out: 'x', udpPayload: '64', steady: '0' }, '/out');
  t.match(custom, { reps: 5, configs: ['kernel', 'mixed'], modes: ['default'], outDir: 'x', udpPayload: 64, steadySeconds: 0 });
  t.same(custom.configs, ['kernel', 'mixed'], 'canonical order: kernel first');
  t.equal(parsePlan({ only: 'kernel' }, '/o').steadySeconds, 0, 'no steady state without vxtun');
  t.same(parsePlan({ quick: true, only: 'naive,kernel' }, '/o').configs, ['kernel', 'naive'], '--only brings the anchor into a quick run');
  t.equal(parsePlan({ quick: true, modes: 'txoff,default' }, '/o').modes.length, 2, '--modes overrides quick');
  for (const bad of [{ reps: '0' }, { reps: 'x' }, { only: 'flannel' }, { only: ',' }, { modes: 'off' }, { udpPayload: '9000' }]) {
    t.throws(() => parsePlan(bad, '/o'), UsageError, JSON.stringify(bad));
  }
});

t.test('missingRequirements: root and tools, with the install line', async (t) => {
  t.same(missingRequirements(true, () => '/usr/bin/x'), []);
  const p = missingRequirements(false, (c) => (c === 'iperf3' || c === 'cc' ? null : `/usr/bin/${c}`));
  t.equal(p.length, 2);
  t.match(p[0], /needs root/);
  t.match(p[1], /missing iperf3, cc: install with `apt-get install iperf3 ethtool iputils-ping build-essential util-linux`/);
});

/** A dataplane that delivers at most `cap` pps; the blaster sends at most `max` pps. */
function model(cap: number, max: number, calls: number[]): TrialFn {
  return async (rate) => {
    calls.push(rate);
    const sent = rate === 0 ? max : Math.min(rate, max);
    const delivered = Math.min(sent, cap);
    return { offeredPps: rate, sentPps: sent, deliveredPps: delivered, loss: (sent - delivered) / sent } as UdpTrial;
  };
}

t.test('searchMaxPass and udpTest', async (t) => {
  const opts = { lossLimit: 0.01, maxTrials: 5, seconds: 1 };
  let calls: number[] = [];
  const fast = model(200_000, 100_000, calls);
  const r0 = await searchMaxPass(await fast(0, 1), fast, opts);
  t.equal(r0.passRate, 100_000, 'sender-bound: the unthrottled rate passes');
  t.same(r0.trials, []);
  calls = [];
  const slow = model(60_000, 300_000, calls);
  const r1 = await searchMaxPass(await slow(0, 1), slow, opts);
  t.equal(calls[1], 57_000, 'first step: 95 % of what was delivered');
  t.equal(r1.passRate, 57_000);
  t.equal(r1.pass?.loss, 0);
  calls = [];
  const nasty = model(60_000, 300_000, calls);
  const livelock: TrialFn = async (rate, s) => { const x = await nasty(rate, s); return rate === 0 ? { ...x, deliveredPps: 90_000, loss: 0.7 } : x; };
  const r2 = await searchMaxPass(await livelock(0, 1), livelock, opts);
  t.ok(r2.passRate !== null && r2.passRate <= 60_606 && r2.passRate > 55_000, `steps down then bisects to < 1 % loss of a 60 kpps dataplane (${calls.slice(1).join(', ')} → ${r2.passRate})`);
  t.ok(r2.trials.length <= 5, 'trial budget respected');
  const none = await searchMaxPass({ sentPps: 5000, deliveredPps: 500, loss: 0.9 } as UdpTrial, async () => ({ deliveredPps: 0, loss: 1 }) as UdpTrial, opts);
  t.same([none.pass, none.passRate], [null, null], 'gives up below 1 kpps');

  const ref = await udpTest(model(200_000, 100_000, []), { seconds: 1, lossLimit: 0.01, isReference: true, referencePps: null, search: true, searchTrials: 3, searchSeconds: 1 });
  t.equal(ref.referencePps, 100_000, 'kernel: its passing rate becomes the reference');
  t.equal(ref.atReference, ref.unthrottled);
  const seen: number[] = [];
  const statuses: string[] = [];
  const vx = await udpTest(model(95_000, 300_000, seen), { seconds: 1, lossLimit: 0.01, isReference: false, referencePps: 100_000, search: false, searchTrials: 3, searchSeconds: 1, status: (s) => statuses.push(s) });
  t.same(seen, [0, 100_000], 'unthrottled, then at the kernel\'s load');
  t.equal(vx.atReference?.deliveredPps, 95_000);
  t.equal(vx.maxPassPps, null, 'no search in quick mode');
  t.same(statuses, ['unthrottled', 'at 100.0 kpps']);
  const vs = await udpTest(model(95_000, 300_000, []), { seconds: 1, lossLimit: 0.01, isReference: false, referencePps: 80_000, search: true, searchTrials: 3, searchSeconds: 1 });
  t.ok((vs.maxPassPps ?? 0) >= 80_000, 'own maximum at least the passing reference trial');
});

t.test('Progress: finished lines without a TTY, skipped steps, rethrown failures', async (t) => {
  t.equal(stepLine(3, 24, 'vxtun txoff tcp4 rep 1', '4.10 Gbit/s'), '[3/24] vxtun txoff tcp4 rep 1 … 4.10 Gbit/s');
  let out = '';
  const p = new Progress(3, { write: (s: string) => { out += s; }, isTTY: false });
  t.equal(await p.step('a', async (status) => { status('ignored without a TTY'); return 2; }, (v) => `${v} ok`), 2);
  p.skip('b', 'bed setup failed');
  await t.rejects(p.step('c', async () => { throw new Error('boom'); }, () => ''), /boom/);
  t.equal(p.done, 3);
  t.equal(out, '[1/3] a … 2 ok\n[2/3] b … skipped: bed setup failed\n[3/3] c … failed: boom\n');
  let tty = '';
  const q = new Progress(1, { write: (s: string) => { tty += s; }, isTTY: true });
  await q.step('d', async () => { await new Promise((r) => setTimeout(r, 300)); return 1; }, () => 'done');
  t.match(tty, /\r\x1b\[2K. \[1\/1\] d … 0 s/, 'spinner line while running');
  t.ok(tty.endsWith('\r\x1b[2K[1/1] d … done\n'), 'final line replaces the spinner');
});
