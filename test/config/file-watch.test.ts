// SPDX-License-Identifier: Apache-2.0
import t, { type Test } from 'tap';
import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { watchFile, type WatchFileOptions } from '../../src/config/file-watch.js';

/** Collects onChange values; next() waits for the next one (tap's timeout is the backstop). */
function collector() {
  const seen: (string | null)[] = [];
  const waiters: ((v: string | null) => void)[] = [];
  let read = 0;
  return {
    seen,
    onChange: (v: string | null): void => {
      seen.push(v);
      waiters.shift()?.(v);
    },
    next(): Promise<string | null> {
      if (read < seen.length) return Promise.resolve(seen[read++]!);
      return new Promise((resolve) => waiters.push((v) => { read++; resolve(v); }));
    },
  };
}

/**
 * Waits until `want` is reported. An in-place write truncates before writing, so a reader
 * may legitimately see '' first; anything else in between is a failure.
 */
async function expectChange(t: Test, c: ReturnType<typeof collector>, want: string | null, what: string): Promise<void> {
  for (;;) {
    const v = await c.next();
    if (v === want) return void t.pass(what);
    if (v !== '') return void t.equal(v, want, what);
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

for (const mode of ['fs.watch + polling', 'polling only'] as const) {
  t.test(`watchFile (${mode})`, async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'vxtun-watch-'));
    t.teardown(() => rm(dir, { recursive: true, force: true }));
    const file = join(dir, 'leases.json');
    await writeFile(file, 'a');
    const c = collector();
    const errors: Error[] = [];
    const opts: WatchFileOptions = { intervalMs: 40, initial: 'a', fsWatch: mode === 'fs.watch + polling', onError: (e) => errors.push(e) };
    const stop = watchFile(file, c.onChange, opts);
    t.teardown(stop);
    await stop.ready;

    await writeFile(file, 'b');
    await expectChange(t, c, 'b', 'in-place write');

    await writeFile(file, 'b'); // same content: no report
    await writeFile(file, 'c');
    await expectChange(t, c, 'c', 'rewriting the same content is not a change; the next write is');

    await writeFile(join(dir, '.tmp'), 'd');
    await rename(join(dir, '.tmp'), file);
    await expectChange(t, c, 'd', 'atomic rename-replace');

    await rm(file);
    await expectChange(t, c, null, 'deletion reports null');

    await writeFile(join(dir, '.tmp2'), 'e');
    await rename(join(dir, '.tmp2'), file);
    await expectChange(t, c, 'e', 're-creation reports the new text');

    t.equal(c.seen.filter((v) => v === 'b').length, 1, '"b" was reported once');
    t.same(errors, [], 'no errors');

    stop();
    const count = c.seen.length;
    await writeFile(file, 'f');
    await sleep(200); // 5 poll periods: a live watcher would have reported
    t.equal(c.seen.length, count, 'nothing is reported after stop()');
  });
}

t.test('a ConfigMap-style ..data symlink swap is seen', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'vxtun-watch-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await mkdir(join(dir, '..v1'));
  await writeFile(join(dir, '..v1', 'net-conf.json'), 'one');
  await symlink('..v1', join(dir, '..data'));
  await symlink('..data/net-conf.json', join(dir, 'net-conf.json'));
  const c = collector();
  const stop = watchFile(join(dir, 'net-conf.json'), c.onChange, { initial: 'one', intervalMs: 1000 });
  t.teardown(stop);
  await stop.ready;
  await mkdir(join(dir, '..v2'));
  await writeFile(join(dir, '..v2', 'net-conf.json'), 'two');
  await symlink('..v2', join(dir, '..data_tmp'));
  await rename(join(dir, '..data_tmp'), join(dir, '..data')); // kubelet's atomic writer
  await expectChange(t, c, 'two', 'the new content behind the swapped symlink');
});

t.test('initial differing from the file is reported at once', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'vxtun-watch-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'net-conf.json');
  await writeFile(file, 'new');
  const c = collector();
  const stop = watchFile(file, c.onChange, { initial: 'old' });
  t.teardown(stop);
  t.equal(await c.next(), 'new');

  const gone = collector();
  const stop2 = watchFile(join(dir, 'absent'), gone.onChange, { initial: 'was here' });
  t.teardown(stop2);
  t.equal(await gone.next(), null, 'a file missing at start, with initial text, reports null');
});

t.test('without initial, the first read is the baseline and is not reported', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'vxtun-watch-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'f');
  await writeFile(file, 'x');
  const c = collector();
  const stop = watchFile(file, c.onChange, { intervalMs: 30 });
  t.teardown(stop);
  await stop.ready;
  t.same(c.seen, []);
  await writeFile(file, 'y');
  await expectChange(t, c, 'y', 'the first change after the baseline');
});

t.test('errors go to onError, never to the caller; a directory that appears later is watched', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'vxtun-watch-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const errs: Error[] = [];
  const dirAsFile = join(dir, 'isdir');
  await mkdir(dirAsFile);
  const stop = watchFile(dirAsFile, () => t.fail('no change expected'), { intervalMs: 30, onError: (e) => errs.push(e) });
  t.teardown(stop);
  await stop.ready;
  t.match(errs[0], { code: 'EISDIR' }, 'reading a directory is reported');

  const later = join(dir, 'sub', 'file');
  const c = collector();
  const stop2 = watchFile(later, (v) => {
    c.onChange(v);
    throw new Error('callback failure');
  }, { intervalMs: 30, onError: (e) => errs.push(e) });
  t.teardown(stop2);
  await stop2.ready;
  await mkdir(join(dir, 'sub'));
  await writeFile(later, 'hello');
  await expectChange(t, c, 'hello', 'file in a directory created after the watch started');
  await sleep(10);
  t.ok(errs.some((e) => e.message === 'callback failure'), 'an exception from onChange goes to onError');
});
