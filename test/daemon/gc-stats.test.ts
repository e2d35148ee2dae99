// SPDX-License-Identifier: Apache-2.0
import t from 'tap';
import { getHeapStatistics } from 'node:v8';
import { gcCounts, heapOldBytes, unwatchGc, watchGc } from '../../src/daemon/gc-stats.js';

/** Lets perf_hooks deliver pending 'gc' entries (they arrive asynchronously). */
const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 50));

/** Allocates ~`mb` MiB of short-lived objects, enough to fill the young generation many times. */
function churn(mb: number): number {
  let keep = 0;
  for (let i = 0; i < mb * 1024; i++) keep += new Array(128).fill(i).length;
  return keep;
}

t.test('counts scavenges while watched, and stops counting after unwatch', async (t) => {
  const before = gcCounts();
  watchGc();
  watchGc(); // idempotent: one observer
  churn(200);
  await settle();
  const during = gcCounts();
  t.ok(during.minor > before.minor, `scavenges counted (${before.minor} → ${during.minor})`);
  unwatchGc();
  churn(200);
  await settle();
  t.same(gcCounts(), during, 'no counting after unwatchGc');
  unwatchGc(); // idempotent
});

t.test('heapOld counts what survives scavenges, and is part of the heap', async (t) => {
  const before = heapOldBytes();
  t.ok(before > 0 && before <= getHeapStatistics().used_heap_size, 'within the used heap');
  const kept: number[][] = [];
  for (let i = 0; i < 20 * 1024; i++) kept.push(new Array(128).fill(i)); // ~20 MiB kept alive
  churn(100); // scavenges move the survivors into the old generation
  await settle();
  const after = heapOldBytes();
  t.ok(after - before > 10 << 20, `retained arrays reached the old generation (+${((after - before) / 1048576).toFixed(1)} MiB)`);
  t.equal(kept.length, 20 * 1024);
});
