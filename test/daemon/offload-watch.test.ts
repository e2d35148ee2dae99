// SPDX-License-Identifier: Apache-2.0
/** OffloadWatch: one log line per self-made change of the data path, once, never on the hot path. */
import t from 'tap';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { OffloadWatch } from '../../src/daemon/offload-watch.js';
import type { Logger } from '../../src/daemon/log.js';
import type { OffloadStats } from '../../src/dataplane/offload.js';

function capture(): { log: Logger; lines: () => Array<Record<string, unknown>> } {
  const out: string[] = [];
  const stream = new Writable({ write(chunk, _enc, cb) { out.push(String(chunk)); cb(); } });
  const log = pino({ level: 'info' }, stream) as unknown as Logger;
  return { log, lines: () => out.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) };
}

t.test('each change is logged once, at its level, when its counter first becomes non-zero', async (t) => {
  const tun: OffloadStats = { udpGroDisabled: 0, oversizeTcp: 0 };
  const bind: OffloadStats = { 'gso.disabled': 0 };
  const source = { counters: { checksumsFinished: 0 }, offloadStats: () => ({ tun, bind }) };
  const { log, lines } = capture();
  const watch = new OffloadWatch(source, log);
  watch.check();
  t.equal(lines().length, 0, 'nothing to say while every counter is 0');
  source.counters.checksumsFinished = 3;
  tun.udpGroDisabled = 1;
  watch.check();
  watch.check();
  t.same(lines().map((l) => [l.level, l.event, l.count]), [[40, 'udpGroDisabled', 1], [30, 'checksumsFinished', 3]], 'warn for the refused offload, info for the finished checksums, each once');
  bind['gso.disabled'] = 1;
  tun.oversizeTcp = 7;
  source.counters.checksumsFinished = 9;
  watch.check();
  t.same(lines().slice(2).map((l) => l.event), ['gsoDisabled', 'oversizeTcp'], 'the rest, in their turn');
  t.match(String(lines()[2]!.msg), /udp-gso off/);
});

t.test('seams without offload stats are fine; the timer neither holds the process nor outlives stop()', async (t) => {
  const source = { counters: { checksumsFinished: 0 }, offloadStats: () => ({}) };
  const { log, lines } = capture();
  const watch = new OffloadWatch(source, log);
  watch.start(5);
  source.counters.checksumsFinished = 1;
  await new Promise((r) => setTimeout(r, 50));
  t.equal(lines().length, 1, 'the timer looked');
  watch.stop();
  watch.stop();
  t.equal(lines()[0]!.event, 'checksumsFinished');
});
