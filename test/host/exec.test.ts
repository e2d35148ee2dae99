// SPDX-License-Identifier: Apache-2.0
import t from 'tap';
import { ExecError, formatArgv, RealExec, RecordingExec, runChecked } from '../../src/host/exec.js';

t.test('RealExec runs argv without a shell and reports exit codes', async (t) => {
  const exec = new RealExec();
  t.same(await exec.run(['true']), { stdout: '', stderr: '', code: 0 });
  t.same(await exec.run(['sh', '-c', 'echo out; echo err >&2; exit 3']), { stdout: 'out\n', stderr: 'err\n', code: 3 });
  t.equal((await exec.run(['printf', '%s', 'a b; echo $HOME'])).stdout, 'a b; echo $HOME', 'arguments are passed verbatim');
  await t.rejects(exec.run(['/nonexistent/vxtun-no-such-program']), /could not be started/);
  await t.rejects(exec.run([]), /empty argv/);
});

t.test('RealExec prefix and timeout', async (t) => {
  const prefixed = new RealExec(['env', 'VXTUN_TEST=1']);
  t.equal((await prefixed.run(['sh', '-c', 'echo $VXTUN_TEST'])).stdout, '1\n', 'prefix is prepended');
  const quick = new RealExec([], 100);
  const r = await quick.run(['sleep', '10']);
  t.equal(r.code, 128, 'a command killed by the timeout resolves with code 128');
  t.match(r.stderr, /killed by SIGTERM/);
});

t.test('RecordingExec records argv and answers from rules', async (t) => {
  const exec = new RecordingExec()
    .on('ip -j addr show', { stdout: '[]' })
    .on('ip route del', { code: 2, stderr: 'RTNETLINK answers: No such process' })
    .on('ip route del 10.0.0.0/8', (argv) => (argv.includes('dev') ? { code: 0 } : undefined));
  t.same(await exec.run(['ip', '-j', 'addr', 'show', 'dev', 'x']), { stdout: '[]', stderr: '', code: 0 }, 'prefix match');
  t.same(await exec.run(['ip', '-j', 'addr', 'showx']), { stdout: '', stderr: '', code: 0 }, 'prefix must end at a word');
  t.equal((await exec.run(['ip', 'route', 'del', '10.0.0.0/8', 'dev', 'x'])).code, 0, 'later rule wins');
  t.equal((await exec.run(['ip', 'route', 'del', '10.0.0.0/8'])).code, 2, 'a function returning undefined falls through');
  t.same(exec.commands(), [
    'ip -j addr show dev x', 'ip -j addr showx', 'ip route del 10.0.0.0/8 dev x', 'ip route del 10.0.0.0/8',
  ]);
  t.same(exec.calls[0], ['ip', '-j', 'addr', 'show', 'dev', 'x']);
});

t.test('runChecked returns stdout, ignores expected failures, throws ExecError otherwise', async (t) => {
  const exec = new RecordingExec()
    .on('ok', { stdout: 'fine' })
    .on('gone', { code: 2, stderr: 'Cannot find device "flannel.1"\n' })
    .on('bad', { code: 2, stderr: 'Error: Nexthop device is not up.\n' })
    .on('silent', { code: 1 });
  t.equal(await runChecked(exec, ['ok']), 'fine');
  t.equal(await runChecked(exec, ['gone', 'x'], /Cannot find device/), null);
  const err = await runChecked(exec, ['bad', 'route', 'replace', '10.244.0.0/16']).catch((e: unknown) => e);
  t.type(err, ExecError);
  t.equal((err as ExecError).message, '`bad route replace 10.244.0.0/16` failed (exit 2): Error: Nexthop device is not up.');
  t.same([(err as ExecError).code, (err as ExecError).argv], [2, ['bad', 'route', 'replace', '10.244.0.0/16']]);
  await t.rejects(runChecked(exec, ['gone'], /other/), /Cannot find device/, 'a non-matching ignore still throws');
  await t.rejects(runChecked(exec, ['silent']), { message: '`silent` failed (exit 1): (no error output)' });
});

t.test('formatArgv quotes only what needs it', async (t) => {
  t.equal(formatArgv(['ip', 'route', 'replace', '10.244.0.0/16', 'dev', 'flannel.1']), 'ip route replace 10.244.0.0/16 dev flannel.1');
  t.equal(formatArgv(['echo', 'a b', "it's", '']), `echo 'a b' 'it'\\''s' ''`);
});
