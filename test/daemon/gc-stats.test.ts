// SPDX-License-Identifier: Apache-2.0
import t from 'tap';
import { gcCounts, unwatchGc, watchGc } from '../../src/daemon/gc-stats.js';

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
